"""Fixtures shared by the whole suite."""

import pytest

from fastproxy.parser import implementations

_IMPLS = implementations()
_IDS = {"c": "c-parser", "python": "py-parser"}
_ORDER = [key for key in ("c", "python") if key in _IMPLS]


# Session scope: the modules are stateless, and hypothesis tests may use it.
@pytest.fixture(scope="session", params=_ORDER, ids=[_IDS[key] for key in _ORDER])
def parser_impl(request):
    """Each parser implementation in turn: the C extension (when built and
    allowed) and the pure-Python twin."""
    return _IMPLS[request.param]

"""Event counters of one proxy: plain integer attributes, bumped on the hot
path instead of logging there.  ``snapshot`` is for metrics and tests."""

from __future__ import annotations

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)

class Counters:
    __slots__ = (
        "client_aborts",
        "client_timeouts",
        "connections_accepted",
        "connections_active",
        "error_responses",
        "parse_errors",
        "requests",
        "responses",
        "splices",
        "tunnels",
        "upstream_aborts",
        "upstream_bad_responses",
        "upstream_connect_failures",
        "upstream_connects",
        "upstream_retries",
        "upstream_reuses",
        "upstream_timeouts",
    )

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def snapshot(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

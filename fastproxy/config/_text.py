"""How configuration messages quote values, name types and suggest keys.

Every message shows the offending value the way the operator wrote it in
TOML (strings quoted, ``true``/``false``), so it can be found in the file.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
from collections.abc import Iterable

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MAX_SHOWN = 60


def show(value: object) -> str:
    """``value`` as TOML would spell it, cut to about 60 characters."""
    text = _render(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def _render(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{key_name(str(k))} = {_render(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return repr(value)


def kind(value: object) -> str:
    """The TOML type name of ``value`` with its article ("an integer")."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.date, datetime.time)):
        return "a date/time"
    return f"a {type(value).__name__}"


def got(value: object) -> str:
    """``value`` for an "expected X, got ..." message.

    Tables and arrays are named by type too, since their rendering alone can
    be mistaken for something else.
    """
    if isinstance(value, (dict, list, tuple)):
        return f"{kind(value)} {show(value)}"
    return show(value)


def key_name(key: str) -> str:
    """A key as it appears in a key path: bare if TOML allows, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def join(path: str, key: str) -> str:
    """The key path of ``key`` inside the table at ``path``."""
    name = key_name(key)
    return f"{path}.{name}" if path else name


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word``, if one is close enough to suggest."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        folded = {c.lower(): c for c in choices}
        close = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=0.6)
        close = [folded[c] for c in close]
    return close[0] if close else None


def quoted_list(names: Iterable[str]) -> str:
    return ", ".join(json.dumps(n, ensure_ascii=False) for n in names)

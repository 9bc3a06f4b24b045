"""fastproxy's configuration: a TOML file, checked once, as frozen objects.

:func:`load_config` reads a file, :func:`parse_config` checks an already
parsed document, :meth:`Config.from_cli` builds the config that command-line
options describe.  All three raise :class:`fastproxy.errors.ConfigError`
listing every problem as (key path, message), e.g.
``("upstream.api.servers[1]", "port 99999 is out of range (1-65535)")``.

Files:
    ``schema.py``    the frozen dataclasses and their defaults
    ``validate.py``  one builder per section, collecting problems
    ``reader.py``    typed getters over one table, unknown-key detection
    ``units.py``     durations ("1m30s") and sizes ("16KiB")
    ``addresses.py`` "host:port", host names, CIDR blocks
    ``tls.py``       the TLS tables of listeners and upstreams
    ``routing.py``   one [[route]]: conditions, action, header edits, HSTS
"""

from __future__ import annotations

import os
import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib  # type: ignore[no-redef]

from fastproxy.config.schema import (
    Certificate,
    Config,
    Headers,
    Limits,
    Listener,
    ListenerTLS,
    LogConfig,
    Pool,
    Route,
    Server,
    ServerConfig,
    Timeouts,
    Upstream,
    UpstreamTLS,
)
from fastproxy.config.validate import parse_config
from fastproxy.errors import ConfigError

__all__ = [
    "Certificate",
    "Config",
    "ConfigError",
    "Headers",
    "Limits",
    "Listener",
    "ListenerTLS",
    "LogConfig",
    "Pool",
    "Route",
    "Server",
    "ServerConfig",
    "Timeouts",
    "Upstream",
    "UpstreamTLS",
    "load_config",
    "parse_config",
    "parse_toml",
]

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = re.compile(r"\s*\(at end of document\)$")


def load_config(path: str | os.PathLike[str]) -> Config:
    """The Config in the TOML file at ``path``.

    Raises OSError if the file cannot be read, and ConfigError for anything
    wrong inside it (a syntax error is one problem naming line and column).
    """
    with open(path, "rb") as file:
        raw = file.read()
    return parse_config(parse_toml(raw), source=os.fspath(path))


def parse_toml(raw: bytes) -> dict:
    """The document in ``raw``; ConfigError (with line and column) if it is not TOML."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([("", f"the file is not UTF-8 (bad byte at offset {exc.start})")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("", _syntax_message(exc, text))]) from None


def _syntax_message(exc: Exception, text: str) -> str:
    # Python 3.14 gives the position as attributes; earlier versions only in the text.
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    message = getattr(exc, "msg", None) or str(exc)
    found = _POSITION.search(message)
    if found:
        line, column = int(found.group(1)), int(found.group(2))
        message = message[: found.start()]
    elif _AT_END.search(message):
        message = _AT_END.sub("", message)
        line = text.count("\n") + 1
        column = len(text) - text.rfind("\n")
    message = message[:1].lower() + message[1:]
    if line is None:
        return f"invalid TOML: {message}"
    return f"invalid TOML at line {line}, column {column}: {message}"

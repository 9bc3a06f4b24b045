"""Durations and sizes as operators write them.

Durations: "250ms", "5s", "1m", "1h", "1m30s", "1.5s", or a plain TOML
number of seconds.  Units go from largest to smallest, each at most once, so
a slip such as "30s1m" is caught rather than silently added up.

Sizes: "512" (bytes), "10KB" (powers of 1000: KB, MB, GB, TB), "16KiB"
(powers of 1024: KiB, MiB, GiB, TiB), or a plain TOML integer of bytes.
Unit names are case-insensitive; "16K" is refused as ambiguous, since nginx
reads it as 1024 and many people read it as 1000.

Both parsers raise :class:`UnitError` (a ValueError) whose message names the
value and shows the accepted forms; the caller adds the key path.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from fastproxy.config._text import show

__all__ = ["UnitError", "format_duration", "format_size", "parse_duration", "parse_size"]

DURATION_HINT = '(use e.g. "250ms", "10s", "1m")'
SIZE_HINT = '(use e.g. "512", "16KiB", "100MiB", "10KB")'

# Largest first: the order a duration's parts must follow.
_DURATION_UNITS = {"h": 3600, "m": 60, "s": 1, "ms": Decimal("0.001")}
# "ms" before "m", or "5ms" would read as five minutes and a stray "s".
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|h|m|s)\s*")
_NUMBER = re.compile(r"\s*(\d+(?:\.\d+)?)\s*")

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")
_AMBIGUOUS = {"k": "K", "m": "M", "g": "G", "t": "T"}


class UnitError(ValueError):
    pass


def parse_duration(value: object) -> float:
    """Seconds in ``value`` (a duration string or a number of seconds), >= 0.

    Raises UnitError for anything else, including booleans and negatives.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UnitError(f"{show(value)} is not a duration {DURATION_HINT}")
    if not isinstance(value, str):
        if not math.isfinite(value):
            raise UnitError(f"{show(value)} is not a duration {DURATION_HINT}")
        if value < 0:
            raise UnitError(f"{show(value)} is negative")
        return float(value)
    if value.strip().startswith("-"):
        raise UnitError(f"{show(value)} is negative")
    number = _NUMBER.fullmatch(value)
    if number:
        if Decimal(number.group(1)) == 0:
            return 0.0
        raise UnitError(f'{show(value)} has no unit (use e.g. "{number.group(1)}s" or "{number.group(1)}ms")')
    total = Decimal(0)
    pos = 0
    last_rank = -1
    ranks = list(_DURATION_UNITS)
    while pos < len(value):
        part = _DURATION_PART.match(value, pos)
        if part is None:
            raise UnitError(f"{show(value)} is not a duration {DURATION_HINT}")
        rank = ranks.index(part.group(2))
        if rank <= last_rank:
            raise UnitError(
                f"{show(value)} is not a duration: units must go from largest to smallest, "
                'each at most once (e.g. "1m30s")'
            )
        last_rank = rank
        total += Decimal(part.group(1)) * _DURATION_UNITS[part.group(2)]
        pos = part.end()
    if pos == 0:
        raise UnitError(f"{show(value)} is not a duration {DURATION_HINT}")
    return float(total)


def parse_size(value: object) -> int:
    """Bytes in ``value`` (a size string or a whole number of bytes), >= 0.

    Raises UnitError for anything else: booleans, floats, negatives, unknown
    or ambiguous units, or a fraction that is not a whole number of bytes.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        if isinstance(value, float):
            raise UnitError(f"{show(value)} is not a whole number of bytes {SIZE_HINT}")
        raise UnitError(f"{show(value)} is not a size {SIZE_HINT}")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(f"{show(value)} is negative")
        return value
    if value.strip().startswith("-"):
        raise UnitError(f"{show(value)} is negative")
    match = _SIZE.fullmatch(value)
    if match is None:
        raise UnitError(f"{show(value)} is not a size {SIZE_HINT}")
    digits, unit = match.groups()
    folded = unit.lower()
    if folded in _AMBIGUOUS:
        letter = _AMBIGUOUS[folded]
        raise UnitError(
            f'{show(value)} is ambiguous: write "{digits}{letter}iB" (units of {_SIZE_UNITS[folded + "ib"]}) '
            f'or "{digits}{letter}B" (units of {_SIZE_UNITS[folded + "b"]})'
        )
    if folded not in _SIZE_UNITS:
        raise UnitError(f'{show(value)} has an unknown unit "{unit}" {SIZE_HINT}')
    try:
        exact = Decimal(digits) * _SIZE_UNITS[folded]
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        raise UnitError(f"{show(value)} is not a size {SIZE_HINT}") from None
    if exact != exact.to_integral_value():
        raise UnitError(f"{show(value)} is not a whole number of bytes")
    return int(exact)


def format_duration(seconds: float) -> str:
    """The shortest spelling that :func:`parse_duration` reads back exactly."""
    if seconds == 0:
        return "0s"
    millis = Decimal(repr(seconds)) * 1000
    if millis != millis.to_integral_value():
        return f"{seconds!r}s"
    millis = int(millis)
    parts = []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_size(size: int) -> str:
    """``size`` bytes in the largest binary unit that divides it."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        scale = _SIZE_UNITS[unit.lower()]
        if size and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)

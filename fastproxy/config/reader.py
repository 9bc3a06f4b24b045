"""Reads one TOML table, collecting problems instead of stopping at the first.

A :class:`Section` hands out typed values: a getter returns the default when
the key is absent, the checked value when it is good, and None (after
recording a problem with the key path and the value) when it is bad.  The
builders in :mod:`fastproxy.config.validate` therefore see every problem in
one pass, and build nothing from a config with problems.  Every key a getter
asks for is known; :meth:`Section.finish` reports the rest as unknown keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from fastproxy.config import _text
from fastproxy.config.units import UnitError, format_size, parse_duration, parse_size

T = TypeVar("T")

MISSING = object()


class Problems:
    """The (key path, message) pairs found so far, in the order found."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)


class Section:
    """One table at key path ``path``; see the module docstring."""

    def __init__(self, data: dict, path: str, problems: Problems) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self._known: list[str] = []

    def at(self, key: str) -> str:
        return _text.join(self.path, key)

    def problem(self, key: str, message: str) -> None:
        self.problems.add(self.at(key), message)

    def raw(self, key: str) -> object:
        """The value of ``key`` unchecked, or MISSING; marks the key known."""
        self._known.append(key)
        return self.data.get(key, MISSING)

    def table(self, key: str) -> Section:
        """The sub-table ``key`` (empty when absent or not a table)."""
        value = self.raw(key)
        if value is MISSING:
            value = {}
        elif not isinstance(value, dict):
            self.problem(key, f"expected a table ([{self.at(key)}]), got {_text.got(value)}")
            value = {}
        return Section(value, self.at(key), self.problems)

    def boolean(self, key: str, default: bool) -> bool | None:
        value = self.raw(key)
        if value is MISSING:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, got {_text.got(value)}")
            return None
        return value

    def string(self, key: str, default: str | None) -> str | None:
        value = self.raw(key)
        if value is MISSING:
            return default
        if not isinstance(value, str):
            self.problem(key, f"expected a string, got {_text.got(value)}")
            return None
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int | None:
        value = self.raw(key)
        if value is MISSING:
            return default
        return self.check_integer(key, value, low, high)

    def check_integer(self, key: str, value: object, low: int, high: int) -> int | None:
        # bool is an int subclass: `workers = true` must not mean 1.
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"expected an integer, got {_text.got(value)}")
            return None
        if not low <= value <= high:
            self.problem(key, f"{value} is out of range ({low}..{high})")
            return None
        return value

    def number(self, key: str, default: float, low: float, high: float, expected: str) -> float | None:
        """A finite int or float from ``low`` to ``high``; ``expected`` says
        what is wanted in the problem ("a percentage from 0 to 100")."""
        value = self.raw(key)
        if value is MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and low <= value <= high):
            self.problem(key, f"expected {expected}, got {_text.got(value)}")
            return None
        return float(value)

    def duration(self, key: str, default: float, *, allow_zero: bool = False) -> float | None:
        value = self.raw(key)
        if value is MISSING:
            return default
        try:
            seconds = parse_duration(value)
        except UnitError as exc:
            self.problem(key, str(exc))
            return None
        if seconds == 0 and not allow_zero:
            self.problem(key, f"{_text.show(value)} must be longer than zero")
            return None
        return seconds

    def size(
        self, key: str, default: int, low: int, high: int, *, zero_unlimited: bool = False
    ) -> int | None:
        value = self.raw(key)
        if value is MISSING:
            return default
        try:
            size = parse_size(value)
        except UnitError as exc:
            self.problem(key, str(exc))
            return None
        if size == 0 and zero_unlimited:
            return 0
        if not low <= size <= high:
            self.problem(
                key, f"{_text.show(value)} is out of range ({format_size(low)}..{format_size(high)})"
            )
            return None
        return size

    def array(self, key: str, default: list, what: str) -> list | None:
        """An array (of ``what``, for messages); None with a problem if not one."""
        value = self.raw(key)
        if value is MISSING:
            return default
        if not isinstance(value, list):
            self.problem(key, f"expected an array of {what}, got {_text.got(value)}")
            return None
        return value

    def each(self, key: str, value: list, check: Callable[[str, object], T | None]) -> tuple[T, ...] | None:
        """``check(path, item)`` for each item; None if any item had a problem."""
        before = len(self.problems)
        results = [check(f"{self.at(key)}[{i}]", item) for i, item in enumerate(value)]
        if len(self.problems) != before:
            return None
        return tuple(results)  # type: ignore[arg-type]

    def finish(self) -> None:
        """Reports every key that no getter asked for, with a hint."""
        for key in self.data:
            if key in self._known:
                continue
            hint = _text.did_you_mean(str(key), self._known)
            if hint is not None:
                self.problem(str(key), f'unknown key (did you mean "{hint}"?)')
            elif self._known:
                self.problem(str(key), f"unknown key (known keys here: {', '.join(self._known)})")
            else:
                self.problem(str(key), "unknown key")

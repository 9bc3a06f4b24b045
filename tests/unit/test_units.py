"""Durations and sizes: fastproxy.config.units."""

from __future__ import annotations

import pytest

from fastproxy.config.units import UnitError, format_duration, format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("5s", 5.0),
        ("1m", 60.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("1h2m3s4ms", 3723.004),
        ("1.5s", 1.5),
        ("0.5ms", 0.0005),
        (" 1m 30s ", 90.0),
        ("0", 0.0),
        ("0s", 0.0),
        (5, 5.0),
        (2.5, 2.5),
        (0, 0.0),
    ],
)
def test_duration_accepts(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds, abs=1e-12)
    assert isinstance(parse_duration(text), float)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("10q", '"10q" is not a duration (use e.g. "250ms", "10s", "1m")'),
        ("", '"" is not a duration'),
        ("s", '"s" is not a duration'),
        ("1.s", '"1.s" is not a duration'),
        ("5S", '"5S" is not a duration'),
        ("1d", '"1d" is not a duration'),
        ("5", '"5" has no unit (use e.g. "5s" or "5ms")'),
        ("30s1m", "units must go from largest to smallest"),
        ("1s1s", "each at most once"),
        ("-5s", '"-5s" is negative'),
        (-1, "-1 is negative"),
        (True, "true is not a duration"),
        (float("inf"), "inf is not a duration"),
        (float("nan"), "nan is not a duration"),
        ([1], "[1] is not a duration"),
        (None, "None is not a duration"),
    ],
)
def test_duration_rejects(value, fragment):
    with pytest.raises(UnitError) as info:
        parse_duration(value)
    assert fragment in str(info.value)


def test_ms_is_not_read_as_minutes():
    assert parse_duration("5ms") == pytest.approx(0.005)
    assert parse_duration("5m") == 300.0


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512", 512),
        ("0", 0),
        ("16KiB", 16 * 1024),
        ("100MiB", 100 * 1024**2),
        ("1GiB", 1024**3),
        ("2TiB", 2 * 1024**4),
        ("10KB", 10_000),
        ("3MB", 3_000_000),
        ("1GB", 10**9),
        ("7B", 7),
        ("16kib", 16 * 1024),
        ("10 kb", 10_000),
        ("1.5KiB", 1536),
        (4096, 4096),
        (0, 0),
    ],
)
def test_size_accepts(text, size):
    assert parse_size(text) == size
    assert type(parse_size(text)) is int


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("16K", '"16K" is ambiguous: write "16KiB" (units of 1024) or "16KB" (units of 1000)'),
        ("1m", '"1m" is ambiguous: write "1MiB"'),
        ("1g", "is ambiguous"),
        ("10furlongs", '"10furlongs" has an unknown unit "furlongs"'),
        ("KiB", '"KiB" is not a size (use e.g. "512", "16KiB", "100MiB", "10KB")'),
        ("", '"" is not a size'),
        ("1.3KiB", '"1.3KiB" is not a whole number of bytes'),
        ("0.5", '"0.5" is not a whole number of bytes'),
        ("-1KiB", '"-1KiB" is negative'),
        (-5, "-5 is negative"),
        (1.5, "1.5 is not a whole number of bytes"),
        (False, "false is not a size"),
        ({"a": 1}, "{ a = 1 } is not a size"),
    ],
)
def test_size_rejects(value, fragment):
    with pytest.raises(UnitError) as info:
        parse_size(value)
    assert fragment in str(info.value)


def test_unit_error_is_a_value_error():
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.25, "250ms"), (90, "1m30s"), (3600, "1h"), (3723.004, "1h2m3s4ms"), (0.0005, "0.0005s")],
)
def test_format_duration_round_trips(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0"), (512, "512"), (1024, "1KiB"), (1536, "1536"), (2**30, "1GiB")]
)
def test_format_size_round_trips(size, text):
    assert format_size(size) == text
    assert parse_size(text) == size

"""Runs the data-file vectors (requests.toml, responses.toml, chunked.toml)
against every parser implementation.

Each vector is fed whole, one byte per call, and split in two at every
offset; the outcome (results and head length, or the error code) must be
the one the vector states every time, so it cannot depend on how the input
arrived.
"""

from __future__ import annotations

import pathlib

import pytest

from fastproxy.errors import HttpParseError
from fastproxy.parser import codes

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HERE = pathlib.Path(__file__).parent
FEEDS = ["whole", "bytewise", "split"]
REQ_FLAGS = {"head": codes.REQ_HEAD, "connect": codes.REQ_CONNECT}
FLAG_NAMES = {
    getattr(codes, name): name[2:].lower() for name in dir(codes) if name.startswith("F_")
}


def _load(filename: str) -> list[dict]:
    with open(HERE / filename, "rb") as f:
        cases = tomllib.load(f)["case"]
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), f"duplicate case names in {filename}"
    return cases


def _params(filename: str):
    return [pytest.param(c, id=c["name"]) for c in _load(filename)]


def _raw(text: str) -> bytes:
    return text.encode("latin-1")


# -- message heads ------------------------------------------------------------

def _head_parser(impl, case: dict, response: bool):
    limits = case.get("limits", {})
    if response:
        parser = impl.ResponseParser(**limits)
        req_flags = 0
        for flag in case.get("req_flags", []):
            req_flags |= REQ_FLAGS[flag]
        return parser, lambda buf: parser.parse(buf, -1, req_flags)
    parser = impl.RequestParser(**limits)
    return parser, parser.parse


def _feed_head(parse, chunks) -> tuple:
    """Feeds successive buffers until a result; returns ("ok", head_len,
    bytes_fed) or ("error", name) or ("more",)."""
    for buf in chunks:
        try:
            n = parse(buf)
        except HttpParseError as exc:
            return ("error", exc.name)
        if n:
            return ("ok", n, len(buf))
    return ("more",)


def _head_feeds(data: bytes, feed: str):
    """Yields, for one feeding mode, the successive buffers of each run."""
    if feed == "whole":
        yield [data]
    elif feed == "bytewise":
        # one growing bytearray: the caller appends to its own buffer
        def grow():
            buf = bytearray()
            for byte in data:
                buf.append(byte)
                yield buf
        yield grow()
    else:
        for k in range(1, len(data)):
            yield [data[:k], data]


def _check_head(parser, case: dict, outcome: tuple, where: str, bytewise: bool) -> None:
    if "error" in case:
        assert outcome == ("error", case["error"]), where
        assert parser.error == codes.BY_NAME[case["error"]].code, where
        return
    if case.get("need_more"):
        assert outcome == ("more",), where
        return
    assert outcome[0] == "ok", f"{where}: {outcome}"
    _, n, fed = outcome
    assert n == case["head_length"], where
    if bytewise:  # complete exactly when its last byte arrives
        assert fed == n, where
    for key in ("method", "target", "reason"):
        if key in case:
            assert getattr(parser, key) == _raw(case[key]), where
    for key in ("minor_version", "status", "content_length", "keep_alive", "upgrade",
                "expect_continue", "tunnel"):
        if key in case:
            assert getattr(parser, key) == case[key], f"{where}: {key}"
    if "headers" in case:
        assert parser.headers == [(_raw(n), _raw(v)) for n, v in case["headers"]], where
    if "framing" in case:
        assert codes.FRAMING_NAMES[parser.framing] == case["framing"], where
    if "flags" in case:
        names = {name for bit, name in FLAG_NAMES.items() if parser.flags & bit}
        assert names == set(case["flags"]), where


def _run_head_vector(impl, case: dict, feed: str, response: bool) -> None:
    data = _raw(case["input"])
    for run, chunks in enumerate(_head_feeds(data, feed)):
        parser, parse = _head_parser(impl, case, response)
        outcome = _feed_head(parse, chunks)
        _check_head(parser, case, outcome, f"{feed} run {run}", feed == "bytewise")


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("case", _params("requests.toml"))
def test_request_vector(parser_impl, case, feed):
    _run_head_vector(parser_impl, case, feed, response=False)


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("case", _params("responses.toml"))
def test_response_vector(parser_impl, case, feed):
    _run_head_vector(parser_impl, case, feed, response=True)


# -- chunked bodies -----------------------------------------------------------

def _decoder(impl, case: dict):
    limits = case.get("limits", {})
    return impl.ChunkedDecoder(
        max_trailer_bytes=limits.get("max_header_bytes", 16384),
        max_trailer_count=limits.get("max_header_count", 100),
    )


def _windows(size: int, feed: str):
    """Yields, for one feeding mode, the (start, end) windows of each run."""
    if feed == "whole":
        yield [(0, size)]
    elif feed == "bytewise":
        yield [(i, i + 1) for i in range(size)]
    else:
        for k in range(1, size):
            yield [(0, k), (k, size)]


def _feed_chunked(decoder, api: str, data: bytes, windows) -> tuple:
    """Returns ("ok", decoded data or None, consumed) or ("error", name)."""
    out = []
    consumed = 0
    try:
        for start, end in windows:
            if api == "scan":
                n = decoder.scan(data, start, end)
            else:
                chunk, n = decoder.decode(data, start, end)
                out.append(chunk)
            consumed += n
            if decoder.done:
                break
            assert n == end - start, "bytes not consumed before the end of the body"
    except HttpParseError as exc:
        return ("error", exc.name)
    return ("ok", b"".join(out) if api == "decode" else None, consumed)


@pytest.mark.parametrize("api", ["scan", "decode"])
@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("case", _params("chunked.toml"))
def test_chunked_vector(parser_impl, case, feed, api):
    data = _raw(case["input"])
    for run, windows in enumerate(_windows(len(data), feed)):
        where = f"{feed} run {run}"
        decoder = _decoder(parser_impl, case)
        outcome = _feed_chunked(decoder, api, data, windows)
        if "error" in case:
            assert outcome == ("error", case["error"]), where
            assert decoder.error == codes.BY_NAME[case["error"]].code, where
            continue
        assert outcome[0] == "ok", f"{where}: {outcome}"
        _, got, consumed = outcome
        assert consumed == case["consumed"], where
        assert decoder.done == case["done"], where
        assert decoder.data_bytes == len(_raw(case["data"])), where
        if api == "decode":
            assert got == _raw(case["data"]), where


def test_every_error_code_has_a_vector():
    named = {c["error"] for f in ("requests.toml", "responses.toml", "chunked.toml")
             for c in _load(f) if "error" in c}
    assert named <= set(codes.BY_NAME)
    assert named == {e.name for e in codes.ERRORS if e.code != codes.E_NONE}

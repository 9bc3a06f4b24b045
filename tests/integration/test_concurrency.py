"""Many concurrent client connections: every response goes to its own request."""

from __future__ import annotations

import asyncio
import hashlib
import json

from tests.integration.origin import expected_sha256

CONNECTIONS = 500
ROUNDS = 3


async def _one_client(address, i: int, results: list) -> None:
    reader, writer = await asyncio.open_connection(*address)
    try:
        for r in range(ROUNDS):
            body = b"%d-%d|" % (i, r) * (1 + (i * 7 + r) % 50)
            writer.write(b"POST /echo?c=%d&r=%d HTTP/1.1\r\nHost: h%d\r\nContent-Length: %d\r\n\r\n%s"
                         % (i, r, i, len(body), body))
            if r == 1:
                # A download in the middle, so streams of different sizes interleave.
                n = 1000 + i * 37
                writer.write(b"GET /bytes/%d HTTP/1.1\r\nHost: h\r\n\r\n" % n)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            echo = json.loads(await reader.readexactly(length))
            assert echo["target"] == f"/echo?c={i}&r={r}", (i, r, echo["target"])
            assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
            assert [v for k, v in echo["headers"] if k == "Host"] == [f"h{i}"]
            if r == 1:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                assert length == n
                data = await reader.readexactly(length)
                assert hashlib.sha256(data).hexdigest() == expected_sha256(n)
        results.append(i)
    finally:
        writer.close()
        await writer.wait_closed()


async def _run_clients(address) -> list:
    results: list = []
    await asyncio.wait_for(asyncio.gather(*(_one_client(address, i, results) for i in range(CONNECTIONS))), 60)
    return results


def test_many_concurrent_connections_without_cross_talk(proxy, origin):
    results = asyncio.run(_run_clients(proxy.address))
    assert sorted(results) == list(range(CONNECTIONS))
    counters = proxy.counters()
    assert counters["responses"] == CONNECTIONS * (ROUNDS + 1)
    assert counters["error_responses"] == 0
    assert len(origin.requests) == CONNECTIONS * (ROUNDS + 1)

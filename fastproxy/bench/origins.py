"""The benchmark's origin process: several fast origins on one event loop.

``python -m fastproxy.bench.origins --count 4`` starts ``fastproxy.origin``
servers on 127.0.0.1 with kernel-chosen ports, prints one line
``{"ports": [...]}`` once all of them accept, and serves until SIGTERM or
SIGINT.  One process for all of them keeps the origin on the one core the
runner gives it (the consistent-hash scenario needs four addresses, not
four cores).  It answers a 12-byte ``/`` at well over 100,000 requests/s on
one core, several times what one proxy worker forwards, so it is never the
bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from fastproxy.origin import start_origin

__all__ = ["main"]


async def _serve(count: int) -> None:
    origins = [await start_origin("127.0.0.1", 0, name=f"o{i}") for i in range(count)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"ports": [o.address[1] for o in origins]}), flush=True)
    await stop.wait()
    for origin in origins:
        await origin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastproxy.bench.origins")
    parser.add_argument("--count", type=int, default=1, help="how many origins (default 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 64:
        print("--count must be 1..64", file=sys.stderr)
        return 2
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(args.count))
    else:
        uvloop.run(_serve(args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

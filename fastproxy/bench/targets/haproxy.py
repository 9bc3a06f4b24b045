"""HAProxy as a benchmark target: one process, one thread, in the foreground."""

from __future__ import annotations

import subprocess

from fastproxy.bench.targets import (
    IDLE_POOL,
    MAX_CONNECTIONS,
    UPSTREAM_MAX_REQUESTS,
    Setup,
    Target,
    need_tls,
)

__all__ = ["HaproxyTarget", "haproxy_cfg"]


def haproxy_cfg(setup: Setup) -> str:
    """The haproxy.cfg for ``setup``; no `log` line, so nothing is logged."""
    scenario = setup.scenario
    if scenario.route == "chash":
        # `whole` hashes the query string too, like nginx's $request_uri.
        balance = "    balance uri whole\n    hash-type consistent\n"
    else:
        balance = "    balance roundrobin\n"
    bind = f"    bind 127.0.0.1:{setup.port}"
    if scenario.route == "tls":
        bind += f" ssl crt {need_tls(setup).combined} alpn http/1.1"
    servers = "".join(
        f"    server o{i} {host}:{port} pool-max-conn {IDLE_POOL} max-reuse {UPSTREAM_MAX_REQUESTS}\n"
        for i, (host, port) in enumerate(setup.origins)
    )
    return (
        "global\n"
        "    nbthread 1\n"
        f"    maxconn {MAX_CONNECTIONS}\n"
        "defaults\n"
        "    mode http\n"
        "    option http-keep-alive\n"
        "    option forwardfor\n"
        # nginx's and fastproxy's pools share idle upstream connections across clients.
        "    http-reuse always\n"
        "    timeout connect 3s\n"
        "    timeout client 60s\n"
        "    timeout server 60s\n"
        "    timeout http-request 10s\n"
        "    timeout http-keep-alive 60s\n"
        "frontend bench\n"
        f"{bind} backlog 4096\n"
        f"    maxconn {MAX_CONNECTIONS}\n"
        "    default_backend origin\n"
        "backend origin\n"
        f"{balance}{servers}"
    )


class HaproxyTarget(Target):
    name = "haproxy"
    binary = "haproxy"
    install_hint = "apt-get install -y haproxy"

    def version(self) -> str:
        words = super().version().split()  # "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://..."
        return f"HAProxy {words[2]}" if len(words) > 2 and words[1] == "version" else " ".join(words)

    def prepare(self, setup: Setup) -> list[str]:
        cfg = setup.workdir / "haproxy.cfg"
        cfg.write_text(haproxy_cfg(setup), encoding="ascii")
        # -db: stay in the foreground, one process, no master.
        return [self.executable() or self.binary, "-db", "-f", str(cfg)]

    def check(self, setup: Setup) -> str | None:
        cfg_argv = self.prepare(setup)
        argv = [cfg_argv[0], "-c", "-q", "-f", cfg_argv[-1]]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        return None if out.returncode == 0 else (out.stderr or out.stdout).strip()

"""fastproxy as a benchmark target: ``fastproxy run -c FILE`` with a generated TOML file.

Settings other than the shared ones stay at fastproxy's defaults
(X-Forwarded-For and Forwarded, hop-by-hop removal, request IDs, timeouts
and metrics on, no access log), as the performance goals require.

The scenarios that need features fastproxy may not have yet (a TLS
listener, the consistent-hash balancer) are checked against fastproxy's own
config validation before anything runs: a refusal is reported as
"unsupported" with fastproxy's message, and the row fills in on its own the
day the configuration accepts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fastproxy
from fastproxy.bench.targets import IDLE_POOL, UPSTREAM_MAX_REQUESTS, Setup, Target, Unsupported, need_tls

__all__ = ["FastproxyTarget", "fastproxy_toml", "importable_environment"]


def _toml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


def fastproxy_toml(setup: Setup) -> str:
    """The fastproxy config file for ``setup``."""
    scenario = setup.scenario
    lines = [
        "[server]",
        "workers = 1",
        "",
        "[[listener]]",
        f'bind = "127.0.0.1:{setup.port}"',
    ]
    if scenario.route == "tls":
        tls = need_tls(setup)
        # the listener TLS schema of the TLS issue: [[listener.tls.certificates]] cert/key
        cert, key = _toml_str(str(tls.cert)), _toml_str(str(tls.key))
        lines += [f"tls = {{ certificates = [{{ cert = {cert}, key = {key} }}] }}"]
    servers = ", ".join(f'"{host}:{port}"' for host, port in setup.origins)
    lines += [
        "",
        "[[route]]",
        'upstream = "origin"',
        "",
        "[upstream.origin]",
        f"servers = [{servers}]",
        f'balance = "{"consistent_hash" if scenario.route == "chash" else "round_robin"}"',
        *(['hash_key = "uri"', 'hash = "ring"'] if scenario.route == "chash" else []),
        "",
        "[upstream.origin.pool]",
        f"max_idle = {IDLE_POOL}",
        f"max_requests = {UPSTREAM_MAX_REQUESTS}",
        "",
    ]
    return "\n".join(lines)


def importable_environment() -> dict[str, str]:
    """A child's environment: this fastproxy importable even from a source checkout."""
    env = dict(os.environ)
    root = str(Path(fastproxy.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class FastproxyTarget(Target):
    name = "fastproxy"
    binary = sys.executable

    def unavailable(self) -> str | None:
        try:
            import fastproxy.server  # noqa: F401
        except ImportError as exc:
            return f"fastproxy's server does not import here ({exc})"
        return None

    def version(self) -> str:
        return f"fastproxy {fastproxy.__version__}" + _implementation()

    def prepare(self, setup: Setup) -> list[str]:
        from fastproxy.config import ConfigError, load_config

        path = setup.workdir / "fastproxy.toml"
        path.write_text(fastproxy_toml(setup), encoding="utf-8")
        try:
            load_config(path)
        except ConfigError as exc:
            why = "; ".join(f"{key}: {message}" if key else message for key, message in exc.problems)
            raise Unsupported(f"fastproxy's configuration refuses this scenario: {why}") from None
        return [sys.executable, "-m", "fastproxy", "run", "-c", str(path)]

    def environment(self) -> dict[str, str]:
        return importable_environment()

    def check(self, setup: Setup) -> str | None:
        argv = [sys.executable, "-m", "fastproxy", "check", "-c", self.prepare(setup)[-1]]
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, env=self.environment(), check=False
        )
        return None if out.returncode == 0 else (out.stderr or out.stdout).strip()


def _implementation() -> str:
    """ " (c)" or " (python)": which parser the proxy will use, as `fastproxy version` says."""
    try:
        from fastproxy.cli import version_info

        impls = set(version_info()["extensions"].values())
    except (ImportError, KeyError, AttributeError):  # the report must not fail on this
        return ""
    return f" ({'/'.join(sorted(impls))})" if impls else ""

"""A throwaway certificate for the TLS scenario, made with the openssl command.

ECDSA P-256, for 127.0.0.1 and localhost, valid for two days; the same
files serve every proxy (HAProxy wants certificate and key in one file).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fastproxy.bench.targets import TlsFiles

__all__ = ["make_tls"]


def make_tls(directory: Path) -> tuple[TlsFiles | None, str]:
    """The certificate files in ``directory``, or None and why not."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None, "the openssl command is not installed (apt-get install -y openssl)"
    cert, key, combined = directory / "cert.pem", directory / "key.pem", directory / "combined.pem"
    argv = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]  # fmt: skip
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"openssl failed: {exc}"
    if out.returncode != 0:
        return None, f"openssl failed: {out.stderr.strip()[-300:]}"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    return TlsFiles(cert=cert, key=key, combined=combined), ""

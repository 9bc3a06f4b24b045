"""Certificates for the TLS tests, made at test time with trustme.

``Pki(directory)`` is a certificate authority that writes what it issues
into ``directory``: ``issue("site", "a.example.com", ...)`` returns a
:class:`fastproxy.config.Certificate` (chain file and key file, named after
its first argument), ``ca_file`` is the authority's certificate, and
``client_context()`` an ssl client context that trusts it.  Tests that need
a second, unrelated authority make a second Pki.
"""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import trustme

from fastproxy.config import Certificate


class Pki:
    def __init__(self, directory: Path, name: str = "ca") -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA()
        self.ca_file = str(self.dir / f"{name}.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

    def issue(self, stem: str, *names: str, expired: bool = False, common_name: str | None = None) -> Certificate:
        """A certificate for ``names`` written as STEM.pem and STEM.key."""
        kwargs = {}
        if expired:
            now = datetime.datetime.now(datetime.timezone.utc)
            kwargs = {"not_before": now - datetime.timedelta(days=30), "not_after": now - datetime.timedelta(days=1)}
        leaf = self.ca.issue_cert(*names, common_name=common_name, **kwargs)
        cert, key = self.dir / f"{stem}.pem", self.dir / f"{stem}.key"
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(key))
        return Certificate(cert=str(cert), key=str(key))

    def client_context(self, *, minimum: ssl.TLSVersion | None = None, maximum: ssl.TLSVersion | None = None,
                       cert: Certificate | None = None) -> ssl.SSLContext:
        """A client context trusting this authority (hostnames checked)."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if minimum is not None:
            context.minimum_version = minimum
        if maximum is not None:
            context.maximum_version = maximum
        if cert is not None:
            context.load_cert_chain(cert.cert, cert.key)
        return context


def serial(tls_socket: ssl.SSLSocket) -> int:
    """The serial number of the certificate the server showed ``tls_socket``."""
    from cryptography import x509  # trustme's own dependency

    return x509.load_der_x509_certificate(tls_socket.getpeercert(binary_form=True)).serial_number


def names(tls_socket: ssl.SSLSocket) -> list[str]:
    """The DNS names of the certificate the server showed."""
    return [value for kind, value in tls_socket.getpeercert().get("subjectAltName", ()) if kind == "DNS"]

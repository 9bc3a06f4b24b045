"""TLS contexts: for listeners (server side) and toward upstreams (client side).

Listeners
---------
A TLS listener's server is created with one *front* context, which it keeps
for its whole life.  Each certificate has a context of its own, and the
front's SNI callback points every handshake at the one whose certificate
names the requested host: an exact name first, then a wildcard
("*.example.com" covers "a.example.com", not "a.b.example.com" nor
"example.com"), else the default (the first certificate), which also serves
clients that send no SNI.  The names come from each certificate's own
subjectAltName (DNS entries), read with the stdlib's certificate decoder, so
the operator never lists them twice.

Because handshakes are redirected, a certificate is replaced by replacing
its context in :class:`ServerTLS`; the front never changes.  That is how
certificates reload: :meth:`ServerTLS.refresh` re-reads the files whose
stat signature changed (a worker calls it every few seconds, and a config
reload does too).  A file that does not load leaves the certificate in
service as it was, with an error logged, until the files change again.

Session resumption works through the front: OpenSSL takes ticket keys and
the session cache from the context a connection started with.  Contexts are
built in the supervisor before workers fork, so every worker encrypts
tickets with the same keys and a client resumes whichever worker it reaches.

The settings every server context shares: TLS 1.2 or later (or 1.3), ECDHE
with AEAD suites only for TLS 1.2 (TLS 1.3's suites are all modern), no
compression, no renegotiation, ALPN http/1.1, and, with ``client_ca``, a
required client certificate (mTLS; see :func:`peer_subject`).

Upstreams
---------
:func:`upstream_context` builds the client context of an upstream with
https:// servers: verification on unless the config turns it off,
hostname checks against ``server_name`` or the server's host (also sent
as SNI; see :func:`upstream_server_name`), and an optional client
certificate.  Its files are read at start and at every reload.
"""

from __future__ import annotations

import logging
import os
import ssl

from fastproxy.config.schema import Certificate, Config, ListenerTLS, Server, Upstream
from fastproxy.errors import ConfigError

__all__ = [
    "ALPN",
    "CIPHERS_TLS12",
    "ServerTLS",
    "certificate_names",
    "listener_tls",
    "peer_subject",
    "upstream_context",
    "upstream_server_name",
]

log = logging.getLogger("fastproxy.tls")

MIN_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
# Forward secrecy and AEAD only, ECDSA first (smaller and faster handshakes).
CIPHERS_TLS12 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
ALPN = ["http/1.1"]
_OPTIONS = ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | getattr(ssl, "OP_NO_RENEGOTIATION", 0)


# -- files ---------------------------------------------------------------------


def _signature(*paths: str | None) -> tuple:
    """What tells a changed file: inode, size and mtime of each (None if missing)."""
    out = []
    for path in paths:
        if path is None:
            continue
        try:
            st = os.stat(path)
        except OSError:
            out.append(None)
        else:
            out.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def certificate_names(cert_path: str) -> tuple[str, ...]:
    """The DNS names in the subjectAltName of the first certificate in
    ``cert_path``, lower-cased; ssl.SSLError or OSError if it cannot be read."""
    # The stdlib's own decoder (what getpeercert() returns), exposed for
    # its tests: one call, no extra dependency for a few names.
    decoded = ssl._ssl._test_decode_cert(cert_path)
    return tuple(value.lower().rstrip(".") for kind, value in decoded.get("subjectAltName", ())
                 if kind == "DNS")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, ssl.SSLError):
        return exc.strerror
    return str(getattr(exc, "reason", None) or exc)


class DirectSSLObject(ssl.SSLObject):
    """An ssl.SSLObject whose ``read`` and ``write`` are the C methods of the
    TLS connection itself.  The event loop's TLS transport calls them a few
    times per request, and ssl.SSLObject's own versions are Python functions
    that only pass their arguments on: a Python frame each.  Both event loops
    always pass ``read`` its size, so losing the Python default is harmless."""

    @classmethod
    def _create(cls, *args, **kwargs):
        self = super()._create(*args, **kwargs)
        self.read = self._sslobj.read
        self.write = self._sslobj.write
        return self


# -- listeners -------------------------------------------------------------------


def _server_context(spec: ListenerTLS) -> ssl.SSLContext:
    """A server context with the settings every context of the listener shares;
    ssl.SSLError / OSError if ``client_ca`` does not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.sslobject_class = DirectSSLObject
    context.minimum_version = MIN_VERSIONS[spec.min_version]
    context.options |= _OPTIONS
    context.set_ciphers(CIPHERS_TLS12)
    context.set_alpn_protocols(ALPN)
    if spec.client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=spec.client_ca)
    return context


class _Loaded:
    """One certificate in service: its context, names and file signature."""

    __slots__ = ("context", "names", "signature", "spec")

    def __init__(self, spec: Certificate, context: ssl.SSLContext, names: tuple[str, ...],
                 signature: tuple) -> None:
        self.spec = spec
        self.context = context
        self.names = names
        self.signature = signature


def _load(tls: ListenerTLS, cert: Certificate) -> _Loaded:
    """``cert`` loaded with the settings of ``tls``; ssl.SSLError or OSError."""
    signature = _signature(cert.cert, cert.key, tls.client_ca)
    context = _server_context(tls)
    context.load_cert_chain(cert.cert, cert.key)
    return _Loaded(cert, context, certificate_names(cert.cert), signature)


class ServerTLS:
    """The TLS side of one listener; ``context`` is what its server uses.

    ``kept``: certificates in service under the config being replaced, by
    their Certificate (same files, same listener settings).  Raises
    ConfigError (each problem with its key path under ``where``, e.g.
    "listener[0].tls") if a certificate cannot be loaded and none is kept
    for it; a kept one stays in service, with an error logged.
    """

    def __init__(self, spec: ListenerTLS, where: str, kept: dict | None = None) -> None:
        self.spec = spec
        self.where = where
        kept = kept or {}
        problems = []
        self.loaded: list[_Loaded] = []
        # The signature last tried per certificate: a file that failed is
        # retried (and its error logged) once per change, not every check.
        self.tried: list[tuple] = []
        for index, cert in enumerate(spec.certificates):
            try:
                item = _load(spec, cert)
            except (ssl.SSLError, OSError) as exc:
                message = f"cannot load {cert.cert} with {cert.key}: {_reason(exc)}"
                item = kept.get(cert)
                if item is None:
                    problems.append((f"{where}.certificates[{index}]", message))
                    continue
                log.error("%s.certificates[%d]: %s; the certificate in service stays", where, index, message)
            self.loaded.append(item)
            self.tried.append(_signature(cert.cert, cert.key, spec.client_ca))
        if problems:
            raise ConfigError(problems)
        # No certificate of its own: the SNI callback, which OpenSSL calls
        # for every handshake (server_name None without SNI), always picks one.
        self.context = _server_context(spec)
        self.context.sni_callback = self._on_sni
        self._index()
        for item in self.loaded[1:]:
            if not item.names:
                log.warning("%s: %s names no host (no DNS subjectAltName), so SNI never selects it",
                            where, item.spec.cert)

    def _index(self) -> None:
        exact: dict[str, ssl.SSLContext] = {}
        wildcard: dict[str, ssl.SSLContext] = {}
        for item in self.loaded:
            for name in item.names:
                if name.startswith("*."):
                    wildcard.setdefault(name[2:], item.context)
                else:
                    exact.setdefault(name, item.context)
        self.exact = exact
        self.wildcard = wildcard
        self.default = self.loaded[0].context

    def choose(self, server_name: str | None) -> ssl.SSLContext:
        """The context for a handshake that asked for ``server_name`` (None: no SNI)."""
        if not server_name:
            return self.default
        name = server_name.lower().rstrip(".")
        context = self.exact.get(name)
        if context is None:
            context = self.wildcard.get(name.partition(".")[2], self.default)
        return context

    def _on_sni(self, sslobj, server_name, front) -> None:
        sslobj.context = self.choose(server_name)

    def refresh(self) -> int:
        """Re-reads the certificates whose files changed; the number replaced.

        A certificate that fails to load stays in service as it was, with
        an error logged once per change of its files.
        """
        replaced = 0
        for index, item in enumerate(self.loaded):
            cert = item.spec
            signature = _signature(cert.cert, cert.key, self.spec.client_ca)
            if signature == self.tried[index]:
                continue
            self.tried[index] = signature
            try:
                fresh = _load(self.spec, cert)
            except (ssl.SSLError, OSError) as exc:
                log.error("%s.certificates[%d]: cannot reload %s with %s: %s; the certificate in "
                          "service stays", self.where, index, cert.cert, cert.key, _reason(exc))
                continue
            self.loaded[index] = fresh
            replaced += 1
            log.info("%s.certificates[%d]: reloaded %s (%s)", self.where, index, cert.cert,
                     ", ".join(fresh.names) or "no names")
        if replaced:
            self._index()
        return replaced


def listener_tls(config: Config, previous: list | None = None) -> list[ServerTLS | None]:
    """A ServerTLS for each TLS listener of ``config`` (None for plain ones).

    ``previous``: what this returned for the config being replaced.  A
    listener whose TLS settings did not change keeps its ServerTLS (and so
    its session ticket keys), refreshed; a certificate whose files fail to
    load keeps its previous version.  Raises ConfigError with every problem.
    """
    same: dict[ListenerTLS, ServerTLS] = {}
    for old in previous or ():
        if old is not None:
            same.setdefault(old.spec, old)
    out: list[ServerTLS | None] = []
    problems = []
    for index, listener in enumerate(config.listeners):
        spec = listener.tls
        if spec is None:
            out.append(None)
        elif spec in same:
            same[spec].refresh()
            out.append(same[spec])
        else:
            try:
                out.append(ServerTLS(spec, f"listener[{index}].tls", _kept(spec, previous)))
            except ConfigError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return out


def _kept(spec: ListenerTLS, previous: list | None) -> dict:
    # Only a context built with the same listener settings may be lent.
    kept = {}
    for old in previous or ():
        if old is not None and (old.spec.min_version, old.spec.client_ca) == (spec.min_version, spec.client_ca):
            for item in old.loaded:
                kept.setdefault(item.spec, item)
    return kept


_SHORT = {
    "commonName": "CN",
    "countryName": "C",
    "domainComponent": "DC",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "stateOrProvinceName": "ST",
    "streetAddress": "STREET",
    "userId": "UID",
}


def peer_subject(transport) -> str | None:
    """The verified client certificate's subject (RFC 4514 order, e.g.
    "CN=alice,O=Example"), or None without one."""
    cert = transport.get_extra_info("peercert")
    if not cert:
        return None
    parts = []
    for rdn in reversed(cert.get("subject", ())):
        parts.append("+".join(f"{_SHORT.get(key, key)}={_escape(value)}" for key, value in rdn))
    return ",".join(parts)


def _escape(value: str) -> str:
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


# -- upstreams -------------------------------------------------------------------


def upstream_context(upstream: Upstream) -> ssl.SSLContext | None:
    """The client context for the https:// servers of ``upstream`` (None when
    it has none); ConfigError naming the key of a file that does not load."""
    spec = upstream.tls
    if spec is None:
        return None
    where = f"upstream.{upstream.name}.tls"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.sslobject_class = DirectSSLObject
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN)
    if spec.verify:
        try:
            if spec.ca_file is not None:
                context.load_verify_locations(cafile=spec.ca_file)
            else:
                context.load_default_certs()
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError([(f"{where}.ca_file", f"cannot load {spec.ca_file}: {_reason(exc)}")]) from None
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if spec.cert is not None:
        try:
            context.load_cert_chain(spec.cert, spec.key)
        except (ssl.SSLError, OSError) as exc:
            message = f"cannot load {spec.cert} with {spec.key}: {_reason(exc)}"
            raise ConfigError([(f"{where}.cert", message)]) from None
    return context


def upstream_server_name(upstream: Upstream, server: Server) -> str | None:
    """The name sent as SNI to ``server`` and checked in its certificate
    (None for a plain http server)."""
    if server.scheme != "https" or upstream.tls is None:
        return None
    return upstream.tls.server_name or server.host


# -- client certificates (mTLS listeners) ---------------------------------------

# RFC 4514 3: the short names of the attribute types a subject usually holds;
# others appear under the name the ssl module gives (or as a dotted OID).
_RDN_NAMES = {
    "commonName": "CN",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
    "emailAddress": "1.2.840.113549.1.9.1",
}


def _rdn_value(value: str) -> str:
    """An attribute value escaped as RFC 4514 2.4 asks, in ASCII only: every
    other character as UTF-8 hex pairs, so that the result is a safe header value."""
    out = []
    last = len(value) - 1
    for index, char in enumerate(value):
        if char in '"+,;<>\\' or (index == 0 and char in "# ") or (index == last and char == " "):
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append("".join(f"\\{byte:02X}" for byte in char.encode("utf-8")))
    return "".join(out)


def subject_string(subject) -> str:
    """The RFC 4514 string of a subject as ssl.SSLSocket.getpeercert() gives it
    (RDNs in certificate order; the string lists the last one first)."""
    rdns = []
    for rdn in reversed(subject):
        rdns.append("+".join(f"{_RDN_NAMES.get(name, name)}={_rdn_value(value)}" for name, value in rdn))
    return ",".join(rdns)


def client_identity(transport) -> tuple[str | None, str | None]:
    """(RFC 4514 subject, common name) of the client certificate that the
    handshake on ``transport`` verified, or (None, None); once per connection."""
    cert = transport.get_extra_info("peercert")
    if not cert or not cert.get("subject"):
        return None, None
    subject = cert["subject"]
    cn = None
    for rdn in subject:
        for name, value in rdn:
            if name == "commonName":
                cn = value  # the most specific one, when there are several
    return subject_string(subject), cn

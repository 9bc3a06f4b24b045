"""Checks the TLS tables: ``[listener.tls]`` and ``[upstream.NAME.tls]``,
and the scheme of an upstream server ("https://host:port").

Only the shape is checked here.  File names are made absolute (relative
ones against the directory of the config file) but not opened: the files
are read when the proxy builds its TLS contexts (fastproxy.tls), at start
and at every reload, so that ``fastproxy check`` also works on a machine
that does not hold the keys.
"""

from __future__ import annotations

import ipaddress
import os

from fastproxy.config import _text
from fastproxy.config.addresses import check_hostname
from fastproxy.config.reader import MISSING, Section
from fastproxy.config.routing import check_field_name
from fastproxy.config.schema import (
    DEFAULT_CLIENT_SUBJECT_HEADER,
    TLS_VERSIONS,
    Certificate,
    ListenerTLS,
    UpstreamTLS,
)

__all__ = ["read_listener_tls", "read_upstream_tls", "split_scheme"]

SCHEMES = {"http": 80, "https": 443}


def split_scheme(text: str) -> tuple[str, str]:
    """("http" or "https", "host:port") from a server address.

    No scheme means http.  With a scheme the port may be left out (80, 443).
    Raises ValueError for any other scheme, or a path after the address.
    """
    scheme, sep, rest = text.partition("://")
    if not sep:
        return "http", text
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f'{_text.show(text)}: the scheme must be "http" or "https"')
    if "/" in rest or "?" in rest or "#" in rest:
        raise ValueError(f"{_text.show(text)}: a server is an address, without a path")
    bracket_end = rest.rfind("]")
    if ":" not in rest[bracket_end + 1:]:
        rest = f"{rest}:{SCHEMES[scheme]}"
    return scheme, rest


def _present(sec: Section, key: str) -> bool:
    """True when ``key`` is in the table; marks it known either way."""
    return sec.raw(key) is not MISSING


def _path(sec: Section, key: str, base: str, required: bool) -> str | None:
    value = sec.string(key, None)
    if value is None:
        if required and sec.data.get(key, MISSING) is MISSING:
            sec.problem(key, "is required (a file name)")
        return None
    if not value:
        sec.problem(key, "is empty (a file name)")
        return None
    return os.path.normpath(os.path.join(base, os.path.expanduser(value)))


def read_listener_tls(listener: Section, base: str) -> ListenerTLS | None:
    """The ``tls`` table of the listener table ``listener``: None when absent
    (or with problems, which are recorded)."""
    if not _present(listener, "tls"):
        return None
    sec = listener.table("tls")
    before = len(sec.problems)
    min_version = sec.string("min_version", "1.2")
    if min_version is not None and min_version not in TLS_VERSIONS:
        if min_version in ("1.0", "1.1"):
            sec.problem("min_version", f"TLS {min_version} is obsolete (RFC 8996) and never offered; "
                        f"use {_text.quoted_list(TLS_VERSIONS)}")
        else:
            sec.problem("min_version", f"{_text.show(min_version)} is not a TLS version "
                        f"(use {_text.quoted_list(TLS_VERSIONS)})")
    client_ca = _path(sec, "client_ca", base, required=False)
    subject_header = _subject_header(sec)
    certificates = _certificates(sec, base)
    sec.finish()
    if len(sec.problems) != before or certificates is None:
        return None
    if client_ca is None:
        subject_header = None
    elif subject_header is None:
        subject_header = DEFAULT_CLIENT_SUBJECT_HEADER
    return ListenerTLS(certificates=certificates, min_version=min_version, client_ca=client_ca,
                       client_subject_header=subject_header)


def _subject_header(sec: Section) -> str | None:
    name = sec.string("client_subject_header", None)
    if name is None:
        return None
    problem = check_field_name(name)
    if problem:
        sec.problem("client_subject_header", problem)
    elif sec.data.get("client_ca", MISSING) is MISSING:
        sec.problem("client_subject_header", "needs client_ca (only a verified certificate has a subject to forward)")
    return name


def _certificates(sec: Section, base: str) -> tuple[Certificate, ...] | None:
    example = '(e.g. [[listener.tls.certificates]] cert = "site.pem" and key = "site.key")'
    items = sec.array("certificates", [], "tables")
    if items is None:
        return None
    if not items:
        sec.problem("certificates", f"at least one certificate is required {example}")
        return None
    certificates = []
    for index, item in enumerate(items):
        path = f"{sec.at('certificates')}[{index}]"
        if not isinstance(item, dict):
            sec.problems.add(path, f"expected a table with cert and key, got {_text.got(item)}")
            continue
        entry = Section(item, path, sec.problems)
        cert = _path(entry, "cert", base, required=True)
        key = _path(entry, "key", base, required=True)
        entry.finish()
        if cert is not None and key is not None:
            certificates.append(Certificate(cert=cert, key=key))
    return tuple(certificates) if len(certificates) == len(items) else None


def read_upstream_tls(upstream: Section, base: str, has_https: bool | None) -> UpstreamTLS | None:
    """The TLS settings of the upstream table ``upstream``.

    ``has_https``: whether a server is https:// (None when the servers had
    problems).  The defaults apply to https servers without a ``tls`` table;
    a ``tls`` table without an https server is a problem, not ignored.
    """
    if not _present(upstream, "tls"):
        return UpstreamTLS() if has_https else None
    sec = upstream.table("tls")
    before = len(sec.problems)
    verify = sec.boolean("verify", True)
    ca_file = _path(sec, "ca_file", base, required=False)
    server_name = _server_name(sec)
    cert = _path(sec, "cert", base, required=False)
    key = _path(sec, "key", base, required=False)
    if (sec.data.get("cert", MISSING) is MISSING) != (sec.data.get("key", MISSING) is MISSING):
        missing = "key" if sec.data.get("key", MISSING) is MISSING else "cert"
        sec.problem(missing, "is required with " + ("cert" if missing == "key" else "key")
                    + " (a client certificate needs both files)")
    if verify is False and sec.data.get("ca_file", MISSING) is not MISSING:
        sec.problem("ca_file", "is unused with verify = false (remove one of them)")
    sec.finish()
    if has_https is False:
        upstream.problem("tls", 'applies to https:// servers only (write servers as "https://host:port")')
    if len(sec.problems) != before:
        return None
    return UpstreamTLS(ca_file=ca_file, verify=verify, server_name=server_name, cert=cert, key=key)


def _server_name(sec: Section) -> str | None:
    name = sec.string("server_name", None)
    if name is None:
        return None
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return name  # checked against the certificate's IP addresses; no SNI is sent
    try:
        return check_hostname(name)
    except ValueError as exc:
        sec.problem("server_name", str(exc))
        return None

"""``fastproxy explain``: how the proxy would handle one request, and why.

The request is built as bytes and goes through the same code as in the data
path: the request parser, the compiled router (routes in order: why each
earlier one did not match, then the one that did), the request rewriter
(the head the upstream would see), or the route's own answer (a redirect or
a direct response, as it would be sent).  Then every balancing policy is
built over the route's upstream (its own policy first; the hash policies
with its hash_key, else "uri") and asked for a pick, with fresh state: the
stateful policies (round robin, least_conn, p2c, random) show the first
pick of a new worker, the hash policies the pick of every worker.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TextIO

from fastproxy import balancers
from fastproxy.actions import compile_route
from fastproxy.balance import Group
from fastproxy.clientip import TrustedProxies
from fastproxy.config.balancing import read_balancing
from fastproxy.config.reader import Problems, Section
from fastproxy.config.schema import BALANCERS, DEFAULT_CLIENT_SUBJECT_HEADER, HASH_METHODS
from fastproxy.errors import HttpParseError
from fastproxy.heads import ParsedHead
from fastproxy.outgoing import Outgoing
from fastproxy.parser import codes
from fastproxy.rewrite import Peer, RequestRewriter, ResponseRewriter
from fastproxy.route import Conditions, Route, host_key, split_absolute

__all__ = ["ExplainError", "build_request", "explain"]

_URL = re.compile(r"(?:(https?)://([^/?#\s]*))?([^#\s]*)")
_CN = re.compile(r"(?:^|,)CN=((?:[^,\\]|\\.)*)")


class ExplainError(ValueError):
    """A request that cannot be explained (bad URL, header or request)."""


def build_request(request: str, headers: list[str]) -> tuple[bytes, bool]:
    """(request head bytes, https) for "METHOD URL" (or a URL alone: GET)
    and "Name: value" header lines.  The URL's host becomes Host unless a
    header sets one; a target without scheme and host is sent as is."""
    parts = request.split()
    if len(parts) == 1:
        parts.insert(0, "GET")
    if len(parts) != 2:
        raise ExplainError(f"{request!r}: expected 'METHOD URL', e.g. 'GET http://example.com/path?q'")
    method, url = parts
    found = _URL.fullmatch(url)
    if found is None or not (found.group(3) or found.group(2)):
        raise ExplainError(f"{url!r} is not a URL such as http://example.com/path?q or /path?q")
    scheme, authority, target = found.groups()
    target = target or "/"
    if not target.startswith("/") and target != "*":
        raise ExplainError(f"{url!r}: the path must start with '/'")
    lines = []
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise ExplainError(f"{header!r} is not a header line 'Name: value'")
        lines.append(f"{name}: {value.strip()}")
    if authority and not any(line.lower().startswith("host:") for line in lines):
        lines.insert(0, f"Host: {authority}")
    try:
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n"
        return head.encode("latin-1"), scheme == "https"
    except UnicodeEncodeError:
        raise ExplainError("the request must be Latin-1 text (percent-encode the rest)") from None


def explain(config, request: str, headers: list[str], client_ip: str = "127.0.0.1", tls: bool = False,
            client_subject: str | None = None, out: TextIO | None = None) -> bool:
    """Writes the explanation to ``out``; True when a route matched.
    Raises ExplainError for a request that cannot be built or parsed."""
    from fastproxy import parser

    raw, https = build_request(request, headers)
    tls = tls or https or client_subject is not None
    head = ParsedHead(parser.RequestParser(max_uri_bytes=config.server.limits.max_uri_bytes,
                                           max_header_bytes=config.server.limits.max_header_bytes,
                                           max_header_count=config.server.limits.max_header_count))
    buf = bytearray(raw)
    try:
        head_len = head.parse(buf, len(buf))
    except HttpParseError as exc:
        raise ExplainError(f"the proxy would answer {exc.status}: {exc.message}") from None
    if not head_len:
        raise ExplainError("the request head is incomplete")
    trusted = TrustedProxies(config.server.headers.trusted_proxies)
    try:
        peer = Peer(client_ip, bool(trusted) and trusted.trusts(_parse_ip(client_ip)), b"https" if tls else b"http")
    except ValueError as exc:
        raise ExplainError(str(exc)) from None
    if client_subject is not None:
        if not client_subject.isascii():
            raise ExplainError("write the client subject as RFC 4514 in ASCII (other characters as \\XX escapes)")
        cn = _CN.search(client_subject)
        fields = [lt.tls.client_subject_header for lt in config.listeners if lt.tls and lt.tls.client_subject_header]
        peer.set_client_cert(fields[0] if fields else DEFAULT_CLIENT_SUBJECT_HEADER, client_subject,
                             cn.group(1) if cn else None)
    writer = _Writer(out)
    method = head.method(buf)
    target = head.target(buf)
    i = head.find(codes.H_HOST)
    host = head.value(buf, i) if i >= 0 else None
    authority = None
    if target.startswith(b"/"):
        path = target
    elif target == b"*":
        path = b"/"
    else:
        authority, path = split_absolute(target)
    key = host_key(authority if authority is not None else host or b"")
    writer.line(f"request: {method.decode()} {target.decode('latin-1')} (Host {_show(host)}, "
                f"{'TLS' if tls else 'plain HTTP'}, client {client_ip}"
                + (f", client certificate {client_subject!r}" if client_subject else "") + ")")
    names = {u.name: u.name for u in config.upstreams}
    hidden = ResponseRewriter(tuple(config.server.headers.hide_response_headers)).hide_names
    routes = [compile_route(n, spec, names, hidden) for n, spec in enumerate(config.routes)]
    writer.line("")
    writer.line("routes (the first match wins):")
    matched = None
    for route, spec in zip(routes, config.routes):
        writer.line(f"  route[{route.index}] {_describe(spec)}")
        why = _why_not(route, spec, key, path, method, head, buf, peer)
        if why is not None:
            writer.line(f"    no: {why}")
            continue
        writer.line("    MATCH")
        matched = (route, spec)
        break
    writer.line("")
    if matched is None:
        writer.line("no route matches: the proxy answers 404 (no route for this host and path)")
        return False
    route, spec = matched
    if route.answer is not None:
        keep = method != b"CONNECT"
        _, data = route.answer.render(route, key or None, target, path, tls, keep, True, method == b"HEAD")
        writer.line("the route answers itself (nothing goes upstream):")
        writer.block(data)
        return True
    upstream = config.upstream(spec.upstream)
    choices = _picks(upstream, head, buf, target, peer, trusted)
    server = upstream.servers[choices[0][1]] if choices[0][1] >= 0 else upstream.servers[0]
    rewriter = RequestRewriter(trusted, request_id=config.server.headers.request_id)
    outgoing = Outgoing()
    sent = target if target == b"*" else route.target(path)
    rewriter.head(head, buf, head_len, method, sent, host, authority, bool(head.flags & codes.F_UPGRADE), server.address.encode(),
                  peer, outgoing, route.req_edits)
    writer.line(f"forwarded to upstream {upstream.name!r}, as (to {server.url}):")
    writer.block(outgoing.take())
    if route.resp_tls is not None or route.resp_plain is not None:
        edits = route.resp_tls if tls else route.resp_plain
        if edits is not None:
            drops = ", ".join(sorted(n.decode() for n in edits.drop or ()))
            writer.line("response fields " + (f"removed: {drops}; " if drops else "") + "added:")
            writer.block(edits.add + b"\r\n")
    writer.line("")
    writer.line(f"server each policy would pick (of {', '.join(s.address for s in upstream.servers)}):")
    width = max(len(label) for label, _ in choices)
    for label, index in choices:
        chosen = upstream.servers[index].address if index >= 0 else "none (all down: 503)"
        writer.line(f"  {label.ljust(width)}  {chosen}")
    return True


def _parse_ip(text: str):
    from fastproxy.clientip import parse_ip

    ip = parse_ip(text)
    if ip is None:
        raise ValueError(f"{text!r} is not an IP address")
    return ip


class _Writer:
    def __init__(self, out: TextIO | None) -> None:
        import sys

        self.out = out or sys.stdout

    def line(self, text: str) -> None:
        self.out.write(text + "\n")

    def block(self, data: bytes) -> None:
        head, _, body = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            self.line("    " + line.decode("latin-1"))
        if body:
            self.line("    ")
            for line in body.decode("latin-1").splitlines():
                self.line("    " + line)


def _show(value) -> str:
    if value is None:
        return "none"
    return repr(value.decode("latin-1")) if isinstance(value, bytes) else repr(value)


def _describe(spec) -> str:
    """A route's conditions and action in one line, as the config says them."""
    parts = []
    if spec.host:
        parts.append("host " + " | ".join(spec.host))
    if spec.scheme:
        parts.append(f"scheme {spec.scheme}")
    if spec.path_prefix:
        parts.append(f"path_prefix {spec.path_prefix}")
    if spec.path_regex:
        parts.append(f"path_regex {spec.path_regex}")
    if spec.methods:
        parts.append("methods " + " | ".join(spec.methods))
    for what, matches in (("header", spec.headers), ("query", spec.query)):
        for m in matches:
            shown = (f"~ {m.regex}" if m.regex is not None else f"= {m.value!r}" if m.value is not None
                     else "present" if m.present else "absent")
            parts.append(f"{what} {m.name} {shown}")
    if spec.client_subject:
        parts.append("client_subject " + " | ".join(spec.client_subject))
    if spec.client_cn:
        parts.append("client_cn " + " | ".join(spec.client_cn))
    if spec.upstream is not None:
        action = f"upstream {spec.upstream}"
    elif spec.redirect is not None:
        action = f"redirect {spec.redirect.status} to {spec.redirect.location}"
    else:
        action = f"respond {spec.respond.status}"
    return (", ".join(parts) or "any request") + " -> " + action


def _why_not(route: Route, spec, host: bytes, path: bytes, method: bytes, head, buf, peer) -> str | None:
    """Why ``route`` does not match (the first condition that fails), or None."""
    if not Route(0, spec.host, None, False, None).matches(host, path):
        return f"host {_show(host) if host else 'none'} is not {' | '.join(spec.host)}"
    if not Route(0, None, spec.path_prefix, False, None).matches(host, path):
        return f"path {_show(path)} is not under {spec.path_prefix}"
    more = route.more
    if more is None:
        return None
    if more.first_failure(method, path, head, buf, peer) is None:
        return None
    if more.tls >= 0 and peer.tls != more.tls:
        return f"the request came over {'TLS' if peer.tls else 'plain HTTP'}, not {spec.scheme}"
    if more.methods is not None and method not in more.methods:
        return f"method {method.decode()} is not {' | '.join(spec.methods)}"
    if more.regex is not None and Conditions(None, more.regex, (), (), None, None).first_failure(
            method, path, head, buf, peer):
        return f"path {_show(path)} does not match {spec.path_regex}"
    for test, m in zip(more.headers, spec.headers):
        if Conditions(None, None, (test,), (), None, None).first_failure(method, path, head, buf, peer):
            return f"header {m.name}: {_expected(m)}"
    for test, m in zip(more.query, spec.query):
        if Conditions(None, None, (), (test,), None, None).first_failure(method, path, head, buf, peer):
            return f"query argument {m.name}: {_expected(m)}"
    if more.subjects is not None and peer.subject not in more.subjects:
        return f"client certificate subject {_show(peer.subject)} is not {' | '.join(spec.client_subject)}"
    return f"client certificate common name {_show(peer.cn)} is not {' | '.join(spec.client_cn)}"


def _expected(m) -> str:
    if m.regex is not None:
        return f"none matches {m.regex}"
    if m.value is not None:
        return f"none is {m.value!r}"
    return "missing" if m.present else "present, and must be absent"


def _picks(upstream, head, buf, target: bytes, peer, trusted) -> list[tuple[str, int]]:
    """(label, server index) for the upstream's own policy, then every other one."""
    variants = [(_label(upstream), upstream)]
    key = upstream.hash_key if upstream.hash_key not in (None, "client_ip") else "uri"
    for balance in BALANCERS:
        if balance == "consistent_hash":
            for method in HASH_METHODS:
                variants.append((f"consistent_hash {method} (hash_key {key})",
                                 _variant(upstream, {"balance": balance, "hash": method, "hash_key": key})))
        else:
            variants.append((balance, _variant(upstream, {"balance": balance})))
    seen = {variants[0][0].split(" (the upstream's")[0]}
    picks = [(variants[0][0], _pick(variants[0][1], head, buf, target, peer, trusted))]
    for label, variant in variants[1:]:
        if label in seen:
            continue
        seen.add(label)
        picks.append((label, _pick(variant, head, buf, target, peer, trusted)))
    return picks


def _label(upstream) -> str:
    if upstream.balance == "consistent_hash":
        own = f"consistent_hash {upstream.hash} (hash_key {upstream.hash_key})"
    else:
        own = upstream.balance
    return own + " (the upstream's own)"


def _variant(upstream, table: dict):
    """A copy of ``upstream`` with the balancing that ``table`` describes (defaults for the rest)."""
    balancing = read_balancing(Section(table, f"upstream.{upstream.name}", Problems()), upstream.servers)
    return dataclasses.replace(upstream, **balancing._asdict())


def _pick(upstream, head, buf, target: bytes, peer, trusted) -> int:
    balancer = balancers.build(upstream, seed=0)
    group = Group(upstream.name, list(upstream.servers), balancer, balancers.key_extractor(upstream), trusted)
    return group.pick(head, buf, target, peer)

"""What a matched route does besides forwarding, and how a config route is compiled.

``compile_route`` turns a config Route into a route.Route once, at load:
host names and prefix as bytes, the other conditions into route.Conditions
(regexes compiled, methods as a set), the header edits into
rewrite.HeaderEdits (the lines to add already encoded), and a redirect or a
direct response into an Answer.

Answers (redirects, direct responses) are rare and never touch an upstream:
plain Python, one bytes object per answer.  They carry the route's response
header edits and, over TLS, its Strict-Transport-Security.  A request body
is never read: the answer then says Connection: close.
"""

from __future__ import annotations

import re

from fastproxy.parser.codes import FIELD_IDS
from fastproxy.respond import REASONS
from fastproxy.rewrite import HeaderEdits
from fastproxy.route import T_ABSENT, T_EXACT, T_PRESENT, T_REGEX, Conditions, Route, path_only

__all__ = ["Answer", "compile_route", "hsts_value"]

_REASONS = {**REASONS, 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently",
            302: "Found", 303: "See Other", 304: "Not Modified", 307: "Temporary Redirect",
            308: "Permanent Redirect", 401: "Unauthorized", 410: "Gone", 418: "I'm a teapot",
            429: "Too Many Requests"}
_PLACEHOLDER = re.compile(r"\{(scheme|host|path|query|uri)\}")
# What a Host may hold to be copied into a Location (a name, an IPv4 or a bracketed IPv6 literal).
_SAFE_HOST = re.compile(rb"[a-z0-9._\-]+|\[[0-9a-f:.]+\]")
_STS = "strict-transport-security"


def hsts_value(hsts) -> str:
    value = f"max-age={hsts.max_age}"
    if hsts.include_subdomains:
        value += "; includeSubDomains"
    if hsts.preload:
        value += "; preload"
    return value


def _lines(fields) -> bytes:
    return b"".join(f"{name}: {value}\r\n".encode("ascii") for name, value in fields)


def _edits(edits, extra_drop=(), extra_add=(), hidden=frozenset()) -> HeaderEdits | None:
    """The rewrite.HeaderEdits for config HeaderEdits plus ``extra_*`` fields (None: nothing to do)."""
    drop = {n.lower() for n in edits.remove} | {n.lower() for n, _ in edits.set} | {n.lower() for n in extra_drop}
    add = _lines(tuple(edits.set) + tuple(edits.add) + tuple(extra_add))
    if not drop and not add:
        return None
    names = frozenset(n.encode("ascii") for n in drop)
    return HeaderEdits(names | hidden if names else None, add)


def _tests(matches, field_names: bool) -> tuple:
    tests = []
    for m in matches:
        name = m.name.lower().encode("ascii") if field_names else m.name.encode("utf-8")
        hid = FIELD_IDS.get(name, 0) if field_names else 0
        if m.regex is not None:
            tests.append((name, hid, T_REGEX, None, re.compile(m.regex.encode("ascii"))))
        elif m.value is not None:
            tests.append((name, hid, T_EXACT, m.value.encode("utf-8" if not field_names else "latin-1"), None))
        else:
            tests.append((name, hid, T_PRESENT if m.present else T_ABSENT, None, None))
    return tuple(tests)


def compile_route(index: int, spec, upstreams, hidden: frozenset = frozenset()) -> Route:
    """The route.Route for config Route ``spec``; ``upstreams`` maps upstream
    names to balance.Groups; ``hidden``: the lower-cased names of revealing
    response fields that are not parser-tagged (dropped with any edits)."""
    upstream = upstreams[spec.upstream] if spec.upstream is not None else None
    route = Route(index, spec.host, spec.path_prefix, spec.strip_prefix, upstream)
    regex = re.compile(spec.path_regex.encode("ascii")) if spec.path_regex is not None else None
    if (spec.methods or regex is not None or spec.headers or spec.query or spec.client_subject
            or spec.client_cn or spec.scheme is not None):
        route.more = Conditions(
            frozenset(m.encode("ascii") for m in spec.methods) if spec.methods else None,
            regex, _tests(spec.headers, True), _tests(spec.query, False),
            frozenset(spec.client_subject) if spec.client_subject else None,
            frozenset(spec.client_cn) if spec.client_cn else None,
            -1 if spec.scheme is None else int(spec.scheme == "https"))
    if spec.rewrite_prefix is not None:
        route.replacement = spec.rewrite_prefix.encode("ascii")
    if spec.rewrite_path is not None:
        from fastproxy.config.routing import template_groups

        route.template = tuple(template_groups(spec.rewrite_path, regex))
    route.req_edits = _edits(spec.request_headers)
    route.resp_plain = _edits(spec.response_headers, hidden=hidden)
    if spec.hsts is not None:
        route.resp_tls = _edits(spec.response_headers, (_STS,), (("Strict-Transport-Security",
                                                                  hsts_value(spec.hsts)),), hidden)
    else:
        route.resp_tls = route.resp_plain
    if spec.redirect is not None or spec.respond is not None:
        route.answer = Answer(spec, route)
    return route


class Answer:
    """A route's own response: a redirect or a direct response."""

    __slots__ = ("body", "fields", "location", "status")

    def __init__(self, spec, route: Route) -> None:
        if spec.redirect is not None:
            self.status = spec.redirect.status
            self.location = spec.redirect.location
            self.fields = b""
            self.body = b""
        else:
            respond = spec.respond
            self.status = respond.status
            self.location = None
            self.body = respond.body.encode("utf-8")
            fields = list(respond.headers)
            if self.body and not any(n.lower() == "content-type" for n, _ in fields):
                fields.insert(0, ("Content-Type", "text/plain; charset=utf-8"))
            self.fields = _lines(fields)

    def render(self, route: Route, host: bytes | None, target: bytes, path: bytes, tls: bool, keep: bool,
               client11: bool, head_request: bool) -> tuple[bool, bytes]:
        """(keep, bytes) answering a request for ``target`` (``path``: its
        origin form) with Host key ``host`` (None: none); status 400 when a
        redirect needs a host the request lacks or has in a form unsafe to copy
        (then ``keep`` is False: the connection closes after it)."""
        status = self.status
        body = self.body
        extra = self.fields
        if self.location is not None:
            location = self._location(host, path, tls)
            if location is None:
                status = 400
                body = b"no usable Host to redirect to\n"
                extra = b"Content-Type: text/plain; charset=utf-8\r\n"
                keep = False
            else:
                extra = b"Location: " + location + b"\r\n"
        edits = route.resp_tls if tls else route.resp_plain
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n".encode("ascii"), extra]
        if status not in (204, 304):
            head.append(b"Content-Length: %d\r\n" % len(body))
        if edits is not None and status != 400:
            head.append(edits.add)
        if not keep:
            head.append(b"Connection: close\r\n")
        elif not client11:
            head.append(b"Connection: keep-alive\r\n")
        head.append(b"\r\n")
        if not head_request and status not in (204, 304):
            head.append(body)
        return keep, b"".join(head)

    def _location(self, host: bytes | None, path: bytes, tls: bool) -> bytes | None:
        values = {"scheme": b"https" if tls else b"http", "path": path_only(path), "uri": path}
        mark = path.find(b"?")
        values["query"] = b"" if mark < 0 else path[mark + 1:]
        if "{host}" in self.location:
            if not host or not _SAFE_HOST.fullmatch(host):
                return None
            values["host"] = host
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)].decode("latin-1"), self.location).encode("latin-1")

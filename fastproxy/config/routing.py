"""Checks one ``[[route]]`` table: its conditions, its action, its header edits.

A route reads like a sentence: "for requests to these hosts and paths
(methods, headers, query arguments, client certificate), do this (forward,
redirect or respond), editing these headers".  Conditions that are set must
all hold; exactly one action is allowed, and every key that only makes sense
with another (strip_prefix without path_prefix, rewrite_path without
path_regex, a rewrite without an upstream) is a problem naming the key.
"""

from __future__ import annotations

import re

from fastproxy.config import _text
from fastproxy.config.addresses import check_route_host
from fastproxy.config.reader import MISSING, Section
from fastproxy.config.schema import (
    DEFAULT_HTTPS_REDIRECT_STATUS,
    DEFAULT_REDIRECT_STATUS,
    REDIRECT_STATUSES,
    HeaderEdits,
    HeaderMatch,
    Hsts,
    Redirect,
    Respond,
    Route,
)
from fastproxy.parser.codes import FIELD_IDS

__all__ = ["LOCATION_FIELDS", "check_field_name", "read_route", "template_groups"]

# RFC 9110 token: a method or a field name.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# A field value we write: visible ASCII, spaces and tabs (no CR, LF, NUL).
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")
# What a redirect location may hold besides its placeholders (RFC 3986 characters).
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
LOCATION_FIELDS = ("scheme", "host", "path", "query", "uri")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# $1, ${1}, ${name} in rewrite_path.
_GROUP_REF = re.compile(r"\$(?:(\d+)|\{([A-Za-z_][A-Za-z0-9_]*|\d+)\})")
_ACTIONS = ("upstream", "redirect", "respond")


def read_route(sec: Section, upstream_names: list[str], known_upstreams) -> Route:
    """The Route in table ``sec``; ``known_upstreams(name)`` is the hint for
    an unknown upstream name.  Problems go to ``sec.problems``."""
    hosts = _hosts(sec)
    scheme = _scheme(sec)
    prefix = sec.string("path_prefix", None)
    if prefix is not None:
        problem = _path_problem(prefix)
        if problem:
            sec.problem("path_prefix", problem)
    path_regex = _regex(sec, "path_regex")
    methods = _methods(sec)
    headers = _matches(sec, "headers", "header", True)
    query = _matches(sec, "query", "query argument", False)
    client_subject = _strings(sec, "client_subject", "subject")
    client_cn = _strings(sec, "client_cn", "common name")
    upstream = _upstream(sec, upstream_names, known_upstreams)
    redirect = _redirect(sec)
    respond = _respond(sec)
    present = [key for key in _ACTIONS if sec.data.get(key, MISSING) is not MISSING]
    if not present:
        sec.problem("upstream", 'is required unless the route has redirect or respond '
                    '(e.g. upstream = "api", redirect = "https", respond = 404)')
    elif len(present) > 1:
        sec.problem(present[1], f"a route has one action: {' and '.join(present)} are both set (keep one)")
    strip = sec.boolean("strip_prefix", False)
    rewrite_prefix = sec.string("rewrite_prefix", None)
    rewrite_path = sec.string("rewrite_path", None)
    _check_rewrites(sec, strip, rewrite_prefix, rewrite_path, path_regex, present)
    route = Route(
        upstream=upstream,
        host=hosts,
        scheme=scheme,
        path_prefix=prefix,
        path_regex=path_regex,
        methods=methods,
        headers=headers,
        query=query,
        client_subject=client_subject,
        client_cn=client_cn,
        strip_prefix=bool(strip),
        rewrite_prefix=rewrite_prefix,
        rewrite_path=rewrite_path,
        redirect=redirect,
        respond=respond,
        request_headers=_edits(sec, "request_headers"),
        response_headers=_edits(sec, "response_headers"),
        hsts=_hsts(sec),
    )
    sec.finish()
    return route


# -- conditions ----------------------------------------------------------------


def _string_list(sec: Section, key: str, what: str) -> list | None:
    """A string or an array of strings (as a list), [] when absent."""
    value = sec.raw(key)
    if value is MISSING:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        sec.problem(key, f"expected a {what} or an array of them, got {_text.got(value)}")
        return None
    return items


def _hosts(sec: Section) -> tuple[str, ...]:
    items = _string_list(sec, "host", "host name")
    hosts = []
    for index, item in enumerate(items or ()):
        try:
            hosts.append(check_route_host(item))
        except ValueError as exc:
            single = isinstance(sec.data["host"], str)
            sec.problems.add(sec.at("host") if single else f"{sec.at('host')}[{index}]", str(exc))
    return tuple(dict.fromkeys(hosts))


def _scheme(sec: Section) -> str | None:
    scheme = sec.string("scheme", None)
    upgrade = sec.data.get("redirect") in ("https", {"to": "https"}) or (
        isinstance(sec.data.get("redirect"), dict) and sec.data["redirect"].get("to") == "https")
    if scheme is not None and scheme not in ("http", "https"):
        sec.problem("scheme", f'{_text.show(scheme)} is not a scheme (use "http" or "https")')
        return None
    if upgrade:
        if scheme == "https":
            sec.problem("scheme", 'redirect = "https" on https requests would send them to themselves')
        return "http"
    return scheme


def _path_problem(path: str) -> str | None:
    if not path.startswith("/"):
        return f'{_text.show(path)} must start with "/"'
    for char in path:
        if not char.isascii():
            return f"{_text.show(path)} has a non-ASCII character {_text.show(char)} (percent-encode it)"
        if char.isspace() or not char.isprintable() or char in "?#":
            return f"{_text.show(path)} has {_text.show(char)}, which cannot appear in a path"
    return None


def _regex(sec: Section, key: str, value: object = MISSING, path: str | None = None) -> str | None:
    if value is MISSING:
        value = sec.string(key, None)
        if value is None:
            return None
    path = path or sec.at(key)
    if not isinstance(value, str):
        sec.problems.add(path, f"expected a regular expression (a string), got {_text.got(value)}")
        return None
    if not value.isascii():
        sec.problems.add(path, f"{_text.show(value)}: use ASCII (percent-encoded bytes) in a regular expression")
        return None
    try:
        re.compile(value.encode("ascii"))
    except re.error as exc:
        sec.problems.add(path, f"{_text.show(value)} is not a valid regular expression: {exc}")
        return None
    return value


def _methods(sec: Section) -> tuple[str, ...]:
    items = _string_list(sec, "methods", "method")
    methods = []
    for index, item in enumerate(items or ()):
        path = f"{sec.at('methods')}[{index}]" if isinstance(sec.data["methods"], list) else sec.at("methods")
        if not _TOKEN.fullmatch(item):
            sec.problems.add(path, f"{_text.show(item)} is not a method name")
        elif item != item.upper():
            sec.problems.add(path, f'methods are case-sensitive: write "{item.upper()}"')
        else:
            methods.append(item)
    return tuple(dict.fromkeys(methods))


def _matches(sec: Section, key: str, what: str, field_names: bool) -> tuple[HeaderMatch, ...]:
    """``key = { NAME = true | false | "value" | { regex = "..." } }``."""
    table = sec.table(key)
    matches = []
    for name, value in table.data.items():
        table.raw(name)
        path = table.at(name)
        if field_names and not _TOKEN.fullmatch(name):
            sec.problems.add(path, f"{_text.show(name)} is not a valid header name")
            continue
        if not name:
            sec.problems.add(path, f"a {what} name cannot be empty")
            continue
        if isinstance(value, bool):
            matches.append(HeaderMatch(name=name, present=value))
        elif isinstance(value, str):
            if not _FIELD_VALUE.fullmatch(value):
                sec.problems.add(path, f"{_text.show(value)} has a character that cannot appear in a {what}")
                continue
            matches.append(HeaderMatch(name=name, value=value))
        elif isinstance(value, dict) and list(value) == ["regex"]:
            regex = _regex(sec, "regex", value["regex"], f"{path}.regex")
            if regex is not None:
                matches.append(HeaderMatch(name=name, regex=regex))
        else:
            sec.problems.add(path, f'expected true (present), false (absent), an exact value or '
                             f'{{ regex = "..." }}, got {_text.got(value)}')
    table.finish()
    return tuple(matches)


def _strings(sec: Section, key: str, what: str) -> tuple[str, ...]:
    items = _string_list(sec, key, what)
    if items and any(not item for item in items):
        sec.problem(key, f"a {what} cannot be empty")
    return tuple(items or ())


# -- actions -------------------------------------------------------------------


def _upstream(sec: Section, upstream_names: list[str], known_upstreams) -> str | None:
    upstream = sec.string("upstream", None)
    if upstream is not None and upstream not in upstream_names:
        sec.problem("upstream", f"no upstream named {_text.show(upstream)} {known_upstreams(upstream)}")
    return upstream


def _check_rewrites(sec: Section, strip, rewrite_prefix, rewrite_path, path_regex, actions: list[str]) -> None:
    given = [k for k in ("strip_prefix", "rewrite_prefix", "rewrite_path")
             if sec.data.get(k, MISSING) is not MISSING and not (k == "strip_prefix" and strip is False)]
    if len(given) > 1:
        sec.problem(given[1], f"{' and '.join(given)} both rewrite the path (keep one)")
    if given and actions and "upstream" not in actions:
        sec.problem(given[0], f"only a route with an upstream rewrites the path ({actions[0]} does not)")
    has_prefix = sec.data.get("path_prefix", MISSING) is not MISSING
    if strip and not has_prefix:
        sec.problem("strip_prefix", "true is only meaningful with path_prefix (set path_prefix or remove this)")
    if rewrite_prefix is not None:
        if not has_prefix:
            sec.problem("rewrite_prefix", "replaces path_prefix: set path_prefix too")
        problem = _path_problem(rewrite_prefix)
        if problem:
            sec.problem("rewrite_prefix", problem)
    if rewrite_path is not None:
        if sec.data.get("path_regex", MISSING) is MISSING:
            sec.problem("rewrite_path", "uses the groups of path_regex ($1, ${name}): set path_regex too")
        elif path_regex is not None:
            try:
                template_groups(rewrite_path, re.compile(path_regex.encode("ascii")))
            except ValueError as exc:
                sec.problem("rewrite_path", str(exc))


def template_groups(template: str, regex: re.Pattern) -> list:
    """``template`` as parts: bytes literals and int group numbers of ``regex``.
    Raises ValueError naming what is wrong."""
    parts: list = []
    pos = 0
    for ref in _GROUP_REF.finditer(template):
        parts.append(template[pos:ref.start()].encode("ascii"))
        name = ref.group(1) or ref.group(2)
        if name.isdigit():
            number = int(name)
            if number > regex.groups:
                raise ValueError(f"{_text.show(template)}: ${name} but path_regex has {regex.groups} group(s)")
        else:
            if name not in regex.groupindex:
                raise ValueError(f"{_text.show(template)}: path_regex has no group named {_text.show(name)}")
            number = regex.groupindex[name]
        parts.append(number)
        pos = ref.end()
    parts.append(template[pos:].encode("ascii"))
    literal = b"".join(p for p in parts if isinstance(p, bytes)).decode("ascii")
    if "$" in literal:
        raise ValueError(f'{_text.show(template)}: "$" must start a group reference ($1, ${{name}})')
    if not template.startswith("/") and not template.startswith("$"):
        raise ValueError(f'{_text.show(template)} must start with "/"')
    problem = _path_problem("/" + literal.lstrip("/"))
    if problem:
        raise ValueError(problem)
    return [p for p in parts if p != b""]


def _redirect(sec: Section) -> Redirect | None:
    value = sec.raw("redirect")
    if value is MISSING:
        return None
    status = 0
    path = sec.at("redirect")
    if isinstance(value, dict):
        table = Section(value, path, sec.problems)
        location = table.string("to", None)
        if location is None and value.get("to", MISSING) is MISSING:
            table.problem("to", 'is required (a location such as "https://{host}{uri}", or "https")')
        status = table.integer("status", 0, 0, 999)
        if status is not None and status and status not in REDIRECT_STATUSES:
            table.problem("status", f"{status} is not a redirect status (use {', '.join(map(str, REDIRECT_STATUSES))})")
            status = None
        table.finish()
        path = table.at("to")
    elif isinstance(value, str):
        location = value
    else:
        sec.problem("redirect", f'expected a location, "https" or {{ to = "...", status = 301 }}, '
                    f'got {_text.got(value)}')
        return None
    if location is None or status is None:
        return None
    if location == "https":
        return Redirect(location="https://{host}{uri}", status=status or DEFAULT_HTTPS_REDIRECT_STATUS)
    problem = _location_problem(location)
    if problem:
        sec.problems.add(path, problem)
        return None
    return Redirect(location=location, status=status or DEFAULT_REDIRECT_STATUS)


def _location_problem(location: str) -> str | None:
    for name in _PLACEHOLDER.findall(location):
        if name not in LOCATION_FIELDS:
            return (f"{_text.show(location)}: unknown placeholder {{{name}}} "
                    f"(use {', '.join('{' + f + '}' for f in LOCATION_FIELDS)})")
    literal = _PLACEHOLDER.sub("", location)
    if not _URI_CHARS.fullmatch(literal):
        bad = next(c for c in literal if not _URI_CHARS.fullmatch(c))
        return f"{_text.show(location)} has {_text.show(bad)}, which cannot appear in a URI (percent-encode it)"
    if not (location.startswith("/") or re.match(r"(https?://|\{scheme\}://)", location)):
        return f'{_text.show(location)} must be an http(s) URL or start with "/"'
    return None


def _respond(sec: Section) -> Respond | None:
    value = sec.raw("respond")
    if value is MISSING:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = {"status": value}
    if not isinstance(value, dict):
        sec.problem("respond", f'expected a status or {{ status = 200, body = "...", headers = {{ ... }} }}, '
                    f"got {_text.got(value)}")
        return None
    table = Section(value, sec.at("respond"), sec.problems)
    before = len(sec.problems)
    status = table.integer("status", 200, 200, 599)
    body = table.string("body", "")
    if body and status in (204, 304):
        table.problem("body", f"a {status} response has no body")
    headers = _field_table(table, "headers", allow_list=False)
    table.finish()
    if len(sec.problems) != before:
        return None
    return Respond(status=status, body=body, headers=tuple((n, v) for n, v in headers))


# -- header edits --------------------------------------------------------------


def check_field_name(name: object) -> str | None:
    """The problem with a header name for an edit or a direct response, if any."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        return f"{_text.show(name)} is not a valid header name"
    if name.lower().encode("ascii") in FIELD_IDS:
        return f"{_text.show(name)} is managed by the proxy and cannot be edited"
    return None


def _field_table(sec: Section, key: str, allow_list: bool) -> list[tuple[str, str]]:
    """``key = { NAME = "value" }`` (with ``allow_list``, also an array of values)."""
    table = sec.table(key)
    fields = []
    for name, value in table.data.items():
        table.raw(name)
        path = table.at(name)
        problem = check_field_name(name)
        if problem:
            sec.problems.add(path, problem)
            continue
        values = value if allow_list and isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str):
                shape = "a string or an array of strings" if allow_list else "a string"
                sec.problems.add(path, f"expected {shape}, got {_text.got(value)}")
                break
            if not _FIELD_VALUE.fullmatch(item):
                sec.problems.add(path, f"{_text.show(item)} has a character that cannot appear in a header")
                break
            fields.append((name, item))
    table.finish()
    return fields


def _edits(sec: Section, key: str) -> HeaderEdits:
    table = sec.table(key)
    remove = table.array("remove", [], "header names") or []
    names = []
    for index, name in enumerate(remove):
        problem = check_field_name(name)
        if problem:
            sec.problems.add(f"{table.at('remove')}[{index}]", problem)
        else:
            names.append(name)
    set_ = _field_table(table, "set", allow_list=False)
    add = _field_table(table, "add", allow_list=True)
    table.finish()
    return HeaderEdits(remove=tuple(names), set=tuple(set_), add=tuple(add))


def _hsts(sec: Section) -> Hsts | None:
    value = sec.raw("hsts")
    if value is MISSING or value is False:
        return None
    if value is True:
        return Hsts()
    if not isinstance(value, dict):
        sec.problem("hsts", f"expected true or {{ max_age = \"8760h\", include_subdomains = true }}, "
                    f"got {_text.got(value)}")
        return None
    table = Section(value, sec.at("hsts"), sec.problems)
    default = Hsts()
    max_age = table.duration("max_age", default.max_age, allow_zero=True)
    include = table.boolean("include_subdomains", default.include_subdomains)
    preload = table.boolean("preload", default.preload)
    table.finish()
    if max_age is None or include is None or preload is None:
        return None
    if preload and (not include or max_age < 31536000):
        table.problem("preload", "needs include_subdomains = true and max_age of at least a year (8760h)")
        return None
    return Hsts(max_age=int(max_age), include_subdomains=include, preload=preload)

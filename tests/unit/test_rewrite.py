"""Head rewriting, against each parser implementation."""

import re

from fastproxy.clientip import TrustedProxies
from fastproxy.heads import ParsedHead
from fastproxy.outgoing import Outgoing
from fastproxy.relay import OUT_CHUNK, OUT_DECHUNK, OUT_PASS
from fastproxy.rewrite import Peer, RequestRewriter, ResponseRewriter


def _request(parser_impl, raw: bytes, target=None, peer=None, trusted=(), request_id=True, authority=None,
             fallback=b"up:1", rw=None):
    p = parser_impl.RequestParser()
    head = ParsedHead(p)
    buf = bytearray(raw)
    n = head.parse(buf, len(buf))
    assert n > 0
    peer = peer or Peer("192.0.2.7", False)
    out = Outgoing()
    rw = rw or RequestRewriter(TrustedProxies(trusted), request_id=request_id)
    host = p.get(b"host")
    rw.head(head, buf, n, p.method, target or p.target, host, authority, p.upgrade, fallback, peer, out)
    return out.take(), peer


def test_request_head_in_full(parser_impl):
    out, peer = _request(parser_impl, b"GET /a?b HTTP/1.1\r\nHost: h.example\r\nAccept: */*\r\n"
                                      b"Connection: keep-alive\r\nX-Request-ID: r-1\r\nUser-Agent: t\r\n\r\n")
    assert out == (b"GET /a?b HTTP/1.1\r\nHost: h.example\r\nAccept: */*\r\nUser-Agent: t\r\n"
                   b"X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h.example\r\n"
                   b"Forwarded: for=192.0.2.7;host=h.example;proto=http\r\nX-Real-IP: 192.0.2.7\r\n"
                   b"X-Request-ID: r-1\r\n\r\n")
    assert peer.request_id == b"r-1"


def test_request_for_http10_without_host(parser_impl):
    out, _ = _request(parser_impl, b"GET / HTTP/1.0\r\n\r\n", request_id=False)
    assert out.startswith(b"GET / HTTP/1.1\r\nHost: up:1\r\nX-Forwarded-For: 192.0.2.7\r\n")
    assert b"X-Forwarded-Host" not in out and b"host=" not in out and b"X-Request-ID" not in out


def test_ipv6_peer_in_forwarded(parser_impl):
    out, _ = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", peer=Peer("2001:db8::1", False))
    assert b'Forwarded: for="[2001:db8::1]";host=h;proto=http\r\n' in out
    assert b"X-Forwarded-For: 2001:db8::1\r\n" in out


def test_connection_named_fields_go_but_special_ones_stay(parser_impl):
    out, _ = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: x-a, host, te\r\nX-A: 1\r\n"
                                   b"X-B: 2\r\nTE: trailers\r\n\r\n")
    assert b"X-A" not in out and b"TE:" not in out and b"Connection" not in out
    assert b"X-B: 2\r\n" in out and b"Host: h\r\n" in out


def test_upgrade_is_kept_only_when_upgrading(parser_impl):
    up, _ = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    assert b"Upgrade: websocket\r\n" in up and up.endswith(b"Connection: upgrade\r\n\r\n")
    plain, _ = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n")
    assert b"Upgrade" not in plain


def test_trusted_peer_keeps_its_forwarded_proto_and_host(parser_impl):
    out, peer = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9\r\n"
                                      b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\n\r\n",
                         peer=Peer("10.0.0.1", True), trusted=["10.0.0.0/8"])
    assert peer.client == "203.0.113.9"
    assert b"X-Forwarded-Proto: https\r\n" in out and b"X-Forwarded-Proto: http\r\n" not in out
    assert b"X-Forwarded-Host: public.example\r\n" in out and b"X-Forwarded-Host: h\r\n" not in out
    assert b"X-Forwarded-For: 203.0.113.9, 10.0.0.1\r\n" in out
    assert b"X-Real-IP: 203.0.113.9\r\n" in out


def test_absolute_form_authority_replaces_host(parser_impl):
    out, _ = _request(parser_impl, b"GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n",
                      target=b"/x", authority=b"a.example")
    assert out.startswith(b"GET /x HTTP/1.1\r\n")
    assert b"b.example" not in out and out.count(b"\r\nHost: a.example\r\n") == 1


def test_generated_request_ids_differ(parser_impl):
    rw = RequestRewriter(TrustedProxies(()))
    first, second = rw.new_request_id(), rw.new_request_id()
    assert re.fullmatch(rb"[0-9a-f]{32}", first) and first != second
    assert first[:16] == second[:16] and int(second[16:], 16) == int(first[16:], 16) + 1


def test_forwarding_fields_are_reused_per_host_only_when_the_request_brings_none(parser_impl):
    peer = Peer("192.0.2.7", False)
    rw = RequestRewriter(TrustedProxies(()), request_id=False)
    a1, _ = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", peer=peer, rw=rw)
    a2, _ = _request(parser_impl, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", peer=peer, rw=rw)
    with_xff, _ = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.1.1.1\r\n\r\n",
                           peer=peer, rw=rw)
    b1, _ = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: b\r\n\r\n", peer=peer, rw=rw)
    a3, _ = _request(parser_impl, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", peer=peer, rw=rw)
    assert a1 == a3 and a2 == a1.replace(b"GET / ", b"GET /x ")
    assert b"X-Forwarded-For: 10.1.1.1, 192.0.2.7\r\n" in with_xff
    assert b1 == a1.replace(b"Host: a", b"Host: b").replace(b"host=a", b"host=b")


def _response(parser_impl, raw: bytes, keep=True, client11=True, out=OUT_PASS, hide=("Server", "X-Powered-By"),
              req_flags=0):
    head = ParsedHead(parser_impl.ResponseParser(), True)
    buf = bytearray(raw)
    n = head.parse(buf, len(buf), req_flags)
    outgoing = Outgoing()
    ResponseRewriter(hide).head(head, buf, n, head.status, keep, client11, out, outgoing)
    return outgoing.take()


def test_response_hides_and_strips(parser_impl):
    out = _response(parser_impl, b"HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 2\r\nKeep-Alive: t=1\r\n"
                                 b"X-Powered-By: p\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Ok: 1\r\n\r\n")
    assert out == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Ok: 1\r\n\r\n"


def test_response_connection_field_follows_the_decision(parser_impl):
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    assert _response(parser_impl, raw, keep=False).endswith(b"Connection: close\r\n\r\n")
    assert _response(parser_impl, raw, client11=False).endswith(b"Connection: keep-alive\r\n\r\n")


def test_http10_upstream_status_line_becomes_http11(parser_impl):
    out = _response(parser_impl, b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 404 Not Found\r\n")


def test_reframing_changes_transfer_encoding(parser_impl):
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert b"Transfer-Encoding" not in _response(parser_impl, chunked, keep=False, client11=False, out=OUT_DECHUNK)
    assert b"Transfer-Encoding: chunked\r\n" in _response(parser_impl, chunked)
    close = b"HTTP/1.1 200 OK\r\n\r\n"
    assert _response(parser_impl, close, out=OUT_CHUNK) == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_custom_hidden_names(parser_impl):
    out = _response(parser_impl, b"HTTP/1.1 200 OK\r\nX-Backend: b1\r\nServer: s\r\nContent-Length: 0\r\n\r\n",
                    hide=("x-backend",))
    assert out == b"HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 0\r\n\r\n"


def test_interim_and_101_heads(parser_impl):
    assert _response(parser_impl, b"HTTP/1.1 100 Continue\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    out = _response(parser_impl, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\n\r\n", keep=False)
    assert out == b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"


def test_the_request_line_is_rebuilt(parser_impl):
    out, _ = _request(parser_impl, b"\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n")
    assert out.startswith(b"GET /a HTTP/1.1\r\nHost: h\r\n")  # the empty line before it is not
    out, _ = _request(parser_impl, b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
    assert out.startswith(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n")
    out, _ = _request(parser_impl, b"GET /a HTTP/1.0\r\nHost: h\r\n\r\n")
    assert out.startswith(b"GET /a HTTP/1.1\r\nHost: h\r\n")
    out, _ = _request(parser_impl, b"GET /api/a HTTP/1.1\r\nHost: h\r\n\r\n", target=b"/a")
    assert out.startswith(b"GET /a HTTP/1.1\r\nHost: h\r\n")


def _edited_request(parser_impl, raw: bytes, edits, peer=None) -> bytes:
    p = parser_impl.RequestParser()
    head = ParsedHead(p)
    buf = bytearray(raw)
    n = head.parse(buf, len(buf))
    out = Outgoing()
    RequestRewriter(TrustedProxies(()), request_id=False).head(head, buf, n, p.method, p.target, p.get(b"host"),
                                                               None, False, b"up:1", peer or Peer("192.0.2.7", False),
                                                               out, edits)
    return out.take()


def test_route_edits_on_the_request(parser_impl):
    from fastproxy.rewrite import HeaderEdits

    edits = HeaderEdits(frozenset({b"x-env", b"x-drop"}), b"X-Env: prod\r\n")
    out = _edited_request(parser_impl, b"GET / HTTP/1.1\r\nHost: h\r\nX-Env: dev\r\nX-Drop: 1\r\nX-Keep: 2\r\n"
                                       b"Connection: x-keep\r\n\r\n", edits)
    assert out.startswith(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: ")
    assert out.endswith(b"X-Real-IP: 192.0.2.7\r\nX-Env: prod\r\n\r\n")
    assert b"dev" not in out and b"X-Drop" not in out and b"X-Keep" not in out


def test_client_subject_replaces_what_the_client_sent(parser_impl):
    peer = Peer("192.0.2.7", False, b"https")
    peer.set_client_cert("X-Client-Subject", "CN=alice", "alice")
    out = _edited_request(parser_impl, b"GET / HTTP/1.1\r\nHost: h\r\nx-client-subject: CN=root\r\n\r\n", None, peer)
    assert b"CN=root" not in out and out.endswith(b"X-Client-Subject: CN=alice\r\n\r\n")
    assert (peer.tls, peer.subject, peer.cn) == (True, "CN=alice", "alice")
    anonymous = Peer("192.0.2.7", False, b"https")
    anonymous.set_client_cert("X-Client-Subject", None, None)
    out = _edited_request(parser_impl, b"GET / HTTP/1.1\r\nHost: h\r\nX-Client-Subject: CN=root\r\n\r\n", None,
                          anonymous)
    assert b"Client-Subject" not in out


def test_route_edits_on_the_response(parser_impl):
    from fastproxy.rewrite import HeaderEdits

    head = ParsedHead(parser_impl.ResponseParser(), True)
    buf = bytearray(b"HTTP/1.1 200 OK\r\nCache-Control: max-age=9\r\nContent-Length: 0\r\nX-B: b\r\n\r\n")
    n = head.parse(buf, len(buf), 0)
    outgoing = Outgoing()
    edits = HeaderEdits(frozenset({b"cache-control"}), b"Cache-Control: no-store\r\n")
    ResponseRewriter().head(head, buf, n, 200, False, True, OUT_PASS, outgoing, edits)
    assert outgoing.take() == (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-B: b\r\nConnection: close\r\n"
                               b"Cache-Control: no-store\r\n\r\n")

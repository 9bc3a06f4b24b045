"""A minimal HTTPS origin for the upstream TLS tests.

``TlsOrigin(context)`` listens on 127.0.0.1 (port 0) with the server
context ``context`` and answers every GET with 200 and a JSON body:
``{"path", "host", "sni", "client"}`` (the SNI name the proxy sent, the
subject CN of the client certificate it showed, or null), or, for
``/bytes/N``, the N bytes of origin.expected_body(N); it keeps
connections alive.  ``.port``, ``.handshakes`` (completed), ``.failed``
(handshakes refused, with their error), ``close()``.  A thread per
connection: the tests send a handful of requests.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading

from tests.integration.origin import expected_body


class TlsOrigin:
    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        # The callback runs in the thread doing the handshake.
        self._local = threading.local()
        context.sni_callback = self._on_sni
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes = 0
        self.failed: list[str] = []
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._accepter = threading.Thread(target=self._accept, name="tls-origin", daemon=True)
        self._accepter.start()

    def _on_sni(self, sslobj, server_name, context) -> None:
        self._local.sni = server_name

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    sock.close()
                    return
                self._conns.append(sock)
                thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        try:
            tls = self.context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self._lock:
                self.failed.append(str(exc))
            sock.close()
            return
        with self._lock:
            self.handshakes += 1
            self._conns.append(tls)
        sni = getattr(self._local, "sni", None)
        cert = tls.getpeercert()
        client = dict(rdn[0] for rdn in cert["subject"]).get("commonName") if cert else None
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = tls.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                host = next((line.split(":", 1)[1].strip() for line in lines[1:]
                             if line.lower().startswith("host:")), None)
                if path.startswith("/bytes/"):
                    body = expected_body(int(path[7:]))
                else:
                    body = json.dumps({"path": path, "host": host, "sni": sni, "client": client}).encode()
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                            % (len(body), body))
        except (ssl.SSLError, OSError):
            return
        finally:
            tls.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = list(self._conns)
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        except OSError:
            pass
        self.listener.close()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self._accepter.join(5)
        for thread in list(self._threads):
            thread.join(5)

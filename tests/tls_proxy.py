"""A TLS server and a CONNECT proxy on 127.0.0.1, each in its own thread, for the proxy tests.

The server answers every request with one JSON body; the proxy tunnels CONNECT requests to
127.0.0.1 only and records their targets. Both stop when their ``with`` block ends.
"""

from __future__ import annotations

import http.server
import select
import socket
import socketserver
import ssl
import threading
from types import TracebackType

__all__ = ["ConnectProxy", "TLSServer"]


class TLSServer:
    """HTTPS on 127.0.0.1 with a certificate for ``localhost``; every request gets ``body``."""

    def __init__(self, ssl_context: ssl.SSLContext, body: bytes) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self.url = f"https://localhost:{self._server.server_address[1]}"

    def __enter__(self) -> TLSServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class ConnectProxy:
    """An HTTP CONNECT proxy that tunnels to 127.0.0.1 only; ``targets`` lists what it was asked for."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        proxy = self

        class Tunnel(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                proxy.targets.append(f"{method} {target}")
                if method != "CONNECT":
                    self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                    return
                with socket.create_connection(("127.0.0.1", int(target.rsplit(":", 1)[1]))) as upstream:
                    self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    _pipe(self.request, upstream)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tunnel)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ConnectProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    while True:
        readable, _, _ = select.select([a, b], [], [], 10)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (b if source is a else a).sendall(data)

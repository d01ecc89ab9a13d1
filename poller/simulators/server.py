"""A threaded HTTP server on 127.0.0.1 that hands each request to a simulator and records it."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass(slots=True, kw_only=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Drop the connection without answering: the client sees a disconnect, as after a gateway timeout.
    drop: bool = False

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None,
             content_type: str = "application/json") -> Response:
        return cls(status=status, body=json.dumps(payload).encode(),
                   headers={"Content-Type": content_type, **(headers or {})})


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One request as the simulator saw it, with the status it answered (0 when it dropped the connection)."""

    method: str
    path: str
    target: str
    status: int
    body: bytes


class Handler(Protocol):
    def handle(self, request: Request) -> Response: ...


class LoopbackServer:
    """Serve `handler` on 127.0.0.1:`port` (0 = any free port) in a daemon thread; record every call."""

    def __init__(self, handler: Handler, port: int = 0, host: str = "127.0.0.1"):
        self.handler = handler
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._make_request_handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _make_request_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small keep-alive responses otherwise wait ~40 ms for delayed ACKs

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(method=self.command, path=parts.path, query=parse_qs(parts.query),
                                  headers={k: v for k, v in self.headers.items()}, body=body)
                try:
                    response = server.handler.handle(request)
                except Exception as exc:  # a simulator bug must show as a 500, not hang the client
                    response = Response.json(500, {"message": f"simulator error: {exc!r}"})
                target = request.headers.get("X-Amz-Target", "")
                server.record(Call(method=request.method, path=request.path, target=target,
                                   status=0 if response.drop else response.status, body=body))
                if response.drop:
                    self.close_connection = True
                    return
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return _RequestHandler


class Simulator:
    """Lifecycle shared by the simulators: a LoopbackServer in `_server`, usable as a context manager."""

    _server: LoopbackServer

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def calls(self) -> list[Call]:
        return self._server.calls

    def reset_calls(self) -> None:
        del self._server.calls[:]  # in place: the server appends to this very list

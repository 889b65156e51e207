"""Small real HTTP servers on 127.0.0.1 for tests: a media host and a webhook receiver."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class MediaHost(_Server):
    """Serves files from a folder; `/redirect?to=URL` answers 302 to URL (to itself without
    `to`); `/slow?seconds=N` sends headers, then trickles a byte a second for N seconds (10);
    `/big?bytes=N` sends N zero bytes, with a Content-Length only with `&declare=1`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        super().__init__(_MediaHandler)


class _MediaHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query.get("to", "/redirect"))
            self.end_headers()
            return
        if parts.path == "/slow":
            seconds = int(query.get("seconds", 10))
            self._stream(seconds * 10, (b"x" for _ in range(seconds)), pause=1.0)
            return
        if parts.path == "/big":
            size = int(query["bytes"])
            chunks = (bytes(min(1 << 20, size - at)) for at in range(0, size, 1 << 20))
            self._stream(size if query.get("declare") == "1" else None, chunks)
            return
        path = self.server.owner.root / parts.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, length: int | None, chunks, pause: float = 0.0) -> None:
        """Headers, then each chunk; a client that hangs up ends it quietly."""
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass


class WebhookReceiver(_Server):
    """Records every POST; answers `fail_first` of them with 503, the rest with 204."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        self.arrived = threading.Condition()
        super().__init__(_WebhookHandler)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[dict[str, str], bytes, int]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)


class _WebhookHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        receiver = self.server.owner
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 503 if len(receiver.received) < receiver.fail_first else 204
        self.send_response(status)
        self.end_headers()
        with receiver.arrived:
            receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
            receiver.arrived.notify_all()

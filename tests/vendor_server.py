"""What the local vendor contract servers share: auth, recorded requests, injected faults,
asynchronous jobs that advance one documented status per poll, fetched inputs, rendered
outputs behind links that expire.

A vendor's server (tests/sync_labs_server.py, tests/heygen_server.py, ...) subclasses
`VendorServer`: its auth header, its error body shape, and `routes` from (method, path regex) to
a handler `(request, match) -> (status, body)`. Outputs are real media made from the inputs the
server fetched itself (the first picture of the video or photo, held still, carrying the audio),
so tests decode what came back.

    server.fail(429, retry_after=1)            # the next request is rate-limited once
    server.fail(500, times=2, path="/v2/generate")
    server.output_ttl_s = 0                    # output links expire at once
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import av
import httpx
import numpy as np

from tests.media import talking_video
from tests.servers import _Server

Answer = tuple[int, Any]
"""(HTTP status, JSON body, or bytes for a file)."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    """Parsed JSON, a dict of multipart/form fields, or None."""


@dataclass
class Fault:
    status: int
    times: int
    path: str | None
    retry_after: float | None
    message: str


@dataclass
class Job:
    id: str
    kind: str
    statuses: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    polls: int = 0
    canceled: bool = False

    @property
    def status(self) -> str:
        return self.statuses[min(self.polls, len(self.statuses) - 1)]


class VendorServer(_Server):
    auth_header: str = "x-api-key"
    auth_prefix: str = ""
    routes: list[tuple[str, str, str]] = []
    """(method, path regex, handler method name)."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.jobs: dict[str, Job] = {}
        self.files = Path(tempfile.mkdtemp(prefix="vendor-"))
        self.output_ttl_s = 600.0
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.secret = b"link signing"
        super().__init__(_VendorHandler)

    # --- what a vendor subclass states ---------------------------------------------------

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def statuses(self, kind: str) -> list[str]:
        raise NotImplementedError

    # --- tools for the handlers -------------------------------------------------------------

    def fail(self, status: int, times: int = 1, path: str | None = None,
             retry_after: float | None = None, message: str = "injected failure") -> None:
        self.faults.append(Fault(status, times, path, retry_after, message))

    def new_job(self, kind: str, **data: Any) -> Job:
        job = Job(f"{kind}_{next(self.ids):04d}", kind, self.statuses(kind), data)
        self.jobs[job.id] = job
        return job

    def poll(self, job_id: str) -> Job | None:
        """The job, one status further along than at the last poll."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and not job.canceled:
                job.polls += 1
            return job

    def fetch(self, url: str, suffix: str) -> Path:
        """Download an input the way the vendor does: from the URL it was given."""
        response = httpx.get(url, timeout=30, follow_redirects=True)
        response.raise_for_status()
        path = self.files / f"in-{next(self.ids):04d}{suffix}"
        path.write_bytes(response.content)
        return path

    def render(self, picture: Path, audio: Path) -> Path:
        """A video of `picture`'s first frame held still, carrying `audio`."""
        with av.open(str(picture)) as container:
            frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
        size = min(frame.shape[0], frame.shape[1], 256) // 2 * 2
        path = self.files / f"out-{next(self.ids):04d}.mp4"
        return talking_video(path, audio, size=size, image=np.ascontiguousarray(frame))

    def publish(self, path: Path) -> str:
        """An expiring signed link to `path`, as vendors hand out their outputs."""
        expires = int(time.time() + self.output_ttl_s)
        signature = hmac.new(self.secret, f"{path.name}:{expires}".encode(), hashlib.sha256).hexdigest()
        return self.url(f"/files/{path.name}?expires={expires}&signature={signature}")

    def serve_file(self, name: str, query: dict[str, str]) -> Answer:
        expires = query.get("expires", "0")
        wanted = hmac.new(self.secret, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(wanted, query.get("signature", "")) or int(expires) < time.time():
            return 403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        path = self.files / name
        return (200, path.read_bytes()) if path.is_file() else (404, b"")

    def key_seen(self) -> bool:
        """Whether any recorded request carried the key anywhere but its auth header."""
        return any(self.api_key in json.dumps(r.body, default=str) or self.api_key in json.dumps(r.query)
                   for r in self.requests)


class _VendorHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        server: VendorServer = self.server.owner  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        if parts.path.startswith("/files/"):  # output links: signed, no API key
            return self._send(*server.serve_file(parts.path.removeprefix("/files/"), query))
        request = Request(self.command, parts.path, query,
                          {k.lower(): v for k, v in self.headers.items()}, self._body())
        server.requests.append(request)
        for fault in server.faults:
            if fault.times > 0 and (fault.path is None or re.fullmatch(fault.path, parts.path)):
                fault.times -= 1
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                return self._send(fault.status, server.error_body(fault.status, fault.message), headers)
        if request.headers.get(server.auth_header) != server.auth_prefix + server.api_key:
            return self._send(401, server.error_body(401, "Invalid API key"))
        for method, pattern, handler in server.routes:
            match = re.fullmatch(pattern, parts.path)
            if match and method == self.command:
                return self._send(*getattr(server, handler)(request, match))
        self._send(404, server.error_body(404, f"no route {self.command} {parts.path}"))

    def _body(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = self.headers.get("Content-Type", "")
        if not raw:
            return None
        if kind.startswith("multipart/form-data"):
            return _multipart(raw, kind)
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes)
                         else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _multipart(raw: bytes, content_type: str) -> dict[str, str | bytes | list[str | bytes]]:
    """Form fields by name: text as str, files as bytes; a repeated field as the list of its values."""
    boundary = content_type.split("boundary=")[1].strip('"').encode()
    fields: dict[str, str | bytes | list[str | bytes]] = {}
    for part in raw.split(b"--" + boundary)[1:-1]:
        head, _, value = part.strip(b"\r\n").partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        if name:
            field = value if b"filename=" in head else value.decode()
            seen = fields.get(name[1].decode())
            fields[name[1].decode()] = field if seen is None else \
                [*(seen if isinstance(seen, list) else [seen]), field]
    return fields


"""The HTTP client. Requests are validated locally with the server's own pydantic models."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from reelcore.errors import ReelserveError, error_from_dict
from reelcore.schemas import (
    AnalyzeRequest,
    AvatarRequest,
    DubRequest,
    GenerateRequest,
    JobEvent,
    JobList,
    JobStatus,
    LipsyncRequest,
    ProviderList,
    Upload,
    VideoJob,
)


class JobTimeout(TimeoutError):
    """`wait_for_job` ran out of time; the job goes on on the server."""


RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers worth retrying: "not now" (rate limit, queue full, a backing service away), and the
HTTP proxy's 500 for a request whose replica died under it. Every call retried is safe to repeat:
reads, cancels, and submissions under one Idempotency-Key."""


class Client:
    """Calls the API. Submissions, reads and cancels that meet a 429/5xx or a dropped
    connection are retried up to `max_retries` times with exponential backoff (honouring
    `Retry-After`); every submission carries an Idempotency-Key (one is made when none is given),
    so a retried submission never makes a second job."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, transport: httpx.BaseTransport | None = None,
                 max_retries: int = 5, backoff_seconds: float = 0.5) -> None:
        self.max_retries, self.backoff_seconds = max_retries, backoff_seconds
        base_url = base_url or os.environ.get("REELSERVE_URL", "http://127.0.0.1:8000")
        api_key = api_key or os.environ.get("REELSERVE_API_KEY")
        if not api_key:
            raise ValueError("pass api_key or set REELSERVE_API_KEY")
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {api_key}"})

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.is_error:
            try:
                raise error_from_dict(response.json()["error"])
            except (ValueError, KeyError):
                raise ReelserveError(f"HTTP {response.status_code}: {response.text[:200]}") from None
        return response.json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response, after retrying "not now" answers and dropped connections."""
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            for _, file in (kwargs.get("files") or {}).values():
                file.seek(0)  # an upload retried sends the whole file again
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError:
                if last:
                    raise
                time.sleep(self.backoff_seconds * 2 ** attempt)
                continue
            if response.status_code not in RETRIED_STATUSES or last:
                return response
            time.sleep(retry_after(response) or self.backoff_seconds * 2 ** attempt)
        raise AssertionError("unreachable")

    def _submit(self, operation: str, body: BaseModel, idempotency_key: str | None) -> VideoJob:
        headers = {"Idempotency-Key": idempotency_key or f"sdk-{uuid.uuid4()}"}
        data = self._call("POST", f"/v1/video/{operation}", headers=headers,
                          json=body.model_dump(mode="json", exclude_unset=True))
        return VideoJob.model_validate(data)

    # --- the five operations ----------------------------------------------------------------

    def generate(self, prompt: str, *, idempotency_key: str | None = None, **fields: Any) -> VideoJob:
        return self._submit("generate", GenerateRequest(prompt=prompt, **fields), idempotency_key)

    def avatar(self, image_url: str, *, idempotency_key: str | None = None, **fields: Any) -> VideoJob:
        return self._submit("avatar", AvatarRequest(image_url=image_url, **fields), idempotency_key)

    def lipsync(self, video_url: str, audio_url: str, *, idempotency_key: str | None = None,
                **fields: Any) -> VideoJob:
        body = LipsyncRequest(video_url=video_url, audio_url=audio_url, **fields)
        return self._submit("lipsync", body, idempotency_key)

    def dub(self, video_url: str, target_language: str, *, idempotency_key: str | None = None,
            **fields: Any) -> VideoJob:
        body = DubRequest(video_url=video_url, target_language=target_language, **fields)
        return self._submit("dub", body, idempotency_key)

    def analyze(self, video_url: str, tasks: list[str], *, idempotency_key: str | None = None,
                **fields: Any) -> VideoJob:
        body = AnalyzeRequest(video_url=video_url, tasks=tasks, **fields)
        return self._submit("analyze", body, idempotency_key)

    # --- jobs -------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> VideoJob:
        return VideoJob.model_validate(self._call("GET", f"/v1/video/{job_id}"))

    def list_jobs(self, *, status: str | None = None, type: str | None = None,
                  limit: int = 20, cursor: str | None = None) -> JobList:
        params = {k: v for k, v in
                  {"status": status, "type": type, "limit": limit, "cursor": cursor}.items() if v}
        return JobList.model_validate(self._call("GET", "/v1/video", params=params))

    def cancel_job(self, job_id: str) -> VideoJob:
        return VideoJob.model_validate(self._call("POST", f"/v1/video/{job_id}/cancel"))

    def wait_for_job(self, job_id: str, *, timeout: float = 900.0, poll_interval: float = 2.0,
                     on_update: Callable[[VideoJob], None] | None = None) -> VideoJob:
        """Poll (every 1-5 s) until the job ends; return it if completed, else raise its error.

        The raised error is the class of the job's `error.code` (e.g. NoSpeechDetected), with
        the job attached as `.job`. Raises JobTimeout after `timeout` seconds.
        """
        interval = min(max(poll_interval, 1.0), 5.0)
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if on_update:
                on_update(job)
            if job.status.terminal:
                break
            if time.monotonic() + interval > deadline:
                raise JobTimeout(f"job {job_id} still {job.status.value} after {timeout:g} s")
            time.sleep(interval)
        if job.status != JobStatus.completed:
            assert job.error is not None
            error = error_from_dict(job.error.model_dump())
            error.job = job  # type: ignore[attr-defined]
            raise error
        return job

    def events(self, job_id: str) -> Iterator[VideoJob]:
        """Follow the job over server-sent events until it ends (no polling). A stream the
        server or a proxy closes early (Serve's proxy ends requests after `request_timeout_s`)
        is opened again, up to `max_retries` times in a row without news."""
        quiet = 0
        while True:
            try:
                for job in self._event_stream(job_id):
                    quiet = 0
                    yield job
                    if job.status.terminal:
                        return
            except httpx.TransportError:
                if quiet == self.max_retries:
                    raise
            quiet += 1
            time.sleep(self.backoff_seconds * 2 ** min(quiet, 4))

    def _event_stream(self, job_id: str) -> Iterator[VideoJob]:
        with self._http.stream("GET", f"/v1/video/{job_id}/events", timeout=None) as response:
            if response.is_error:
                response.read()
                raise error_from_dict(response.json()["error"])
            for line in response.iter_lines():
                if line.startswith("data:"):
                    yield JobEvent.model_validate(json.loads(line[5:])).job

    # --- other resources --------------------------------------------------------------------

    def upload(self, path: str | Path) -> Upload:
        path = Path(path)
        with path.open("rb") as file:
            data = self._call("POST", "/v1/uploads", files={"file": (path.name, file)})
        return Upload.model_validate(data)

    def providers(self) -> ProviderList:
        return ProviderList.model_validate(self._call("GET", "/v1/providers"))


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked to wait (`Retry-After` in seconds), at most a minute."""
    try:
        return min(float(response.headers["Retry-After"]), 60.0)
    except (KeyError, ValueError):
        return None

"""The BYOK HTTP layer every vendor engine uses (deployments/vendor_http.py), against a local
server: retries honouring Retry-After, the total deadline, error mapping with the vendor's
words kept, polling with progress, cancel sent upstream, expiring output links."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deployments.vendor_http import State, Vendor, VendorConfig, retry_after
from reelcore.engine import Call
from reelcore.errors import (
    InvalidRequest,
    ProviderError,
    ProviderKeyRejected,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderTimeout,
)
from tests.vendor_server import Answer, Request, VendorServer

KEY = "sk_layer_test_0123456789abcdef"


class JobServer(VendorServer):
    """A vendor with the usual shape: create a job, poll it, delete (cancel) it."""

    auth_header = "authorization"
    auth_prefix = "Bearer "
    routes = [("GET", r"/ping", "ping"), ("POST", r"/jobs", "create"),
              ("GET", r"/jobs/([^/]+)", "get"), ("DELETE", r"/jobs/([^/]+)", "delete")]

    def statuses(self, kind: str) -> list[str]:
        return ["QUEUED", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"]

    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"code": f"e{status}", "message": message}}

    def ping(self, request: Request, _: re.Match) -> Answer:
        return 200, {"ok": True}

    def create(self, request: Request, _: re.Match) -> Answer:
        return 200, {"id": self.new_job("job").id}

    def get(self, request: Request, match: re.Match) -> Answer:
        job = self.poll(match[1])
        return 200, {"id": job.id, "status": "CANCELLED" if job.canceled else job.status,
                     "progress": job.polls / 5}

    def delete(self, request: Request, match: re.Match) -> Answer:
        self.jobs[match[1]].canceled = True
        return 204, b""


@pytest.fixture
def server() -> Iterator[JobServer]:
    server = JobServer(KEY)
    yield server
    server.close()


def vendor(server: JobServer, **config) -> Vendor:
    settings = {"base_url": server.url(""), "poll_interval_s": 0.05, "backoff_s": 0.05, **config}
    return Vendor("Acme", VendorConfig(**settings), auth=lambda key: {"Authorization": f"Bearer {key}"},
                  key_name="runway")


def read(answer: dict) -> State:
    phase = {"SUCCEEDED": "done", "FAILED": "failed", "CANCELLED": "failed"}.get(answer["status"], "running")
    return State(phase, progress=answer.get("progress"))


def test_a_429_is_retried_after_the_wait_retry_after_asks(server) -> None:
    server.fail(429, retry_after=0.6, message="slow down")
    began = time.monotonic()
    with vendor(server).session(KEY) as http:
        assert http.json("GET", "/ping") == {"ok": True}
    assert time.monotonic() - began >= 0.6, "it waited the vendor's Retry-After, not its own backoff"
    assert [r.path for r in server.requests] == ["/ping", "/ping"]
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_retry_after_may_be_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 1.5, usegmt=True)
    assert 0 < retry_after(httpx.Response(429, headers={"Retry-After": when})) <= 1.5
    assert retry_after(httpx.Response(429, headers={"Retry-After": "2"})) == 2
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None


def test_5xx_is_retried_with_backoff_then_succeeds(server) -> None:
    server.fail(500, times=2)
    with vendor(server).session(KEY) as http:
        assert http.json("GET", "/ping") == {"ok": True}
    assert len(server.requests) == 3


def test_429_after_every_retry_is_rate_limited_with_the_vendors_words(server) -> None:
    server.fail(429, times=10, retry_after=0, message="Too many concurrent tasks")
    with vendor(server, max_retries=2).session(KEY) as http, pytest.raises(ProviderRateLimited) as caught:
        http.json("GET", "/ping")
    assert len(server.requests) == 3
    assert caught.value.code == "provider_rate_limited"
    assert caught.value.details == {"provider": "runway", "vendor_status": 429, "vendor_code": "e429",
                                    "vendor_message": "Too many concurrent tasks"}


@pytest.mark.parametrize(("status", "error", "code"), [
    (401, ProviderKeyRejected, "provider_key_rejected"),
    (403, ProviderKeyRejected, "provider_key_rejected"),
    (402, ProviderQuotaExceeded, "provider_quota_exceeded"),
    (404, InvalidRequest, "invalid_request"),
    (422, InvalidRequest, "invalid_request"),
    (500, ProviderError, "provider_error"),
])
def test_vendor_answers_map_to_stable_codes_keeping_the_vendors_message(server, status, error, code) -> None:
    server.fail(status, times=10, message=f"vendor says {status}; your key {KEY} is bad")
    with vendor(server, max_retries=1).session(KEY) as http, pytest.raises(error) as caught:
        http.json("GET", "/ping")
    assert caught.value.code == code
    assert caught.value.details["vendor_status"] == status
    assert caught.value.details["vendor_message"].startswith(f"vendor says {status}")
    assert f"vendor says {status}" in caught.value.message, "the vendor's words reach the job's message"
    assert KEY not in str(caught.value.to_dict()), "a key the vendor echoes is scrubbed"
    if status in (401, 403):
        assert "PUT /v1/account/provider-keys/runway" in caught.value.message


def test_a_wrong_key_is_refused_by_the_vendor_and_said_so(server) -> None:
    with vendor(server).session("sk_wrong_9876543210") as http, pytest.raises(ProviderKeyRejected):
        http.json("GET", "/ping")


def test_polling_reports_the_vendors_progress_and_returns_the_final_answer(server) -> None:
    reports: list[float] = []
    with vendor(server).session(KEY) as http:
        job = http.json("POST", "/jobs")
        done = http.poll(lambda: http.json("GET", f"/jobs/{job['id']}"), read,
                         Call(reports.append, Path(".")), span=(0.1, 0.9))
    assert done["status"] == "SUCCEEDED"
    assert reports == sorted(reports) and 0.1 < reports[0] < reports[-1] <= 0.9


def test_an_abandoned_call_cancels_the_vendors_job(server) -> None:
    def report(_: float) -> None:
        raise ProviderError("the call was abandoned")

    with vendor(server).session(KEY) as http, pytest.raises(ProviderError, match="abandoned"):
        job = http.json("POST", "/jobs")
        http.poll(lambda: http.json("GET", f"/jobs/{job['id']}"), read, Call(report, Path(".")),
                  cancel=lambda: http.request("DELETE", f"/jobs/{job['id']}"))
    assert server.requests[-1].method == "DELETE" and server.requests[-1].path == f"/jobs/{job['id']}"
    assert server.jobs[job["id"]].canceled


def test_the_total_deadline_ends_in_provider_timeout_and_cancels_upstream(server) -> None:
    server.statuses = lambda kind: ["RUNNING"]  # never finishes
    began = time.monotonic()
    with vendor(server, deadline_s=0.6).session(KEY) as http, pytest.raises(ProviderTimeout) as caught:
        job = http.json("POST", "/jobs")
        http.poll(lambda: http.json("GET", f"/jobs/{job['id']}"), read, Call(lambda _: None, Path(".")),
                  cancel=lambda: http.request("DELETE", f"/jobs/{job['id']}"))
    assert time.monotonic() - began < 30, "the deadline ended the call, not the test"
    assert caught.value.code == "provider_timeout" and "0.6 s" in caught.value.message
    assert server.jobs[job["id"]].canceled, "the vendor was told to stop"


def test_a_retry_after_past_the_deadline_is_a_timeout_at_once(server) -> None:
    server.fail(429, retry_after=30)
    began = time.monotonic()
    with vendor(server, deadline_s=2).session(KEY) as http, pytest.raises(ProviderTimeout, match="30 s"):
        http.json("GET", "/ping")
    assert time.monotonic() - began < 1


def test_a_failed_vendor_job_is_a_provider_error_with_its_reason(server) -> None:
    server.statuses = lambda kind: ["RUNNING", "FAILED"]
    with vendor(server).session(KEY) as http, pytest.raises(ProviderError, match="content moderation"):
        job = http.json("POST", "/jobs")
        http.poll(lambda: http.json("GET", f"/jobs/{job['id']}"),
                  lambda a: State("failed", message="content moderation") if a["status"] == "FAILED"
                  else read(a), Call(lambda _: None, Path(".")))


def test_outputs_are_downloaded_and_an_expired_link_says_so(server, tmp_path: Path) -> None:
    (server.files / "clip.bin").write_bytes(b"video bytes")
    with vendor(server).session(KEY) as http:
        saved = http.download(server.publish(server.files / "clip.bin"), tmp_path / "a")
        assert saved.read_bytes() == b"video bytes"
        server.output_ttl_s = -1
        with pytest.raises(ProviderError, match=r"403 .*expired"):
            http.download(server.publish(server.files / "clip.bin"), tmp_path / "b")

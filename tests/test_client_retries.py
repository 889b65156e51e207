"""The SDK retries "not now" answers and dropped connections, with one Idempotency-Key for all
attempts of a submission (so a retry never makes two jobs)."""

from __future__ import annotations

import httpx
import pytest

from reelcore.errors import ServiceUnavailable
from reelserve import Client

JOB = {"id": "vj_1", "type": "analyze", "status": "pending", "provider": "reelserve",
       "created_at": "2026-12-03T00:00:00Z", "owner_id": "o", "input": {}}


def client_answering(*answers: httpx.Response | Exception) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    replies = iter(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = next(replies)
        if isinstance(reply, Exception):
            raise reply
        return reply

    client = Client("http://api.test", "key", transport=httpx.MockTransport(handle), backoff_seconds=0.01)
    return client, seen


def busy(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, headers={"Retry-After": "0"},
                          json={"error": {"code": code, "message": "not now"}})


def test_a_submission_is_retried_with_the_same_idempotency_key() -> None:
    client, seen = client_answering(
        busy(503, "service_unavailable"), httpx.ConnectError("reset"), busy(429, "rate_limited"),
        httpx.Response(202, json=JOB))
    job = client.analyze("https://example.com/v.mp4", ["transcribe"])
    assert job.id == "vj_1" and len(seen) == 4
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(keys) == 1 and keys.pop().startswith("sdk-")


def test_a_given_idempotency_key_is_kept() -> None:
    client, seen = client_answering(busy(503, "service_unavailable"), httpx.Response(202, json=JOB))
    client.analyze("https://example.com/v.mp4", ["transcribe"], idempotency_key="mine")
    assert [r.headers["Idempotency-Key"] for r in seen] == ["mine", "mine"]


def test_it_gives_up_after_max_retries_with_the_error_class() -> None:
    client, seen = client_answering(*[busy(503, "service_unavailable")] * 6)
    with pytest.raises(ServiceUnavailable):
        client.get_job("vj_1")
    assert len(seen) == 6


def test_a_refusal_that_is_not_transient_is_not_retried() -> None:
    client, seen = client_answering(
        httpx.Response(409, json={"error": {"code": "provider_unavailable", "message": "no"}}))
    with pytest.raises(Exception, match="no"):
        client.analyze("https://example.com/v.mp4", ["transcribe"])
    assert len(seen) == 1


def test_events_reopen_a_stream_closed_before_the_job_ended() -> None:
    """Serve's proxy ends a request after `request_timeout_s`: the SDK follows on."""
    def event(status: str) -> str:
        return f'data: {{"event": "job.updated", "job": {__import__("json").dumps({**JOB, "status": status})}}}\n\n'

    client, seen = client_answering(
        httpx.Response(200, text=event("processing")),  # closed by the proxy mid-job
        httpx.ConnectError("the proxy restarted"),
        httpx.Response(200, text=event("processing") + event("completed")))
    statuses = [job.status.value for job in client.events("vj_1")]
    assert statuses == ["processing", "processing", "completed"] and len(seen) == 3

"""Completion webhooks: Standard Webhooks signatures, retries with backoff, attempts recorded."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import pytest
from standardwebhooks import Webhook

from reelcore.errors import InvalidSignature
from reelserve import verify_webhook
from tests.conftest import Owner
from tests.servers import WebhookReceiver


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


def submit(owner: Owner, video_url: str, webhook_url: str) -> str:
    response = owner.api.post("/v1/video/analyze", json={
        "video_url": video_url, "tasks": ["transcribe"], "webhook_url": webhook_url})
    assert response.status_code == 202
    return response.json()["id"]


def wait_delivered(owner: Owner, job_id: str, attempts: int) -> dict:
    import time

    deadline = time.monotonic() + 30
    while True:
        job = owner.api.get(f"/v1/video/{job_id}").json()
        if len(job["webhook"]["attempts"]) >= attempts:
            return job
        assert time.monotonic() < deadline, job["webhook"]
        time.sleep(0.2)


def test_completion_webhook_is_signed_with_the_owners_secret(
    alice: Owner, media_host, receiver: WebhookReceiver
) -> None:
    job_id = submit(alice, media_host.url("/sentence.mp4"), receiver.url("/hook"))
    [(headers, body, status)] = receiver.wait_for(1)
    assert status == 204

    # The standardwebhooks library itself accepts it with alice's secret...
    event = Webhook(alice.webhook_secret).verify(body, headers)
    assert event["type"] == "video.job.completed"
    assert event["data"]["id"] == job_id and event["data"]["status"] == "completed"
    assert "weekly" in event["data"]["result"]["transcript"]["text"].lower()
    assert headers["webhook-id"] == f"msg_{job_id}_completed"
    assert abs(int(headers["webhook-timestamp"]) - datetime.now().timestamp()) < 60
    # ...so does the SDK's verifier; the secret is the one /v1/account shows.
    assert verify_webhook(body, headers, alice.webhook_secret)["data"]["id"] == job_id
    assert alice.api.get("/v1/account").json()["webhook_secret"] == alice.webhook_secret

    job = wait_delivered(alice, job_id, 1)
    assert job["webhook"]["delivered"] is True
    assert job["webhook"]["attempts"][0]["status_code"] == 204


def test_tampered_or_foreign_webhooks_are_rejected(
    alice: Owner, bob: Owner, media_host, receiver: WebhookReceiver
) -> None:
    submit(alice, media_host.url("/missing-hook.mp4"), receiver.url("/hook"))
    [(headers, body, _)] = receiver.wait_for(1)
    assert json.loads(body)["type"] == "video.job.failed"
    with pytest.raises(InvalidSignature):
        verify_webhook(body.replace(b"failed", b"completed"), headers, alice.webhook_secret)
    with pytest.raises(InvalidSignature):
        verify_webhook(body, headers, bob.webhook_secret)
    stale = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 3600)}
    with pytest.raises(InvalidSignature):
        verify_webhook(body, stale, alice.webhook_secret)


def test_failing_receiver_is_retried_with_backoff_and_every_attempt_recorded(
    alice: Owner, media_host
) -> None:
    receiver = WebhookReceiver(fail_first=2)
    try:
        job_id = submit(alice, media_host.url("/missing-retry.mp4"), receiver.url("/hook"))
        deliveries = receiver.wait_for(3)
        assert [status for *_, status in deliveries] == [503, 503, 204]
        assert len({h["webhook-id"] for h, *_ in deliveries}) == 1, "one id for all retries"
        job = wait_delivered(alice, job_id, 3)
    finally:
        receiver.close()
    attempts = job["webhook"]["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["status_code"] for a in attempts] == [503, 503, 204]
    assert attempts[0]["error"] == "receiver answered HTTP 503" and attempts[2]["error"] is None
    gaps = [(datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"])).total_seconds()
            for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, f"backoff doubles: {gaps}"
    assert job["webhook"]["delivered"] is True


def test_unreachable_receiver_gives_up_after_the_configured_attempts(alice: Owner, media_host) -> None:
    job_id = submit(alice, media_host.url("/missing-dead.mp4"), "http://127.0.0.1:9/hook")
    job = wait_delivered(alice, job_id, 4)
    assert job["webhook"]["delivered"] is False
    assert all(a["status_code"] is None and a["error"] for a in job["webhook"]["attempts"])


def test_webhooks_to_private_addresses_are_refused(alice: Owner, media_host) -> None:
    job_id = submit(alice, media_host.url("/missing-ssrf.mp4"), "http://localhost:9/hook")
    attempt = wait_delivered(alice, job_id, 1)["webhook"]["attempts"][0]
    assert attempt["status_code"] is None and "non-public" in attempt["error"]

"""Signed webhook delivery with retries, every attempt recorded on the job.

Deliveries are queued on a Redis Stream by the job transition that ends a job. A sender in each
dispatcher replica consumes it in a consumer group; a delivery whose sender died stays pending
and is reclaimed like a job. Signing follows Standard Webhooks via the `standardwebhooks` library.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

from standardwebhooks import Webhook

from reelcore.errors import ReelserveError
from reelcore.schemas import WebhookAttempt
from reelcore.settings import Settings
from reelcore.storage import Storage
from serve_app.auth import Accounts
from serve_app.clock import utcnow
from serve_app.fetch import post_json
from serve_app.jobs import JobRecord, JobStore
from serve_app.results import present


def event_body(job: JobRecord, at: datetime, storage: Storage) -> str:
    return json.dumps(
        {
            "type": f"video.job.{job.status.value}",
            "timestamp": at.isoformat(),
            "data": present(job.public(), storage).model_dump(mode="json"),
        }
    )


def signed_headers(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


class WebhookSender:
    def __init__(self, jobs: JobStore, accounts: Accounts, storage: Storage,
                 settings: Settings) -> None:
        self.jobs = jobs
        self.accounts = accounts
        self.storage = storage
        self.settings = settings

    async def deliver(self, job_id: str) -> None:
        """Try until the receiver answers 2xx or attempts run out; the id stays the same."""
        job = await self.jobs.record(job_id)
        if job.webhook is None or job.webhook.delivered:
            return
        secret = await self.accounts.webhook_secret(job.owner_id)
        msg_id = f"msg_{job.id}_{job.status.value}"
        done = len(job.webhook.attempts)
        for number in range(done + 1, self.settings.webhook_max_attempts + 1):
            if number > 1:
                await asyncio.sleep(self.settings.webhook_backoff_seconds * 2 ** (number - 2))
            at = utcnow()
            body = event_body(job, at, self.storage)
            started = time.perf_counter()
            status_code, error = None, None
            try:
                status_code = await post_json(
                    job.webhook.url, body, signed_headers(secret, msg_id, at, body), self.settings
                )
                if not 200 <= status_code < 300:
                    error = f"receiver answered HTTP {status_code}"
            except ReelserveError as exc:
                error = exc.message
            except Exception as exc:  # noqa: BLE001 - any transport failure is one failed attempt
                error = f"{type(exc).__name__}: {exc}"[:300]
            attempt = WebhookAttempt(
                attempt=number, at=at, status_code=status_code, error=error,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            await self.jobs.record_webhook_attempt(job.id, attempt, delivered=error is None)
            if error is None:
                return

"""Back-pressure and fairness in the core, against a real Redis without Serve: bounded queues,
a per-owner rate, and one owner's backlog never holding up another owner's job."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from pydantic import BaseModel

from reelcore.errors import QueueFull, RateLimited
from reelcore.schemas import JobType
from reelcore.settings import Settings
from serve_app.admission import Admission
from serve_app.connections import connect
from serve_app.fair_queue import FairQueueWorker
from serve_app.jobs import JobStore
from serve_app.keys import QUEUE_GROUP, Keys


class Body(BaseModel):
    video_url: str = "https://example.com/v.mp4"
    n: int = 0


def run(redis_url: str, prefix: str, test: Any) -> None:
    async def go() -> None:
        redis = connect(redis_url)
        try:
            await test(redis, Keys(prefix), JobStore(redis, Keys(prefix), 3600))
        finally:
            await redis.aclose()

    asyncio.run(go())


def test_an_owners_unfinished_jobs_are_bounded_even_when_submitted_at_once(redis_url: str) -> None:
    async def test(redis: Any, keys: Keys, store: JobStore) -> None:
        async def submit(n: int) -> str:
            try:
                job, _ = await store.create(owner_id="a", job_type=JobType.analyze, provider="p",
                                            request=Body(n=n), max_active=5)
                return job.id
            except QueueFull as exc:
                assert exc.status == 429 and exc.headers() == {"Retry-After": "5"}
                return "full"

        found = await asyncio.gather(*(submit(n) for n in range(20)))
        created = [f for f in found if f != "full"]
        assert len(created) == 5, "exactly the bound, never more"
        job = await store.start(created[0])
        await store.complete(job.id, {})
        assert await submit(99) != "full", "a finished job frees its place"
        with pytest.raises(QueueFull, match="the service's queue"):
            await store.create(owner_id="b", job_type=JobType.analyze, provider="p", request=Body(),
                               max_queued=5)

    run(redis_url, "bounds", test)


def test_submissions_past_the_rate_get_429_with_when_to_retry(redis_url: str) -> None:
    async def test(redis: Any, keys: Keys, store: JobStore) -> None:
        admission = Admission(redis, keys, Settings())
        limits = await admission.set_limits("a", submissions_per_minute=3)
        assert limits.submissions_per_minute == 3
        assert (await admission.limits("b")).submissions_per_minute == Settings().submissions_per_minute
        windows = [await admission.take_submission("a", limits) for _ in range(3)]
        assert [w.remaining for w in windows] == [2, 1, 0]
        assert windows[0].headers()["RateLimit-Policy"] == "3;w=60"
        with pytest.raises(RateLimited) as refused:
            await admission.take_submission("a", limits)
        assert 1 <= int(refused.value.headers()["Retry-After"]) <= 60

    run(redis_url, "rate", test)


def test_another_owners_job_starts_at_once_behind_a_backlog(redis_url: str) -> None:
    async def test(redis: Any, keys: Keys, store: JobStore) -> None:
        for n in range(300):
            await store.create(owner_id="backlog", job_type=JobType.analyze, provider="p", request=Body(n=n))
        late, _ = await store.create(owner_id="someone-else", job_type=JobType.analyze, provider="p",
                                     request=Body())
        submitted = time.monotonic()
        started: dict[str, float] = {}
        running: Counter[str] = Counter()
        most: Counter[str] = Counter()

        async def handle(fields: dict[str, str]) -> None:
            job = await store.record(fields["job_id"])
            started[job.id] = time.monotonic()
            running[job.owner_id] += 1
            most[job.owner_id] = max(most[job.owner_id], running[job.owner_id])
            await asyncio.sleep(0.2)  # every backlog job takes a while
            running[job.owner_id] -= 1

        async def cap(owner: str) -> int:
            return 3

        worker = FairQueueWorker(redis, keys, QUEUE_GROUP, "c1", handle, lease_seconds=30,
                                 concurrency=8, running_cap=cap)
        task = asyncio.create_task(worker.run())
        for _ in range(100):
            if late.id in started:
                break
            await asyncio.sleep(0.1)
        task.cancel()
        assert late.id in started and started[late.id] - submitted < 5
        assert most["backlog"] <= 3, "an owner never runs more than their cap at once"

    run(redis_url, "fair", test)


def test_the_api_answers_429_with_retry_after_and_ratelimit_headers(make_owner, service, media_host) -> None:
    """Through the real service: limits set as `reelserve-admin limits set` does."""
    import subprocess
    import sys
    from pathlib import Path

    owner = make_owner("rate-limited")
    admin = Path(sys.executable).parent / "reelserve-admin"
    shown = subprocess.run([str(admin), "limits", "set", "--owner", "rate-limited",
                            "--submissions-per-minute", "2"], capture_output=True, text=True,
                           env={**__import__("os").environ, "REELSERVE_REDIS_URL": service.redis_url})
    assert shown.returncode == 0 and '"submissions_per_minute": 2' in shown.stdout, shown.stderr
    body = {"video_url": media_host.url("/sentence.mp4"), "tasks": ["transcribe"]}
    answers = [owner.api.post("/v1/video/analyze", json=body) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[0].headers["RateLimit-Limit"] == "2" and answers[1].headers["RateLimit-Remaining"] == "0"
    refused = answers[2]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 and refused.headers["RateLimit-Remaining"] == "0"
    again = owner.api.post("/v1/video/analyze", json=body, headers={"Idempotency-Key": "x"})
    assert again.status_code == 429, "a new submission past the rate is refused, never queued"

"""The job record at scale: progress rewrites two fields, throttled; checkpoints live apart and
go when the job ends. Against a real Redis, without Serve."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from reelcore.errors import Canceled
from reelcore.schemas import JobStatus, JobType
from serve_app.connections import connect
from serve_app.jobs import JobStore
from serve_app.keys import Keys
from serve_app.running_job import RunningJob

KEYS = Keys("record-test")
BIG = {"segments": [{"text": "word " * 40, "start": i, "end": i + 1} for i in range(2000)]}
"""About 450 KB: the checkpoints of a long dub."""


class Body(BaseModel):
    video_url: str = "https://example.com/v.mp4"


def scenario(redis_url: str, test: Callable[[JobStore, Any], Awaitable[None]]) -> None:
    async def run() -> None:
        redis = connect(redis_url)
        store = JobStore(redis, KEYS, finished_ttl_seconds=3600)
        job, _ = await store.create(owner_id="o", job_type=JobType.analyze, provider="reelserve",
                                    request=Body())
        try:
            await test(store, await store.start(job.id))
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_a_progress_report_rewrites_only_progress_and_stage(redis_url: str) -> None:
    async def test(store: JobStore, job: Any) -> None:
        await store.checkpoint(job.id, "transcribe", BIG)
        record = await store.redis.hget(KEYS.job(job.id), "record")
        pubsub = store.redis.pubsub()
        await pubsub.subscribe(KEYS.events(job.id))
        assert await store.progress(job, 0.25, "transcribe") == JobStatus.processing
        assert await store.redis.hget(KEYS.job(job.id), "record") == record, "the record is untouched"
        assert len(record) < 2000, "checkpoints are not in the job"
        stored = await store.record(job.id)
        assert (stored.progress, stored.stage) == (0.25, "transcribe")
        event = None
        while event is None or event["type"] != "message":
            event = await pubsub.get_message(timeout=2)
        assert '"progress":0.25' in event["data"] and '"stage":"transcribe"' in event["data"]
        await pubsub.aclose()

    scenario(redis_url, test)


def test_progress_never_goes_back_and_stops_once_the_job_is_canceled(redis_url: str) -> None:
    async def test(store: JobStore, job: Any) -> None:
        await store.progress(job, 0.5, "a")
        await store.progress(job, 0.3, "b")
        assert (await store.record(job.id)).progress == 0.5
        await store.cancel(job.id, "o")
        assert await store.progress(job, 0.9, "c") == JobStatus.canceled
        stored = await store.record(job.id)
        assert stored.status == JobStatus.canceled and stored.progress < 0.9

    scenario(redis_url, test)


def test_a_finished_job_drops_its_checkpoints(redis_url: str) -> None:
    async def test(store: JobStore, job: Any) -> None:
        await store.checkpoint(job.id, "transcribe", BIG)
        assert (await store.checkpoints(job.id))["transcribe"] == BIG
        await store.complete(job.id, {"ok": True})
        assert not await store.redis.exists(KEYS.checkpoints(job.id))
        assert await store.checkpoints(job.id) == {}

    scenario(redis_url, test)


def test_reports_are_throttled_and_the_last_one_always_lands(redis_url: str) -> None:
    async def test(store: JobStore, job: Any) -> None:
        written = []
        real = store.progress

        async def counted(*args: Any) -> JobStatus:
            written.append(args[1:])
            return await real(*args)

        store.progress = counted  # type: ignore[method-assign]
        ctx = RunningJob(store, None, job, {}, writes_per_second=4)  # type: ignore[arg-type]
        for i in range(1, 201):  # 200 reports in about 0.4 s
            await ctx.progress(i / 1000, "lipsync")
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.4)
        assert 2 <= len(written) <= 5, written
        assert written[-1] == (0.2, "lipsync")
        assert (await store.record(job.id)).progress == 0.2

    scenario(redis_url, test)


def test_cancellation_is_noticed_at_the_next_write(redis_url: str) -> None:
    async def test(store: JobStore, job: Any) -> None:
        ctx = RunningJob(store, None, job, {}, writes_per_second=50)  # type: ignore[arg-type]
        await ctx.progress(0.1, "a")
        await store.cancel(job.id, "o")
        await asyncio.sleep(0.05)
        try:
            await ctx.progress(0.2, "a")
        except Canceled:
            return
        raise AssertionError("the canceled job went on")

    scenario(redis_url, test)


def test_a_progress_write_redis_refuses_is_skipped_not_fatal(redis_url: str) -> None:
    async def test(store: JobStore, job: Any) -> None:
        down = JobStore(connect("redis://127.0.0.1:1/0"), KEYS, 3600)
        ctx = RunningJob(down, None, job, {}, writes_per_second=4)  # type: ignore[arg-type]
        await ctx.progress(0.5, "a")  # no exception: the job goes on
        assert ctx.status == JobStatus.processing
        await down.redis.aclose()

    scenario(redis_url, test)

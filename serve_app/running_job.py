"""The JobContext a graph reports to while one attempt of one job runs.

Progress is written at most `writes_per_second` times a second per job, and the last report is
always written (a moment later, if it came too soon after the one before). A progress write that
fails because Redis is briefly away is skipped, not fatal: the next report, or the job's end,
writes again. Cancellation is noticed at the next write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.exceptions import RedisError

from reelcore.errors import Canceled, WorkerLost
from reelcore.schemas import JobStatus
from reelcore.storage import owner_key
from serve_app.jobs import JobRecord, JobStore
from serve_app.provider_keys import ProviderKeys

log = logging.getLogger("ray.serve")


class RunningJob:
    def __init__(self, jobs: JobStore, provider_keys: ProviderKeys, job: JobRecord,
                 checkpoints: dict[str, Any], writes_per_second: float) -> None:
        self.jobs = jobs
        self.provider_keys = provider_keys
        self.job = job
        self.checkpoints = checkpoints
        self.interval = 1 / writes_per_second
        self.status = job.status
        self.pending: tuple[float, str] | None = None
        self.written_at = -float("inf")
        self.flusher: asyncio.Task[None] | None = None
        self.writing = asyncio.Lock()

    async def checkpoint(self, stage: str, output: Any) -> None:
        self.checkpoints[stage] = output
        await self.jobs.checkpoint(self.job.id, stage, output)

    async def provider_key(self, provider: str) -> str:
        return await self.provider_keys.get(self.job.owner_id, provider)

    def output_prefix(self, stage: str) -> str:
        return owner_key(self.job.owner_id, "jobs", self.job.id, stage)

    async def progress(self, fraction: float, stage: str) -> None:
        """Report progress; raises `Canceled` (or `WorkerLost`) once a write finds the job is no
        longer this runner's."""
        self.pending = (fraction, stage)
        wait = self.written_at + self.interval - time.monotonic()
        if wait <= 0:
            await self._write()
        elif self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._write_after(wait))
        if self.status == JobStatus.canceled:
            raise Canceled("the job was canceled")
        if self.status != JobStatus.processing:
            raise WorkerLost(f"the job is {self.status.value} and no longer this runner's")

    def close(self) -> None:
        """The attempt ended: a report still waiting is not written (the job's end is)."""
        if self.flusher is not None:
            self.flusher.cancel()

    async def _write_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._write()

    async def _write(self) -> None:
        async with self.writing:
            if self.pending is None:
                return
            (fraction, stage), self.pending = self.pending, None
            self.written_at = time.monotonic()
            try:
                self.status = await self.jobs.progress(self.job, fraction, stage)
            except RedisError as exc:
                log.warning("job %s: progress not written (%s); the next report retries",
                            self.job.id, type(exc).__name__)

"""The dispatcher's own overhead per job: how many jobs a second one replica moves through the
fair queue when the jobs themselves end at once.

N jobs from several owners are created with `JobStore.create` on a private redis-server; one
`FairQueueWorker` (the dispatcher's queue consumer) takes them with the dispatcher's concurrency
and per-owner cap, and its handler does what the dispatcher does for a job whose graph returns
at once: read the record, mark it processing, complete it. Jobs per second is N over the time
from the first read to the last completion.

    PYTHONPATH=. .venv/bin/python bench/dispatch.py --jobs 2000 --owners 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from pydantic import BaseModel

from bench.private_redis import private_redis
from reelcore.schemas import JobType
from reelcore.settings import Settings
from serve_app.connections import connect
from serve_app.fair_queue import FairQueueWorker
from serve_app.jobs import JobStore
from serve_app.keys import QUEUE_GROUP, Keys


class Body(BaseModel):
    video_url: str = "https://example.com/v.mp4"
    n: int = 0


async def measure(url: str, jobs: int, owners: int) -> dict[str, float]:
    settings = Settings()
    redis = connect(url)
    keys = Keys("bench-dispatch")
    store = JobStore(redis, keys, 3600)
    for n in range(jobs):
        await store.create(owner_id=f"owner{n % owners}", job_type=JobType.analyze, provider="p",
                           request=Body(n=n))
    done = asyncio.Event()
    finished = 0

    async def handle(fields: dict[str, str]) -> None:
        nonlocal finished
        await store.record(fields["job_id"])
        await store.start(fields["job_id"])
        await store.complete(fields["job_id"], {"ok": True})
        finished += 1
        if finished == jobs:
            done.set()

    async def cap(_: str) -> int:
        return settings.max_running_jobs_per_owner

    worker = FairQueueWorker(redis, keys, QUEUE_GROUP, "bench", handle, settings.job_lease_seconds,
                             settings.runner_concurrency, cap)
    started = time.perf_counter()
    task = asyncio.create_task(worker.run())
    await done.wait()
    took = time.perf_counter() - started
    task.cancel()
    await redis.aclose()
    return {"jobs": jobs, "owners": owners, "seconds": took, "jobs_per_second": jobs / took,
            "concurrency": settings.runner_concurrency, "per_owner_cap": settings.max_running_jobs_per_owner}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--owners", type=int, default=10)
    args = parser.parse_args()
    with private_redis() as url:
        figures = asyncio.run(measure(url, args.jobs, args.owners))
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()

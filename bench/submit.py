"""Job submission throughput and latency: the Serve ingress against a bare FastAPI app.

Both targets answer POST /v1/video/analyze with 202 and a VideoJob, after the same Redis work:
an HGET of the caller's API key (`Accounts.owner_of`, against the service's own key prefix) and
`JobStore.create` (one Lua script: bounds, HSET, ZADD, XADD, HINCRBY). The Serve path adds the HTTP proxy
actor, the hop to the Ingress replica, and `ProviderRegistry.choose` (engine status, cached
for 10 s). The bare app runs in one uvicorn process on another loopback port and writes under
the key prefix `bench-bare`, whose keys it deletes afterwards; nothing consumes its queue.

Jobs sent to Serve are real: the dispatcher runs them while the measurement goes on, and they
fail fast with input_unreachable (media.example.com cannot be reached offline); they stay in
Redis under the caller's owner like any failed job. The script waits for the dispatcher's queue
to empty before measuring and after the Serve run (the bare app then runs on a quiet service),
and reports how long that drain took.

    scripts/serve                      # Redis on :6390, Ray, Serve on :8000, a dev API key
    .venv/bin/python bench/submit.py --requests 400 --concurrency 8
    scripts/serve stop
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import httpx
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelcore.schemas import AnalyzeRequest, JobType, VideoJob
from reelcore.settings import get_settings
from serve_app.auth import Accounts
from serve_app.connections import connect
from serve_app.jobs import JobStore
from serve_app.keys import Keys

ROUTE = "/v1/video/analyze"
BODY = {"video_url": "https://media.example.com/x.mp4", "tasks": ["transcribe"]}
BARE_PREFIX = "bench-bare"
ROOT = Path(__file__).resolve().parents[1]


def bare_app() -> FastAPI:
    """The comparison app, built by `uvicorn --factory` in the child process."""
    settings = get_settings()
    redis = connect(settings.redis_url)
    accounts = Accounts(redis, Keys(settings.key_prefix))
    jobs = JobStore(redis, Keys(BARE_PREFIX), settings.job_ttl_seconds)
    app = FastAPI()

    @app.post(ROUTE, status_code=202)
    async def analyze(
        body: AnalyzeRequest, credentials: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())]
    ) -> VideoJob:
        owner = await accounts.owner_of(credentials.credentials)
        job, _ = await jobs.create(
            owner_id=owner, job_type=JobType.analyze, provider="reelserve", request=body
        )
        return job

    return app


async def drive(
    client: httpx.AsyncClient, count: int, concurrency: int, seconds: float
) -> tuple[list[float], Counter[str], float]:
    """POST `count` jobs from `concurrency` workers, stopping early after `seconds`."""
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    todo = iter(range(count))
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        for _ in todo:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                response = await client.post(ROUTE, json=BODY)
                outcomes[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                outcomes[type(exc).__name__] += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, outcomes, time.perf_counter() - started


async def measure(base_url: str, api_key: str, args: argparse.Namespace) -> dict:
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {api_key}"},
        limits=httpx.Limits(max_connections=args.concurrency),
        timeout=30.0,
    ) as client:
        await drive(client, args.warmup, args.concurrency, args.max_seconds)
        latencies, outcomes, elapsed = await drive(
            client, args.requests, args.concurrency, args.max_seconds
        )
    ms = sorted(x * 1000 for x in latencies)
    return {
        "sent": len(ms), "ok": outcomes.pop("202", 0), "other": dict(outcomes),
        "rps": len(ms) / elapsed, "p50": statistics.median(ms),
        "p99": statistics.quantiles(ms, n=100, method="inclusive")[98], "max": ms[-1],
    }


def start_bare(port: int, redis_url: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "submit:bare_app", "--factory",
         "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env={**os.environ, "REELSERVE_REDIS_URL": redis_url},
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).raise_for_status()
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the bare app did not start within 20 s")


async def drop_bare_keys(redis_url: str) -> None:
    redis = connect(redis_url, decode=False)
    keys = [key async for key in redis.scan_iter(f"{BARE_PREFIX}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def drain(redis_url: str, seconds: float) -> tuple[float, int]:
    """Wait, at most `seconds`, for the Serve dispatcher to empty its job queue.

    Returns the seconds waited and the jobs still queued (0 unless it timed out).
    """
    redis = connect(redis_url)
    unfinished = Keys(get_settings().key_prefix).active_jobs
    started = time.monotonic()
    while (left := int(await redis.hget(unfinished, "*") or 0)) and time.monotonic() - started < seconds:
        await asyncio.sleep(0.2)
    await redis.aclose()
    return time.monotonic() - started, left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="measured requests per target")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=40, help="unmeasured requests first")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="stop a phase after this long, whatever was sent")
    parser.add_argument("--drain-seconds", type=float, default=120.0,
                        help="wait at most this long for the dispatcher's queue to empty, "
                             "before measuring and after the Serve run")
    parser.add_argument("--targets", nargs="+", choices=["serve", "bare"],
                        default=["serve", "bare"])
    parser.add_argument("--serve-url", default="http://127.0.0.1:8000")
    parser.add_argument("--bare-port", type=int, default=8011)
    parser.add_argument("--redis-url", default=get_settings().redis_url)
    parser.add_argument("--api-key", help="default: the key in .reelserve/dev_api_key")
    args = parser.parse_args()
    if urlsplit(args.serve_url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("--serve-url must be a loopback address")
    api_key = args.api_key or (ROOT / ".reelserve/dev_api_key").read_text().strip()

    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    asyncio.run(drain(args.redis_url, args.drain_seconds))
    results, drained = {}, None
    for target in args.targets:
        if target == "serve":
            results[target] = asyncio.run(measure(args.serve_url, api_key, args))
            drained = asyncio.run(drain(args.redis_url, args.drain_seconds))
            continue
        process = start_bare(args.bare_port, args.redis_url)
        try:
            bare_url = f"http://127.0.0.1:{args.bare_port}"
            results[target] = asyncio.run(measure(bare_url, api_key, args))
        finally:
            process.terminate()
            process.wait(timeout=10)
            asyncio.run(drop_bare_keys(args.redis_url))

    print(f"POST {ROUTE}, concurrency {args.concurrency}, {args.requests} requests "
          f"(after {args.warmup} warm-up), at most {args.max_seconds:g} s per target")
    print(f"{'target':<8}{'sent':>6}{'202':>6}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'max ms':>8}  other")
    for target, r in results.items():
        print(f"{target:<8}{r['sent']:>6}{r['ok']:>6}{r['rps']:>8.1f}{r['p50']:>8.1f}"
              f"{r['p99']:>8.1f}{r['max']:>8.1f}  {r['other'] or '-'}")
    if drained:
        print(f"after the Serve run the dispatcher needed {drained[0]:.1f} s more to take every "
              f"queued job ({drained[1]} left)")


if __name__ == "__main__":
    main()

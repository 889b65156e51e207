"""Collection search latency: exact cosine search at 1e4 and 1e5 vectors (384-d, MiniLM's size).

    scripts/serve          # Redis on :6390 and the service (for the HTTP part)
    REDIS_URL=redis://127.0.0.1:6390/0 .venv/bin/python bench/search.py --key "$(cat .reelserve/dev_api_key)"

Fills one collection per size for the owner `dev` through `Collections.add`, from synthetic analyze
jobs whose random unit vectors sit in storage as .npy files (the path large embeddings take),
then times `Collections.search` in this process: the first query (the matrix loaded from Redis)
and the median of 50 more (cached). With --key it also times POST /v1/collections/{id}/search
end to end over HTTP, the query embedded by the sentence-embed deployment. The collections are
deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from reelcore.schemas import JobStatus, JobType, VideoJob
from reelcore.settings import get_settings
from reelcore.storage import get_storage
from serve_app.clock import utcnow
from serve_app.collections import Collections
from serve_app.keys import Keys

DIMENSION, PER_JOB, OWNER = 384, 10_000, "dev"


def synthetic_job(i: int, rng: np.random.Generator, storage, work: Path, model: str) -> VideoJob:
    vectors = rng.standard_normal((PER_JOB, DIMENSION)).astype(np.float32)
    path = work / f"bench-{i}.npy"
    np.save(path, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    key = f"owners/{OWNER}/bench/{path.name}"
    storage.put_file(key, path, "application/octet-stream")
    items = [{"start": float(j), "end": j + 1.0, "text": f"moment {j}", "kind": "segment"}
             for j in range(PER_JOB)]
    return VideoJob(id=f"vj_bench{i:04d}", type=JobType.analyze, status=JobStatus.completed,
                    provider="reelserve", progress=1.0, created_at=utcnow(), owner_id=OWNER, input={},
                    result={"embeddings": {"model": model, "dimension": DIMENSION, "items": items,
                                           "file": {"key": key, "media": None}}})


async def measure(sizes: list[int], key: str | None, url: str, model: str) -> None:
    settings = get_settings()
    collections = Collections(settings.redis_url, Keys(settings.key_prefix), get_storage(),
                              settings.collection_cache_vectors)
    rng, work = np.random.default_rng(0), Path(tempfile.mkdtemp(prefix="bench-search-"))
    print(f"{'vectors':>8} {'fill s':>7} {'first query ms':>15} {'cached median ms':>17} "
          f"{'HTTP median ms':>15}")
    for size in sizes:
        collection = await collections.create(OWNER, f"bench {size}")
        started = time.perf_counter()
        for i in range(size // PER_JOB):
            await collections.add(OWNER, collection.id, synthetic_job(i, rng, get_storage(), work, model))
        fill = time.perf_counter() - started
        queries = rng.standard_normal((51, DIMENSION)).astype(np.float32)
        times = []
        for query in queries:
            result = await collections.search(OWNER, collection.id, query, model, 10)
            times.append(result.took_ms)
        http = "-"
        if key:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                spent = []
                for _ in range(20):
                    begun = time.perf_counter()
                    response = client.post(f"/v1/collections/{collection.id}/search",
                                           json={"query": "the train leaves at half past nine", "limit": 10})
                    response.raise_for_status()
                    spent.append(1000 * (time.perf_counter() - begun))
                http = f"{statistics.median(spent):.1f}"
        print(f"{size:8d} {fill:7.2f} {times[0]:15.1f} {statistics.median(times[1:]):17.2f} {http:>15}")
        await collections.delete(OWNER, collection.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", help="the dev API key: also time searches over HTTP")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--model", default="all-MiniLM-L6-v2",
                        help="model name the vectors claim (the HTTP search checks it)")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    asyncio.run(measure([int(s) for s in args.sizes.split(",")], args.key, args.url, args.model))


if __name__ == "__main__":
    main()

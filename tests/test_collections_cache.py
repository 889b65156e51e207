"""Each ingress replica's search cache is bounded: over `cache_vectors`, the least recently
searched collection's matrix is dropped (and reloaded from Redis when searched again)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from reelcore.schemas import JobStatus, JobType, VideoJob
from reelcore.storage import LocalStorage
from serve_app.clock import utcnow
from serve_app.collections import Collections
from serve_app.keys import Keys

OWNER, MODEL = "carol", "test-model"


def analysed(i: int, vectors: np.ndarray) -> VideoJob:
    items = [{"start": float(j), "end": j + 1.0, "text": f"moment {i}.{j}", "kind": "segment",
              "vector": v.tolist()} for j, v in enumerate(vectors)]
    return VideoJob(id=f"vj_cache{i}", type=JobType.analyze, status=JobStatus.completed, provider="reelserve",
                    progress=1.0, created_at=utcnow(), owner_id=OWNER, input={},
                    result={"embeddings": {"model": MODEL, "dimension": vectors.shape[1], "items": items}})


def test_the_least_recently_searched_collection_leaves_the_cache_first(redis_url: str, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, b"secret", "http://files.test", 60)

    async def scenario() -> None:
        collections = Collections(redis_url, Keys("cache-test"), storage, cache_vectors=5)
        rng, ids = np.random.default_rng(0), []
        for i in range(3):  # three collections of 2 vectors: only two fit in 5
            collection = await collections.create(OWNER, f"c{i}")
            await collections.add(OWNER, collection.id, analysed(i, rng.standard_normal((2, 4))))
            ids.append(collection.id)
        query = np.ones(4, np.float32)
        for collection_id in ids[:2]:
            await collections.search(OWNER, collection_id, query, MODEL, 1)
        await collections.search(OWNER, ids[0], query, MODEL, 1)  # c0 is now the most recent
        assert list(collections.cache) == [ids[1], ids[0]]
        found = await collections.search(OWNER, ids[2], query, MODEL, 2)
        assert list(collections.cache) == [ids[0], ids[2]], "c1, least recently searched, was dropped"
        assert found.searched == 2 and {m.text for m in found.data} == {"moment 2.0", "moment 2.1"}
        again = await collections.search(OWNER, ids[1], query, MODEL, 2)
        assert again.searched == 2 and {m.text for m in again.data} == {"moment 1.0", "moment 1.1"}

        big = Collections(redis_url, Keys("cache-test"), storage, cache_vectors=1)
        assert (await big.search(OWNER, ids[0], query, MODEL, 1)).searched == 2
        assert list(big.cache) == [ids[0]], "a collection over the bound is still kept while searched"
        await collections.redis.aclose()
        await big.redis.aclose()

    asyncio.run(scenario())

"""Collections of analysed videos and exact cosine search over their moments (ours).

Each collection keeps, in Redis, its moments (transcript segments and scene descriptions, with
job id and timestamps) and their unit vectors as one float32 string. A search embeds the query
with an engine offering `embed` (the same model the vectors came from), then takes dot
products with every vector: exact, and fast up to about 1e5 vectors per collection on one
core (docs/benchmarks.md). Each ingress replica caches a collection's matrix until its vector
count changes, keeping at most `cache_vectors` vectors over all collections (the least recently
searched are dropped first; one larger collection is still kept while it is searched). Beyond
that scale the vectors belong in a vector index service (e.g. Redis Stack's HNSW or Qdrant)
behind the same `search` call; see docs/collections.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from redis.exceptions import WatchError
from ulid import ULID

from reelcore.errors import InvalidRequest, JobNotIndexable, NotFound
from reelcore.schemas import Collection, JobStatus, JobType, Moment, SearchResult, VideoJob
from reelcore.storage import Storage
from serve_app.clock import utcnow
from serve_app.connections import connect
from serve_app.keys import Keys


@dataclass
class _Matrix:
    count: int
    vectors: np.ndarray
    items: list[dict]


class Collections:
    def __init__(self, redis_url: str, keys: Keys, storage: Storage, cache_vectors: int) -> None:
        self.redis = connect(redis_url, decode=False)  # bytes: the vectors are binary, JSON decodes bytes
        self.keys, self.storage = keys, storage
        self.cache: OrderedDict[str, _Matrix] = OrderedDict()  # least recently searched first
        self.cache_vectors = cache_vectors

    async def create(self, owner_id: str, name: str) -> Collection:
        collection = Collection(id=f"col_{ULID()}", name=name, created_at=utcnow())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.collection(collection.id), self._dump(collection, owner_id))
            pipe.zadd(self.keys.owner_collections(owner_id), {collection.id: 0})
            await pipe.execute()
        return collection

    async def get(self, owner_id: str, collection_id: str) -> Collection:
        raw = await self.redis.get(self.keys.collection(collection_id))
        data = json.loads(raw) if raw else None
        if data is None or data.pop("owner_id") != owner_id:
            raise NotFound(f"collection {collection_id} not found")
        return Collection.model_validate(data)

    async def list(self, owner_id: str) -> list[Collection]:
        ids = await self.redis.zrevrange(self.keys.owner_collections(owner_id), 0, -1)
        return [await self.get(owner_id, i.decode()) for i in ids]

    async def delete(self, owner_id: str, collection_id: str) -> None:
        await self.get(owner_id, collection_id)
        await self.redis.delete(self.keys.collection(collection_id), self.keys.collection_items(collection_id),
                                self.keys.collection_vectors(collection_id))
        await self.redis.zrem(self.keys.owner_collections(owner_id), collection_id)
        self.cache.pop(collection_id, None)

    async def add(self, owner_id: str, collection_id: str, job: VideoJob) -> Collection:
        """Add the moments and vectors of a completed analyze job that ran `embed`."""
        if job.type != JobType.analyze or job.status != JobStatus.completed:
            raise JobNotIndexable(f"job {job.id} is not a completed analyze job")
        embeddings = (job.result or {}).get("embeddings")
        if not embeddings or not embeddings["items"]:
            raise JobNotIndexable(f"job {job.id} has no embeddings: analyze it with the embed task")
        vectors = await self._vectors(embeddings)
        items = [json.dumps({"job_id": job.id, **{k: i[k] for k in ("start", "end", "text", "kind")}})
                 for i in embeddings["items"]]
        key = self.keys.collection(collection_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:  # optimistic: retried when another add changed the collection meanwhile
                try:
                    await pipe.watch(key)
                    collection = await self.get(owner_id, collection_id)
                    if job.id in collection.videos:
                        return collection
                    if collection.model not in (None, embeddings["model"]):
                        raise JobNotIndexable(f"collection {collection_id} holds {collection.model} "
                                              f"vectors; job {job.id} has {embeddings['model']}")
                    collection.videos.append(job.id)
                    collection.vectors += len(vectors)
                    collection.model, collection.dimension = embeddings["model"], embeddings["dimension"]
                    pipe.multi()
                    pipe.set(key, self._dump(collection, owner_id))
                    pipe.rpush(self.keys.collection_items(collection_id), *items)
                    pipe.append(self.keys.collection_vectors(collection_id), vectors.tobytes())
                    await pipe.execute()
                    return collection
                except WatchError:
                    continue

    async def search(self, owner_id: str, collection_id: str, query: np.ndarray, model: str,
                     limit: int) -> SearchResult:
        started = time.perf_counter()
        collection = await self.get(owner_id, collection_id)
        if collection.model not in (None, model):
            raise InvalidRequest(f"collection {collection_id} holds {collection.model} vectors, "
                                 f"the query was embedded with {model}")
        matrix = await self._matrix(collection)
        if not matrix.count:
            return SearchResult(data=[], searched=0, took_ms=0.0)
        top, scores = await asyncio.to_thread(_nearest, matrix.vectors, query, limit)
        moments = [Moment(**matrix.items[i], score=round(float(score), 4))
                   for i, score in zip(top, scores, strict=True)]
        return SearchResult(data=moments, searched=matrix.count,
                            took_ms=round(1000 * (time.perf_counter() - started), 2))

    async def _vectors(self, embeddings: dict) -> np.ndarray:
        """The job's unit vectors as float32 rows: inline in the result, or from its .npy file."""
        if embeddings["items"] and "vector" in embeddings["items"][0]:
            vectors = np.array([i["vector"] for i in embeddings["items"]], dtype=np.float32)
        else:
            vectors = await asyncio.to_thread(self._load_file, embeddings["file"]["key"])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))

    async def _matrix(self, collection: Collection) -> _Matrix:
        """The collection's vectors and moments, cached until its vector count changes."""
        cached = self.cache.get(collection.id)
        if cached is None or cached.count != collection.vectors:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(self.keys.collection_vectors(collection.id))
                pipe.lrange(self.keys.collection_items(collection.id), 0, -1)
                blob, items = await pipe.execute()
            vectors = np.frombuffer(blob or b"", dtype=np.float32).reshape(-1, collection.dimension or 1)
            # Decoding 1e5 moments takes seconds: off the ingress's event loop.
            moments = await asyncio.to_thread(lambda: [json.loads(i) for i in items])
            cached = _Matrix(len(vectors), vectors, moments)
            self.cache[collection.id] = cached
        self.cache.move_to_end(collection.id)
        while len(self.cache) > 1 and sum(m.count for m in self.cache.values()) > self.cache_vectors:
            self.cache.popitem(last=False)
        return cached

    def _load_file(self, key: str) -> np.ndarray:
        with self.storage.local_copy(key) as path:
            return np.load(path).astype(np.float32)

    @staticmethod
    def _dump(collection: Collection, owner_id: str) -> str:
        return json.dumps({**collection.model_dump(mode="json"), "owner_id": owner_id})


def _nearest(vectors: np.ndarray, query: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine scores of the `limit` rows of unit `vectors` closest to `query`."""
    scores = vectors @ (query / max(np.linalg.norm(query), 1e-12)).astype(np.float32)
    top = np.argpartition(-scores, min(limit, len(scores)) - 1)[:limit]
    top = top[np.argsort(-scores[top])]
    return top, scores[top]

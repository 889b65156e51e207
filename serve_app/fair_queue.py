"""Fair consumption of the job queue: one stream per owner, read round-robin, with a cap on each
owner's running jobs.

Submission appends a job to its owner's stream (`Keys.owner_queue`) and adds the owner to
`Keys.queue_owners`. A dispatcher replica with free slots reads at most one entry from each of
the next owners in turn whose running jobs are under their cap, so one owner's backlog of a
thousand jobs delays another owner's job by at most one read (under a second), not by the
backlog. Leases, renewal and take-over after a lost runner are `StreamWorker`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from serve_app.keys import Keys
from serve_app.streams import Handler, StreamWorker

log = logging.getLogger("ray.serve")

READ_BLOCK_MS = 500
"""How long a read waits for new jobs: also the longest a new owner's first job waits to be seen."""

FORGET_IDLE_OWNER = """
if redis.call('XLEN', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end
return 0
"""
"""Drop an owner from the queue's owners once their stream is empty (atomic against a submit)."""


class FairQueueWorker(StreamWorker):
    def __init__(self, redis: Redis, keys: Keys, group: str, consumer: str, handler: Handler,
                 lease_seconds: float, concurrency: int,
                 running_cap: Callable[[str], Awaitable[int]]) -> None:
        super().__init__(redis, keys.queue_owners, group, consumer, handler, lease_seconds, concurrency)
        self.keys = keys
        self.running_cap = running_cap
        self.running_by_owner: Counter[str] = Counter()
        self.turn = 0
        self._forget = redis.register_script(FORGET_IDLE_OWNER)

    async def ensure_group(self) -> None:
        """Each owner's stream gets its group when its first job is submitted."""

    async def _read(self, free: int) -> list[tuple[str, str, dict[str, str]]]:
        owners = sorted(await self.redis.smembers(self.keys.queue_owners))
        if not owners:
            await asyncio.sleep(READ_BLOCK_MS / 1000)
            return []
        self.turn %= len(owners)
        ordered = owners[self.turn:] + owners[:self.turn]
        chosen = [o for o in ordered if self.running_by_owner[o] < await self.running_cap(o)][:free]
        if not chosen:
            await asyncio.sleep(READ_BLOCK_MS / 1000)  # every owner is at their cap here
            return []
        self.turn = (owners.index(chosen[-1]) + 1) % len(owners)
        reply = await self.redis.xreadgroup(
            self.group, self.consumer, {self.keys.owner_queue(o): ">" for o in chosen},
            count=1, block=READ_BLOCK_MS)
        return [(stream, message_id, fields)
                for stream, messages in reply or [] for message_id, fields in messages]

    async def _streams_to_reclaim(self) -> list[str]:
        """Every owner's stream; owners whose stream is empty are dropped from the set first."""
        owners = await self.redis.smembers(self.keys.queue_owners)
        for owner in owners:
            await self._forget(keys=[self.keys.owner_queue(owner), self.keys.queue_owners], args=[owner])
        return [self.keys.owner_queue(o) for o in await self.redis.smembers(self.keys.queue_owners)]

    def _started(self, stream: str) -> None:
        self.running_by_owner[self.keys.owner_of_queue(stream)] += 1

    def _ended(self, stream: str) -> None:
        self.running_by_owner[self.keys.owner_of_queue(stream)] -= 1

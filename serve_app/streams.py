"""Leased consumption of Redis Streams by a consumer group.

Each message is a unit of work held under a lease: while its handler runs, the consumer renews
the lease (XCLAIM ... JUSTID, which resets the idle time without counting a delivery). If the
process dies, renewal stops; after `lease_seconds` of idleness any consumer of the group takes
the message over (XAUTOCLAIM) and runs the handler again. Handlers must therefore be safe to
re-run: the job handler reads the job's state and resumes or gives up.

`StreamWorker` reads one stream; `fair_queue.FairQueueWorker` reads one stream per owner in
turn, overriding which streams are read and reclaimed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger("ray.serve")

Handler = Callable[[dict[str, str]], Awaitable[None]]
Message = tuple[str, str, dict[str, str]]
"""(stream, message id, fields)."""


class StreamWorker:
    def __init__(self, redis: Redis, stream: str, group: str, consumer: str, handler: Handler,
                 lease_seconds: float, concurrency: int) -> None:
        self.redis = redis
        self.stream, self.group, self.consumer = stream, group, consumer
        self.handler = handler
        self.lease_seconds = lease_seconds
        self.concurrency = concurrency
        self.running: set[asyncio.Task] = set()
        self.room = asyncio.Event()
        self.room.set()

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Consume new messages and reclaim expired ones until cancelled."""
        await self.ensure_group()
        reclaimer = asyncio.create_task(self._reclaim_forever())
        try:
            while True:
                await self.room.wait()
                try:
                    found = await self._read(self.concurrency - len(self.running))
                except Exception:
                    log.exception("reading %s failed; retrying", self.stream)
                    await asyncio.sleep(1)
                    continue
                for message in found:
                    self._spawn(*message)
        finally:
            reclaimer.cancel()

    async def _read(self, free: int) -> list[Message]:
        """New messages, at most `free` of them."""
        reply = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                            count=free, block=5000)
        return [(stream, message_id, fields)
                for stream, messages in reply or [] for message_id, fields in messages]

    async def _streams_to_reclaim(self) -> list[str]:
        return [self.stream]

    def _started(self, stream: str) -> None:
        """A message of `stream` began to run (a hook for per-stream accounting)."""

    def _ended(self, stream: str) -> None:
        """A message of `stream` finished."""

    async def _reclaim_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 2)
            try:
                for stream in await self._streams_to_reclaim():
                    await self._reclaim(stream)
            except Exception:
                log.exception("reclaiming %s failed", self.stream)

    async def _reclaim(self, stream: str) -> None:
        _, claimed, deleted = await self.redis.xautoclaim(
            stream, self.group, self.consumer,
            min_idle_time=int(self.lease_seconds * 1000), start_id="0-0", count=10,
        )
        for message_id in deleted:
            await self.redis.xack(stream, self.group, message_id)
        for message_id, fields in claimed:
            log.warning("reclaimed %s %s after its lease expired", stream, message_id)
            await self.room.wait()
            self._spawn(stream, message_id, fields)

    def _spawn(self, stream: str, message_id: str, fields: dict[str, str]) -> None:
        task = asyncio.create_task(self._handle(stream, message_id, fields))
        self.running.add(task)
        self._started(stream)
        if len(self.running) >= self.concurrency:
            self.room.clear()

        def done(_: asyncio.Task) -> None:
            self.running.discard(task)
            self._ended(stream)
            self.room.set()

        task.add_done_callback(done)

    async def _handle(self, stream: str, message_id: str, fields: dict[str, str]) -> None:
        """Run the handler; acknowledge the message once it returns. A handler that raises (Redis
        away mid-job) leaves the message pending: it is taken over after its lease and run again."""
        renewer = asyncio.create_task(self._renew(stream, message_id))
        try:
            await self.handler(fields)
        except Exception:
            log.exception("handling %s %s failed; it runs again after its lease", stream, message_id)
            return
        finally:
            renewer.cancel()
        try:
            await self.redis.xack(stream, self.group, message_id)
            await self.redis.xdel(stream, message_id)
        except RedisError:
            log.warning("could not acknowledge %s %s; it is taken over and found done", stream, message_id)

    async def _renew(self, stream: str, message_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            await self.redis.xclaim(stream, self.group, self.consumer, 0, [message_id], justid=True)

"""Leased consumption of a Redis Stream by a consumer group.

Each message is a unit of work held under a lease: while its handler runs, the consumer renews
the lease (XCLAIM ... JUSTID, which resets the idle time without counting a delivery). If the
process dies, renewal stops; after `lease_seconds` of idleness any consumer of the group takes
the message over (XAUTOCLAIM) and runs the handler again. Handlers must therefore be safe to
re-run: the job handler reads the job's state and resumes or gives up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import ResponseError

log = logging.getLogger("ray.serve")

Handler = Callable[[dict[str, str]], Awaitable[None]]


class StreamWorker:
    def __init__(self, redis: Redis, stream: str, group: str, consumer: str, handler: Handler,
                 lease_seconds: float, concurrency: int) -> None:
        self.redis = redis
        self.stream, self.group, self.consumer = stream, group, consumer
        self.handler = handler
        self.lease_seconds = lease_seconds
        self.slots = asyncio.Semaphore(concurrency)
        self.running: set[asyncio.Task] = set()

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
                await self.slots.acquire()
                try:
                    reply = await self.redis.xreadgroup(
                        self.group, self.consumer, {self.stream: ">"}, count=1, block=5000
                    )
                except Exception:
                    self.slots.release()
                    log.exception("reading %s failed; retrying", self.stream)
                    await asyncio.sleep(1)
                    continue
                messages = reply[0][1] if reply else []
                if not messages:
                    self.slots.release()
                for message_id, fields in messages:
                    self._spawn(message_id, fields)
        finally:
            reclaimer.cancel()

    async def _reclaim_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 2)
            try:
                await self._reclaim()
            except Exception:
                log.exception("reclaiming %s failed", self.stream)

    async def _reclaim(self) -> None:
        _, claimed, deleted = await self.redis.xautoclaim(
            self.stream, self.group, self.consumer,
            min_idle_time=int(self.lease_seconds * 1000), start_id="0-0", count=10,
        )
        for message_id in deleted:
            await self.redis.xack(self.stream, self.group, message_id)
        for message_id, fields in claimed:
            log.warning("reclaimed %s %s after its lease expired", self.stream, message_id)
            await self.slots.acquire()
            self._spawn(message_id, fields)

    def _spawn(self, message_id: str, fields: dict[str, str]) -> None:
        task = asyncio.create_task(self._handle(message_id, fields))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _handle(self, message_id: str, fields: dict[str, str]) -> None:
        renewer = asyncio.create_task(self._renew(message_id))
        try:
            await self.handler(fields)
        except Exception:
            log.exception("handling %s %s failed", self.stream, message_id)
        finally:
            renewer.cancel()
            await self.redis.xack(self.stream, self.group, message_id)
            await self.redis.xdel(self.stream, message_id)
            self.slots.release()

    async def _renew(self, message_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            await self.redis.xclaim(
                self.stream, self.group, self.consumer, 0, [message_id], justid=True
            )

"""The Redis job store: creation, the only place job state changes, listing.

Each change is one optimistic transaction (WATCH the job, MULTI, EXEC). The same transaction
publishes the SSE event, queues the webhook when the job ends and bumps the metrics counters,
so an event can never be lost between a state change and its notification.

A job is a hash (see `Keys.job`): a progress report is one script that rewrites only the
`progress` and `stage` fields, and only while the job is processing. Stage checkpoints live
under their own key, read once per attempt and dropped when the job ends, so neither a progress
report nor a state change carries them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from redis.asyncio import Redis
from redis.exceptions import WatchError
from ulid import ULID

from reelcore.errors import IdempotencyConflict, JobNotCancelable, NotFound, QueueFull, ReelserveError
from reelcore.schemas import (
    ErrorInfo,
    JobEvent,
    JobList,
    JobStatus,
    JobType,
    VideoJob,
    WebhookAttempt,
    WebhookState,
)
from serve_app.clock import utcnow
from serve_app.keys import IDEMPOTENCY_TTL_SECONDS, QUEUE_GROUP, Keys

ACTIVE = (JobStatus.pending, JobStatus.processing)


PROGRESS_FIELDS = frozenset({"progress", "stage"})
UNBOUNDED = 2**62
QUEUE_FULL_RETRY_SECONDS = 5

# KEYS: job, owner's job index, idempotency key (the job key when none), owner's queue stream,
# the queue's owners, stats, unfinished jobs per owner ('*': all).
# ARGV: record, progress, stage, job id, owner, idempotency record, its TTL, owner's bound,
# service bound, job type, consumer group, whether an idempotency key was given.
CREATE_SCRIPT = """
if ARGV[12] == '1' then
  local seen = redis.call('GET', KEYS[3])
  if seen then return {'seen', seen} end
end
local mine = tonumber(redis.call('HGET', KEYS[7], ARGV[5]) or '0')
if mine >= tonumber(ARGV[8]) then return {'full', 'owner', tostring(mine)} end
local all = tonumber(redis.call('HGET', KEYS[7], '*') or '0')
if all >= tonumber(ARGV[9]) then return {'full', 'service', tostring(all)} end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'progress', ARGV[2], 'stage', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
if ARGV[12] == '1' then redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[7]) end
redis.pcall('XGROUP', 'CREATE', KEYS[4], ARGV[11], '0', 'MKSTREAM')
redis.call('XADD', KEYS[4], '*', 'job_id', ARGV[4], 'type', ARGV[10])
redis.call('SADD', KEYS[5], ARGV[5])
redis.call('HINCRBY', KEYS[6], 'created:' .. ARGV[10], 1)
redis.call('HINCRBY', KEYS[7], ARGV[5], 1)
redis.call('HINCRBY', KEYS[7], '*', 1)
return {'created'}
"""

# KEYS: the job hash, its events channel. ARGV: progress, stage, the event to publish.
# Returns the job's status (nil when it is gone); writes only while it is processing and only
# what moved forward.
PROGRESS_SCRIPT = """
local record = redis.call('HGET', KEYS[1], 'record')
if not record then return nil end
local status = cjson.decode(record)['status']
if status ~= 'processing' then return status end
local now = tonumber(redis.call('HGET', KEYS[1], 'progress') or '0')
local value = tonumber(ARGV[1])
if value < now or (value == now and redis.call('HGET', KEYS[1], 'stage') == ARGV[2]) then
  return status
end
redis.call('HSET', KEYS[1], 'progress', ARGV[1], 'stage', ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return status
"""


class JobRecord(VideoJob):
    """What Redis holds: the public job plus what only the runner needs."""

    updated_at: datetime

    def public(self) -> VideoJob:
        return VideoJob.model_validate(self.model_dump(include=set(VideoJob.model_fields)))

    def fields(self) -> dict[str, str]:
        """The job as its hash's fields."""
        return {"record": self.model_dump_json(exclude=set(PROGRESS_FIELDS)),
                "progress": repr(self.progress), "stage": self.stage or ""}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> JobRecord:
        return cls.model_validate({**json.loads(fields["record"]),
                                   "progress": float(fields.get("progress") or 0),
                                   "stage": fields.get("stage") or None})


def _fingerprint(job_type: JobType, request: BaseModel) -> str:
    """What an Idempotency-Key is bound to: the operation and its validated body."""
    body = {"type": job_type.value, **request.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class JobStore:
    def __init__(self, redis: Redis, keys: Keys, finished_ttl_seconds: int) -> None:
        self.redis = redis
        self.keys = keys
        self.finished_ttl_seconds = finished_ttl_seconds
        self._progress = redis.register_script(PROGRESS_SCRIPT)
        self._create = redis.register_script(CREATE_SCRIPT)

    # --- creation -----------------------------------------------------------------------------

    async def create(
        self,
        *,
        owner_id: str,
        job_type: JobType,
        provider: str,
        request: BaseModel,
        idempotency_key: str | None = None,
        max_active: int | None = None,
        max_queued: int | None = None,
    ) -> tuple[VideoJob, bool]:
        """Store and enqueue a job in one script; with an idempotency key seen before, return
        that job instead. QueueFull when the owner already has `max_active` unfinished jobs, or
        the service `max_queued`.

        Returns (job, created). The same key with a different body raises IdempotencyConflict.
        """
        body = request.model_dump(mode="json")
        fingerprint = _fingerprint(job_type, request)
        now = utcnow()
        job = JobRecord(
            id=f"vj_{ULID()}",
            type=job_type,
            status=JobStatus.pending,
            provider=provider,
            created_at=now,
            updated_at=now,
            owner_id=owner_id,
            input=body,
            webhook=WebhookState(url=body["webhook_url"]) if body.get("webhook_url") else None,
        )
        fields = job.fields()
        idem_key = self.keys.idempotency(owner_id, idempotency_key) if idempotency_key else ""
        reply = await self._create(
            keys=[self.keys.job(job.id), self.keys.owner_jobs(owner_id), idem_key or self.keys.job(job.id),
                  self.keys.owner_queue(owner_id), self.keys.queue_owners, self.keys.stats,
                  self.keys.active_jobs],
            args=[fields["record"], fields["progress"], fields["stage"], job.id, owner_id,
                  json.dumps({"job_id": job.id, "body_hash": fingerprint}), IDEMPOTENCY_TTL_SECONDS,
                  max_active or UNBOUNDED, max_queued or UNBOUNDED, job_type.value, QUEUE_GROUP,
                  "1" if idem_key else "0"])
        if reply[0] == "seen":
            return await self._replayed(reply[1], fingerprint, owner_id), False
        if reply[0] == "full":
            whose = "your" if reply[1] == "owner" else "the service's"
            raise QueueFull(f"{whose} queue holds {reply[2]} unfinished jobs, its limit; retry "
                            "when some have finished", {"retry_after_seconds": QUEUE_FULL_RETRY_SECONDS,
                                                          "queue": reply[1]})
        return job.public(), True

    async def replay(
        self, owner_id: str, job_type: JobType, request: BaseModel, idempotency_key: str
    ) -> VideoJob | None:
        """The job an earlier request with this Idempotency-Key created, if any.

        Asked before a provider is chosen: a replay answers with the job even when no provider
        could take the request now. A different body raises IdempotencyConflict.
        """
        seen = await self.redis.get(self.keys.idempotency(owner_id, idempotency_key))
        if seen is None:
            return None
        return await self._replayed(seen, _fingerprint(job_type, request), owner_id)

    async def _replayed(self, seen: str, fingerprint: str, owner_id: str) -> VideoJob:
        previous = json.loads(seen)
        if previous["body_hash"] != fingerprint:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request", {"job_id": previous["job_id"]}
            )
        return await self.get(previous["job_id"], owner_id)

    # --- reading ------------------------------------------------------------------------------

    async def record(self, job_id: str) -> JobRecord:
        fields = await self.redis.hgetall(self.keys.job(job_id))
        if not fields:
            raise NotFound(f"job {job_id} not found")
        return JobRecord.from_fields(fields)

    async def checkpoints(self, job_id: str) -> dict[str, Any]:
        """The outputs of the stages earlier attempts finished, by stage."""
        kept = await self.redis.hgetall(self.keys.checkpoints(job_id))
        return {stage: json.loads(output) for stage, output in kept.items()}

    async def get(self, job_id: str, owner_id: str) -> VideoJob:
        """The job if `owner_id` owns it; another owner's job is indistinguishable from none."""
        try:
            job = await self.record(job_id)
        except NotFound:
            job = None
        if job is None or job.owner_id != owner_id:
            raise NotFound(f"job {job_id} not found")
        return job.public()

    async def list(
        self,
        owner_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        status: JobStatus | None = None,
        job_type: JobType | None = None,
    ) -> JobList:
        """Newest first; `cursor` is the last id of the previous page."""
        index = self.keys.owner_jobs(owner_id)
        upper = f"({cursor}" if cursor else "+"
        found: list[VideoJob] = []
        while len(found) <= limit:
            ids = await self.redis.zrevrangebylex(index, upper, "-", start=0, num=max(limit, 50))
            if not ids:
                break
            async with self.redis.pipeline(transaction=False) as pipe:
                for i in ids:
                    pipe.hgetall(self.keys.job(i))
                found_fields = await pipe.execute()
            expired = [i for i, fields in zip(ids, found_fields, strict=True) if not fields]
            if expired:
                await self.redis.zrem(index, *expired)
            for fields in found_fields:
                if not fields:
                    continue
                job = JobRecord.from_fields(fields)
                if (status is None or job.status == status) and (
                    job_type is None or job.type == job_type
                ):
                    found.append(job.public())
            upper = f"({ids[-1]}"
        page = found[:limit]
        next_cursor = page[-1].id if len(found) > limit else None
        return JobList(data=page, next_cursor=next_cursor)

    # --- state changes ------------------------------------------------------------------------

    async def _change(self, job_id: str, change: Callable[[JobRecord], bool]) -> JobRecord | None:
        """Apply `change` atomically; it returns False to leave the job as it is."""
        key = self.keys.job(job_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    fields = await pipe.hgetall(key)
                    if not fields:
                        raise NotFound(f"job {job_id} not found")
                    job = JobRecord.from_fields(fields)
                    before = (job.status, job.progress, job.stage)
                    if not change(job):
                        return None
                    job.updated_at = utcnow()
                    ended = job.status.terminal and not before[0].terminal
                    pipe.multi()
                    pipe.hset(key, mapping=job.fields())
                    if (job.status, job.progress, job.stage) != before:
                        event = JobEvent(job=job.public()).model_dump_json()
                        pipe.publish(self.keys.events(job_id), event)
                    if ended:
                        pipe.expire(key, self.finished_ttl_seconds)
                        pipe.delete(self.keys.checkpoints(job_id))
                        pipe.hincrby(self.keys.active_jobs, job.owner_id, -1)
                        pipe.hincrby(self.keys.active_jobs, "*", -1)
                        pipe.hincrby(self.keys.stats, f"{job.status.value}:{job.type.value}", 1)
                        if job.webhook:
                            pipe.xadd(self.keys.webhooks, {"job_id": job_id})
                    await pipe.execute()
                    return job
                except WatchError:
                    continue

    async def start(self, job_id: str) -> JobRecord | None:
        """Mark the job processing for a new attempt; None when it already ended (e.g. canceled)."""

        def change(job: JobRecord) -> bool:
            if job.status not in ACTIVE:
                return False
            job.status = JobStatus.processing
            job.attempts += 1
            job.started_at = job.started_at or utcnow()
            job.stage = "starting"
            return True

        return await self._change(job_id, change)

    async def progress(self, job: JobRecord, fraction: float, stage: str) -> JobStatus:
        """Record the progress of `job` (the runner's copy, updated too): it only rises, and only
        while the job is processing. Returns the job's status."""
        job.progress = round(min(max(fraction, job.progress), 0.99), 4)
        job.stage = stage
        event = JobEvent(job=job.public()).model_dump_json()
        status = await self._progress(keys=[self.keys.job(job.id), self.keys.events(job.id)],
                                      args=[repr(job.progress), stage, event])
        if status is None:
            raise NotFound(f"job {job.id} not found")
        return JobStatus(status)

    async def checkpoint(self, job_id: str, stage: str, output: Any) -> None:
        """Keep a finished stage's output so a retried attempt resumes after it. The key expires
        with the job's TTL should the job end without dropping it."""
        key = self.keys.checkpoints(job_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, stage, json.dumps(output))
            pipe.expire(key, self.finished_ttl_seconds)
            await pipe.execute()

    async def complete(self, job_id: str, result: dict[str, Any]) -> JobRecord | None:
        def change(job: JobRecord) -> bool:
            if job.status != JobStatus.processing:
                return False
            job.status, job.progress, job.stage = JobStatus.completed, 1.0, None
            job.result, job.completed_at = result, utcnow()
            return True

        return await self._change(job_id, change)

    async def fail(self, job_id: str, error: ReelserveError) -> JobRecord | None:
        def change(job: JobRecord) -> bool:
            if job.status not in ACTIVE:
                return False
            job.status, job.stage, job.completed_at = JobStatus.failed, None, utcnow()
            job.error = ErrorInfo(code=error.code, message=error.message,
                                  details=to_jsonable_python(error.details, fallback=str) or None)
            return True

        return await self._change(job_id, change)

    async def cancel(self, job_id: str, owner_id: str) -> VideoJob:
        await self.get(job_id, owner_id)
        refused: list[JobStatus] = []

        def change(job: JobRecord) -> bool:
            if job.status not in ACTIVE:
                refused.append(job.status)
                return False
            job.status, job.stage, job.completed_at = JobStatus.canceled, None, utcnow()
            job.error = ErrorInfo(code="canceled", message="canceled at the caller's request")
            return True

        job = await self._change(job_id, change)
        if job is None:
            raise JobNotCancelable(
                f"job {job_id} is already {refused[0].value}", {"status": refused[0].value}
            )
        return job.public()

    async def record_webhook_attempt(
        self, job_id: str, attempt: WebhookAttempt, delivered: bool
    ) -> None:
        def change(job: JobRecord) -> bool:
            assert job.webhook is not None
            job.webhook.attempts.append(attempt)
            job.webhook.delivered = delivered
            return True

        await self._change(job_id, change)

"""Who may submit now: a per-owner rate, bounded queues, and each owner's limits.

Limits come from the settings, overridden per owner by an operator (`reelserve-admin limits
set`). The rate is a fixed one-minute window per owner; the queue bounds (unfinished jobs per
owner and in all) are checked inside job creation itself (`JobStore.create`), so concurrent
submissions can never pass them together. Past any of them the API answers 429 with
`Retry-After`, and every submission answer carries `RateLimit-*` headers.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from reelcore.errors import RateLimited
from reelcore.settings import Settings
from serve_app.keys import Keys

WINDOW_SECONDS = 60


class Limits(BaseModel):
    """One owner's limits (`reelserve-admin limits show/set`)."""

    submissions_per_minute: int = Field(..., ge=1)
    max_active_jobs: int = Field(..., ge=1, description="Jobs queued or running at once.")
    max_running_jobs: int = Field(..., ge=1, description="Jobs running at once, per dispatcher replica.")


@dataclass
class RateWindow:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers)."""
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_seconds),
                "RateLimit-Policy": f"{self.limit};w={WINDOW_SECONDS}"}


class Admission:
    def __init__(self, redis: Redis, keys: Keys, settings: Settings) -> None:
        self.redis, self.keys, self.settings = redis, keys, settings

    def defaults(self) -> Limits:
        return Limits(submissions_per_minute=self.settings.submissions_per_minute,
                      max_active_jobs=self.settings.max_active_jobs_per_owner,
                      max_running_jobs=self.settings.max_running_jobs_per_owner)

    async def limits(self, owner_id: str) -> Limits:
        return Limits.model_validate({**self.defaults().model_dump(), **await self._overrides(owner_id)})

    async def set_limits(self, owner_id: str, **changes: int) -> Limits:
        """Override some of an owner's limits; the others keep following the settings."""
        overrides = {**await self._overrides(owner_id), **changes}
        merged = Limits.model_validate({**self.defaults().model_dump(), **overrides})
        await self.redis.hset(self.keys.owner(owner_id), "limits", json.dumps(overrides))
        return merged

    async def _overrides(self, owner_id: str) -> dict[str, int]:
        raw = await self.redis.hget(self.keys.owner(owner_id), "limits")
        return json.loads(raw) if raw else {}

    async def take_submission(self, owner_id: str, limits: Limits) -> RateWindow:
        """Count one submission in this minute's window; RateLimited past the owner's rate."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        reset = max(1, int((window + 1) * WINDOW_SECONDS - now))
        key = self.keys.submissions(owner_id, window)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW_SECONDS)
            count, _ = await pipe.execute()
        state = RateWindow(limits.submissions_per_minute,
                           max(0, limits.submissions_per_minute - count), reset)
        if count > limits.submissions_per_minute:
            raise RateLimited(
                f"more than {limits.submissions_per_minute} submissions this minute",
                {"retry_after_seconds": reset, "limit": limits.submissions_per_minute,
                 "window_seconds": WINDOW_SECONDS})
        return state

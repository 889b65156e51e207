"""The one Redis factory: a dropped connection is retried, a Redis that is down fails fast."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from serve_app.connections import connect
from tests.conftest import free_port


def test_a_dropped_connection_is_retried_unseen(redis_url: str) -> None:
    async def run() -> str | None:
        redis, admin = connect(redis_url), connect(redis_url)
        await redis.set("connections-test", "kept")
        killed = await admin.client_kill_filter(_type="normal", skipme=True)
        assert killed >= 1
        try:
            return await redis.get("connections-test")
        finally:
            await redis.aclose()
            await admin.aclose()

    assert asyncio.run(run()) == "kept"


def test_a_redis_that_is_down_fails_within_seconds() -> None:
    redis = connect(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(RedisConnectionError):
        asyncio.run(redis.ping())
    assert time.monotonic() - started < 5

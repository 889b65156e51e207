"""The one way the service opens Redis: bounded waits, and retries when a connection drops.

A Redis restart or a dropped socket is retried with backoff before a caller sees it; a Redis
that stays down surfaces as `ConnectionError`/`TimeoutError` within seconds (the ingress answers
503 `service_unavailable`), never as a request hanging on a dead socket.

    redis = connect(settings.redis_url)                  # str replies: jobs, keys, streams
    vectors = connect(settings.redis_url, decode=False)  # bytes replies: collection vectors
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

CONNECT_TIMEOUT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 10.0
"""Above the longest blocking read (the queue's XREADGROUP blocks 5 s)."""
RETRIES = 3


def connect(url: str, *, decode: bool = True) -> Redis:
    return Redis.from_url(
        url,
        decode_responses=decode,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        # Only a connection that failed is retried: a command that timed out may have run, and
        # running a job transition twice is worse than reporting it.
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), RETRIES,
                    supported_errors=(RedisConnectionError,)),
        health_check_interval=30,
    )

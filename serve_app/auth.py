"""API keys and owners: keys are stored only as SHA-256 hashes, each mapped to an owner."""

from __future__ import annotations

import base64
import hashlib
import secrets

from redis.asyncio import Redis

from reelcore.errors import Unauthorized
from serve_app.clock import utcnow
from serve_app.keys import Keys

KEY_PREFIX = "rs_"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class Accounts:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def create_key(self, owner_id: str, name: str = "default",
                         api_key: str | None = None) -> str:
        """Register an API key for `owner_id` (a new random one unless given); returns it."""
        api_key = api_key or KEY_PREFIX + secrets.token_urlsafe(32)
        await self.webhook_secret(owner_id)
        await self.redis.hset(
            self.keys.api_key(hash_key(api_key)),
            mapping={"owner_id": owner_id, "name": name, "created_at": utcnow().isoformat()},
        )
        return api_key

    async def revoke_key(self, api_key: str) -> bool:
        return bool(await self.redis.delete(self.keys.api_key(hash_key(api_key))))

    async def owner_of(self, api_key: str) -> str:
        owner = await self.redis.hget(self.keys.api_key(hash_key(api_key)), "owner_id")
        if owner is None:
            raise Unauthorized("unknown or revoked API key")
        return owner

    async def webhook_secret(self, owner_id: str) -> str:
        """The owner's Standard Webhooks secret (`whsec_` + base64), made on first use."""
        key = self.keys.owner(owner_id)
        fresh = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        await self.redis.hsetnx(key, "webhook_secret", fresh)
        return await self.redis.hget(key, "webhook_secret")

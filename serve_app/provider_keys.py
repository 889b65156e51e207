"""Callers' own keys for commercial engines (BYOK), encrypted at rest.

Keys are set per owner through `PUT /v1/account/provider-keys/{provider}`, checked for presence
when a request needs one, and decrypted only by the runner for the engine call that uses it:
they never enter a job's input, result, checkpoints or logs. They are encrypted with
`REELSERVE_PROVIDER_KEY_SECRET` (else one derived from `REELSERVE_SIGNING_SECRET`): rotating it
makes stored keys unreadable, and owners then set them again.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from redis.asyncio import Redis

from reelcore.errors import ProviderUnavailable
from serve_app.keys import Keys


class ProviderKeys:
    def __init__(self, redis: Redis, keys: Keys, secret: bytes) -> None:
        self.redis = redis
        self.keys = keys
        digest = hashlib.sha256(b"reelserve provider keys\0" + secret).digest()
        self.fernet = Fernet(base64.urlsafe_b64encode(digest))

    async def set(self, owner_id: str, provider: str, api_key: str) -> None:
        token = self.fernet.encrypt(api_key.encode()).decode()
        await self.redis.hset(self.keys.provider_keys(owner_id), provider, token)

    async def delete(self, owner_id: str, provider: str) -> bool:
        return bool(await self.redis.hdel(self.keys.provider_keys(owner_id), provider))

    async def providers(self, owner_id: str) -> set[str]:
        """Which providers the owner has a key for (the keys stay encrypted)."""
        return set(await self.redis.hkeys(self.keys.provider_keys(owner_id)))

    async def get(self, owner_id: str, provider: str) -> str:
        token = await self.redis.hget(self.keys.provider_keys(owner_id), provider)
        if token is None:
            raise ProviderUnavailable(f"no {provider} key on this account; set it with "
                                      f"PUT /v1/account/provider-keys/{provider}")
        try:
            return self.fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise ProviderUnavailable(f"the stored {provider} key can no longer be read; "
                                      "set it again") from exc

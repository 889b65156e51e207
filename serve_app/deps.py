"""What route handlers need, as FastAPI dependencies: the services and the caller's owner id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from ray.serve.handle import DeploymentHandle
from redis.asyncio import Redis

from reelcore.errors import Unauthorized
from reelcore.settings import Settings
from reelcore.storage import Storage
from serve_app.admission import Admission
from serve_app.auth import Accounts
from serve_app.collections import Collections
from serve_app.jobs import JobStore
from serve_app.keys import Keys
from serve_app.provider_keys import ProviderKeys
from serve_app.providers import ProviderRegistry


@dataclass
class Services:
    settings: Settings
    redis: Redis
    keys: Keys
    jobs: JobStore
    accounts: Accounts
    provider_keys: ProviderKeys
    storage: Storage
    providers: ProviderRegistry
    dispatcher: DeploymentHandle
    collections: Collections
    admission: Admission


_installed: list[Services] = []


def install(services: Services) -> None:
    """Called once by the ingress replica's constructor.

    Serve hands the replica a pickled copy of the FastAPI app only after the constructor ran,
    so the services live here, per process, rather than on `app.state`.
    """
    _installed[:] = [services]


def get_services() -> Services:
    return _installed[0]


ServicesDep = Annotated[Services, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer rs_...`")


async def current_owner(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        raise Unauthorized("send your API key as `Authorization: Bearer <key>`")
    return await services.accounts.owner_of(credentials.credentials)


OwnerDep = Annotated[str, Depends(current_owner)]

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255,
           description="Same key and body from the same owner returns the same job."),
]

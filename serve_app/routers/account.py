"""/v1/account: the caller's webhook secret and their own keys for commercial engines."""

from __future__ import annotations

from fastapi import APIRouter, Response

from reelcore.errors import NotFound
from reelcore.schemas import Account, ByokProvider, ErrorResponse, ProviderKeyIn
from serve_app.deps import OwnerDep, ServicesDep

router = APIRouter(prefix="/v1/account", tags=["account"],
                   responses={c: {"model": ErrorResponse} for c in (401, 404, 422)})


@router.get("", operation_id="get_account")
async def account(owner: OwnerDep, services: ServicesDep) -> Account:
    """The caller's owner id, webhook secret, and which provider keys are set."""
    return Account(owner_id=owner, webhook_secret=await services.accounts.webhook_secret(owner),
                   provider_keys=sorted(await services.provider_keys.providers(owner)))


@router.put("/provider-keys/{provider}", status_code=204, operation_id="set_provider_key")
async def set_provider_key(provider: ByokProvider, body: ProviderKeyIn, owner: OwnerDep,
                           services: ServicesDep) -> Response:
    """Bring your own key: jobs that use `provider` call it with this key."""
    await services.provider_keys.set(owner, provider, body.api_key)
    return Response(status_code=204)


@router.delete("/provider-keys/{provider}", status_code=204, operation_id="delete_provider_key")
async def delete_provider_key(provider: ByokProvider, owner: OwnerDep,
                              services: ServicesDep) -> Response:
    if not await services.provider_keys.delete(owner, provider):
        raise NotFound(f"no {provider} key on this account")
    return Response(status_code=204)

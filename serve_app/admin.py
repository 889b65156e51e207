"""`reelserve-admin`: operator commands that talk to Redis directly (API keys).

    reelserve-admin keys create --owner acme --name ci
    reelserve-admin keys revoke rs_...
"""

from __future__ import annotations

import asyncio

import click

from reelcore.settings import get_settings
from serve_app.auth import Accounts
from serve_app.connections import connect
from serve_app.keys import Keys


def _accounts() -> Accounts:
    settings = get_settings()
    return Accounts(connect(settings.redis_url),
                    Keys(settings.key_prefix))


@click.group()
def main() -> None:
    """reelserve operator commands (reads REDIS_URL / REELSERVE_* settings)."""


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--owner", required=True, help="Owner id the key acts for.")
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@click.option("--key", "api_key", default=None, help="Register this exact key (else random).")
def create(owner: str, name: str, api_key: str | None) -> None:
    """Create a key; prints it and the owner's webhook secret."""

    async def go() -> tuple[str, str]:
        accounts = _accounts()
        key = await accounts.create_key(owner, name, api_key)
        return key, await accounts.webhook_secret(owner)

    key, secret = asyncio.run(go())
    click.echo(f"api_key={key}\nowner_id={owner}\nwebhook_secret={secret}")


@keys.command("revoke")
@click.argument("api_key")
def revoke(api_key: str) -> None:
    """Revoke a key."""
    if not asyncio.run(_accounts().revoke_key(api_key)):
        raise click.ClickException("no such key")
    click.echo("revoked")

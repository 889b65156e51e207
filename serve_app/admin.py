"""`reelserve-admin`: operator commands that talk to Redis directly (API keys, limits).

    reelserve-admin keys create --owner acme --name ci
    reelserve-admin keys revoke rs_...
    reelserve-admin limits set --owner acme --submissions-per-minute 60 --running 2
    reelserve-admin limits show --owner acme
"""

from __future__ import annotations

import asyncio

import click

from reelcore.settings import get_settings
from serve_app.admission import Admission
from serve_app.auth import Accounts
from serve_app.connections import connect
from serve_app.keys import Keys


def _accounts() -> Accounts:
    settings = get_settings()
    return Accounts(connect(settings.redis_url),
                    Keys(settings.key_prefix))


def _admission() -> Admission:
    settings = get_settings()
    return Admission(connect(settings.redis_url), Keys(settings.key_prefix), settings)


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


@main.group()
def limits() -> None:
    """An owner's limits: submissions per minute, unfinished and running jobs."""


@limits.command("show")
@click.option("--owner", required=True)
def show_limits(owner: str) -> None:
    """Print the owner's limits (settings, with the owner's overrides)."""
    click.echo(asyncio.run(_admission().limits(owner)).model_dump_json(indent=2))


@limits.command("set")
@click.option("--owner", required=True)
@click.option("--submissions-per-minute", type=int, help="Submissions accepted per minute.")
@click.option("--active", "max_active_jobs", type=int, help="Jobs queued or running at once.")
@click.option("--running", "max_running_jobs", type=int, help="Jobs running at once per dispatcher.")
def set_limits(owner: str, **changes: int | None) -> None:
    """Override some of the owner's limits; the rest keep following the settings."""
    given = {name: value for name, value in changes.items() if value is not None}
    if not given:
        raise click.UsageError("give at least one limit to set")
    click.echo(asyncio.run(_admission().set_limits(owner, **given)).model_dump_json(indent=2))

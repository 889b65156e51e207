"""Operator key management, and what callers see when Redis is down."""

from __future__ import annotations

import re

import httpx
from click.testing import CliRunner
from fastapi.testclient import TestClient

from serve_app.admin import main as admin
from tests.conftest import Service


def test_admin_creates_and_revokes_keys(service: Service) -> None:
    created = CliRunner().invoke(admin, ["keys", "create", "--owner", "dana", "--name", "ci"])
    assert created.exit_code == 0, created.output
    key = re.search(r"api_key=(\S+)", created.output).group(1)
    secret = re.search(r"webhook_secret=(whsec_\S+)", created.output).group(1)
    headers = {"Authorization": f"Bearer {key}"}
    account = httpx.get(f"{service.base_url}/v1/account", headers=headers).json()
    assert account == {"owner_id": "dana", "webhook_secret": secret, "provider_keys": []}
    assert key not in str(service.redis().keys("*")), "keys are stored hashed"

    assert CliRunner().invoke(admin, ["keys", "revoke", key]).exit_code == 0
    assert httpx.get(f"{service.base_url}/v1/account", headers=headers).status_code == 401
    assert CliRunner().invoke(admin, ["keys", "revoke", key]).exit_code != 0


def test_a_redis_outage_is_a_503_with_a_stable_code() -> None:
    from serve_app import deps
    from serve_app.auth import Accounts
    from serve_app.connections import connect
    from serve_app.ingress import app
    from serve_app.keys import Keys

    dead = connect("redis://127.0.0.1:9/0")
    keys = Keys("reelserve")
    saved = list(deps._installed)
    deps.install(deps.Services(settings=None, redis=dead, keys=keys, jobs=None,
                               accounts=Accounts(dead, keys), provider_keys=None, storage=None,
                               providers=None, dispatcher=None, collections=None))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/v1/video", headers={"Authorization": "Bearer rs_x"})
    finally:
        deps._installed[:] = saved
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"

"""Operator key management, and what callers see when Redis is down."""

from __future__ import annotations

import re
import time

import httpx
from click.testing import CliRunner
from fastapi.testclient import TestClient

from serve_app.admin import main as admin
from tests.conftest import Owner, RedisServer, Service, wait_for


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
                               providers=None, dispatcher=None, collections=None, admission=None))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/v1/video", headers={"Authorization": "Bearer rs_x"})
    finally:
        deps._installed[:] = saved
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_a_redis_restart_mid_run_neither_loses_nor_fails_a_job(
    alice: Owner, service: Service, redis_server: RedisServer, media_host
) -> None:
    """Redis SIGKILLed while jobs run and wait: submissions meanwhile get 503 with Retry-After;
    after the restart every accepted job completes, and no request fails on a stale connection."""
    body = {"video_url": media_host.url("/sentence.mp4"), "tasks": ["transcribe"]}
    accepted = [alice.api.post("/v1/video/analyze", json=body) for _ in range(5)]
    assert all(a.status_code == 202 for a in accepted)
    time.sleep(1.5)  # the first are running, the rest queued
    redis_server.kill()
    try:
        refused = alice.api.post("/v1/video/analyze", json=body)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
        assert refused.json()["error"]["code"] == "service_unavailable"
        time.sleep(2)
    finally:
        redis_server.start()
    assert alice.api.get(f"/v1/video/{accepted[0].json()['id']}").status_code == 200, \
        "the first request after the restart finds a fresh connection"
    jobs = [wait_for(alice, a.json()["id"], timeout=300) for a in accepted]
    assert [j["status"] for j in jobs] == ["completed"] * 5, [j.get("error") for j in jobs]

"""Inputs and webhooks never reach private, loopback or link-local hosts unless allowed."""

from __future__ import annotations

import asyncio

import pytest

from reelcore.errors import InputTooLarge, InputUnreachable
from reelcore.settings import Settings
from serve_app.fetch import UrlRefused, fetch_to_file, guard_url
from tests.conftest import Owner, wait_for

STRICT = Settings(allowed_hosts=[])
ALLOW_HOST = Settings(allowed_hosts=["127.0.0.1"])

REFUSED = [
    "http://127.0.0.1/x.mp4",
    "http://127.8.9.10:8080/x.mp4",
    "http://localhost/x.mp4",
    "http://[::1]/x.mp4",
    "http://[::ffff:127.0.0.1]/x.mp4",
    "http://0.0.0.0/x.mp4",
    "http://10.0.0.1/x.mp4",
    "http://172.16.5.4/x.mp4",
    "http://192.168.1.1/x.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/x.mp4",
    "http://[fd00::1]/x.mp4",
    "http://100.64.0.1/x.mp4",
    "http://2130706433/x.mp4",
    "file:///etc/passwd",
    "ftp://example.com/x.mp4",
    "gopher://127.0.0.1:6379/_PING",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_non_http_targets_are_refused_before_any_connection(url: str) -> None:
    with pytest.raises(UrlRefused):
        asyncio.run(guard_url(url, STRICT))


def test_public_addresses_pass_the_guard() -> None:
    asyncio.run(guard_url("http://93.184.215.14/x.mp4", STRICT))
    asyncio.run(guard_url("https://[2606:4700::1111]/x.mp4", STRICT))


def test_allowed_hosts_open_exactly_those_hosts() -> None:
    asyncio.run(guard_url("http://127.0.0.1:8123/x.mp4", ALLOW_HOST))
    with pytest.raises(UrlRefused):
        asyncio.run(guard_url("http://localhost:8123/x.mp4", ALLOW_HOST))
    port_only = Settings(allowed_hosts=["127.0.0.1:8123"])
    asyncio.run(guard_url("http://127.0.0.1:8123/x.mp4", port_only))
    with pytest.raises(UrlRefused):
        asyncio.run(guard_url("http://127.0.0.1:8124/x.mp4", port_only))


def test_redirect_to_a_private_host_is_refused(media_host, tmp_path) -> None:
    target = media_host.url("/sentence.mp4", host="localhost")
    with pytest.raises(UrlRefused):
        asyncio.run(fetch_to_file(media_host.url(f"/redirect?to={target}"), tmp_path / "x", ALLOW_HOST))
    assert not (tmp_path / "x").exists()


def test_redirects_between_allowed_hosts_are_followed(media_host, tmp_path) -> None:
    target = media_host.url("/sentence.mp4")
    asyncio.run(fetch_to_file(media_host.url(f"/redirect?to={target}"), tmp_path / "x", ALLOW_HOST))
    assert (tmp_path / "x").stat().st_size == (media_host.root / "sentence.mp4").stat().st_size


def test_redirect_loops_stop(media_host, tmp_path) -> None:
    loop = media_host.url("/redirect")
    with pytest.raises(InputUnreachable, match="redirects"):
        asyncio.run(fetch_to_file(loop, tmp_path / "x", Settings(allowed_hosts=["127.0.0.1"],
                                                                  fetch_max_redirects=3)))


def test_downloads_over_the_size_limit_stop(media_host, tmp_path) -> None:
    small = Settings(allowed_hosts=["127.0.0.1"], fetch_max_bytes=1000)
    with pytest.raises(InputTooLarge):
        asyncio.run(fetch_to_file(media_host.url("/sentence.mp4"), tmp_path / "x", small))


def test_a_job_with_a_private_input_fails_without_fetching(alice: Owner, media_host) -> None:
    url = media_host.url("/sentence.mp4", host="localhost")
    job_id = alice.api.post("/v1/video/analyze",
                            json={"video_url": url, "tasks": ["transcribe"]}).json()["id"]
    job = wait_for(alice, job_id)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "input_unreachable"
    assert "non-public" in job["error"]["message"]


def test_slow_downloads_stop_at_the_time_limit(media_host, tmp_path) -> None:
    impatient = Settings(allowed_hosts=["127.0.0.1"], fetch_timeout_seconds=1.0)
    with pytest.raises(InputUnreachable, match="longer than 1 s"):
        asyncio.run(fetch_to_file(media_host.url("/slow"), tmp_path / "x", impatient))

"""The SDK and CLI against the running service."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reelcore.errors import InputUnreachable, InvalidRequest, NotFound, ProviderUnavailable
from reelserve import Client, JobTimeout
from reelserve.cli import cli
from tests.conftest import Owner, Service


@pytest.fixture
def client(service: Service, alice: Owner):
    with Client(service.base_url, alice.api_key) as sdk:
        yield sdk


def test_sdk_runs_an_analysis_to_its_result(client: Client, media) -> None:
    upload = client.upload(media / "sentence.mp4")
    job = client.analyze(upload.url, tasks=["transcribe"])
    seen = []
    done = client.wait_for_job(job.id, timeout=120, poll_interval=1, on_update=seen.append)
    assert done.status.value == "completed" and "finance" in done.result["transcript"]["text"].lower()
    assert seen[-1].status.value == "completed"
    assert client.get_job(job.id) == done
    assert job.id in [j.id for j in client.list_jobs(type="analyze", limit=100).data]


def test_sdk_follows_events_until_the_end(client: Client, media) -> None:
    job = client.analyze(client.upload(media / "sentence.mp4").url, tasks=["transcribe"])
    updates = list(client.events(job.id))
    assert updates[-1].status.value == "completed"
    assert [u.progress for u in updates] == sorted(u.progress for u in updates)


def test_sdk_raises_the_jobs_own_error_class(client: Client, media_host) -> None:
    job = client.analyze(media_host.url("/missing-sdk.mp4"), tasks=["transcribe"])
    with pytest.raises(InputUnreachable) as caught:
        client.wait_for_job(job.id, timeout=60, poll_interval=1)
    assert caught.value.job.id == job.id


def test_sdk_maps_request_errors_back_to_their_classes(client: Client) -> None:
    with pytest.raises(ProviderUnavailable):
        client.lipsync("https://a.example.com/v.mp4", "https://a.example.com/a.wav",
                       provider="latentsync")
    with pytest.raises(NotFound):
        client.get_job("vj_nope")
    with pytest.raises(InvalidRequest):
        client.list_jobs(limit=1000)


def test_sdk_validates_locally_with_the_same_models(client: Client) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="duration_seconds"):
        client.generate("a fox", duration_seconds=90)


def test_wait_for_job_is_bounded(client: Client, media) -> None:
    job = client.analyze(client.upload(media / "long.mp4").url, tasks=["transcribe"])
    with pytest.raises(JobTimeout):
        client.wait_for_job(job.id, timeout=1.5, poll_interval=1)
    client.cancel_job(job.id)


def run(service: Service, owner: Owner, *args: str):
    result = CliRunner().invoke(cli, ["--url", service.base_url, "--api-key", owner.api_key, *args])
    assert result.exit_code == 0, result.output + str(result.exception)
    return result


def test_cli_analyze_wait_uploads_a_local_file_and_prints_the_job(
    service: Service, alice: Owner, media
) -> None:
    result = run(service, alice, "analyze", str(media / "sentence.mp4"), "--wait")
    job = json.loads(result.stdout[result.stdout.index("{"):])
    assert job["status"] == "completed"
    assert "weekly" in job["result"]["transcript"]["text"].lower()
    listed = run(service, alice, "jobs", "list", "--type", "analyze", "--limit", "100")
    assert job["id"][:12] in listed.stdout
    got = json.loads(run(service, alice, "jobs", "get", job["id"]).stdout)
    assert got["id"] == job["id"]


def test_cli_cancel_and_providers(service: Service, alice: Owner, media_host) -> None:
    submitted = json.loads(run(service, alice, "analyze", media_host.url("/sentence.mp4")).stdout)
    canceled = json.loads(run(service, alice, "jobs", "cancel", submitted["id"]).stdout)
    assert canceled["status"] == "canceled"
    table = run(service, alice, "providers").stdout
    assert "reelserve" in table and "latentsync" in table


def test_cli_lipsync_sends_the_sync_mode_and_the_face(service: Service, alice: Owner, media_host) -> None:
    clip = media_host.url("/missing-cli.mp4")  # the job fails at download; its input is what counts
    submitted = json.loads(run(service, alice, "lipsync", clip, clip, "--sync-mode", "cut_off",
                               "--face", "120,80.5@3").stdout)
    assert submitted["input"]["sync_mode"] == "cut_off"
    assert submitted["input"]["face"] == {"frame": 3, "x": 120.0, "y": 80.5}
    plain = json.loads(run(service, alice, "lipsync", clip, clip, "--face", "10,20").stdout)
    assert plain["input"]["sync_mode"] == "bounce" and plain["input"]["face"]["frame"] == 0


@pytest.mark.parametrize(("option", "message"), [
    (["--face", "120"], "not X,Y or X,Y@FRAME"),
    (["--face", "1,2@first"], "not X,Y or X,Y@FRAME"),
    (["--sync-mode", "sideways"], "sideways"),
])
def test_cli_lipsync_rejects_a_malformed_face_or_sync_mode(option: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["--api-key", "unused", "lipsync", "https://a.example.com/v.mp4",
                                      "https://a.example.com/a.wav", *option])
    assert result.exit_code == 2 and message in result.output, result.output

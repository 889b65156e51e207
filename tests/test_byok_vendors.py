"""Commercial vendors through the real service, each against its local contract server: the
owner's key reaches the vendor and nothing else, outputs come back as our own stored media,
vendor failures become stable job errors, `auto` and `/v1/providers` know who holds a key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import VENDOR_KEYS, Owner, Service, upload, wait_for
from tests.media import speech
from tests.test_lipsync_avatar import decode
from tests.vendor_server import VendorServer


@pytest.fixture(scope="module")
def keyed(make_owner, vendors) -> Owner:
    """An owner holding a valid key for every vendor."""
    owner: Owner = make_owner("vendor-user")
    for provider, key in VENDOR_KEYS.items():
        assert owner.api.put(f"/v1/account/provider-keys/{provider}", json={"api_key": key}).status_code == 204
    return owner


@pytest.fixture(scope="module")
def other_speech(media: Path) -> Path:
    return speech("Our train leaves the station at half past nine tonight.", media / "vendor-speech.wav")


def assert_key_kept_out(service: Service, server: VendorServer, job: dict, key: str) -> None:
    """The key only ever travelled in the vendor's auth header: not in the job record, its
    result, or any other part of what the vendor received."""
    assert key not in str(service.redis().hgetall(f"reelserve:job:{job['id']}"))
    assert key not in json.dumps(job)
    assert not server.key_seen()


def test_sync_labs_lipsyncs_with_the_owners_key(keyed: Owner, vendors, service, media, other_speech,
                                                tmp_path) -> None:
    server = vendors["sync-labs"]
    job = wait_for(keyed, keyed.api.post("/v1/video/lipsync", json={
        "video_url": upload(keyed, media / "sentence.mp4")["url"],
        "audio_url": upload(keyed, other_speech)["url"], "sync_mode": "cut_off",
        "provider": "sync-labs"}).json()["id"])
    assert job["status"] == "completed", job
    created = [r for r in server.requests if r.method == "POST"][-1]
    assert created.headers["x-api-key"] == VENDOR_KEYS["sync-labs"]
    assert created.body["options"]["sync_mode"] == "cut_off"
    assert created.body["options"]["active_speaker_detection"] == {"auto_detect": True}
    assert job["result"]["vendor"]["provider"] == "sync-labs"
    assert job["result"]["vendor"]["job_id"] in server.jobs
    assert job["result"]["render"]["method"] == "sync-labs lipsync-2"
    assert "/v1/files/" in job["result"]["video_url"], "stored by us, not the vendor's expiring link"
    duration, has_audio, _ = decode(job["result"]["video_url"], tmp_path)
    from reelcore.media import probe

    assert has_audio and abs(duration - probe(other_speech).duration_seconds) < 0.2
    assert_key_kept_out(service, server, job, VENDOR_KEYS["sync-labs"])


def test_auto_takes_a_byok_provider_only_for_owners_with_its_key(keyed: Owner, alice: Owner, media,
                                                                 other_speech) -> None:
    body = {"video_url": upload(keyed, media / "sentence.mp4")["url"],
            "audio_url": upload(keyed, other_speech)["url"]}
    mine = keyed.api.post("/v1/video/lipsync", json=body).json()
    assert mine["provider"] == "sync-labs"
    body = {"video_url": upload(alice, media / "sentence.mp4")["url"],
            "audio_url": upload(alice, other_speech)["url"]}
    theirs = alice.api.post("/v1/video/lipsync", json=body).json()
    assert theirs["provider"] != "sync-labs"
    alice.api.post(f"/v1/video/{theirs['id']}/cancel")
    assert wait_for(keyed, mine["id"])["status"] == "completed"


def test_a_vendor_provider_without_the_owners_key_is_refused_at_once(alice: Owner) -> None:
    response = alice.api.post("/v1/video/lipsync", json={
        "video_url": "https://a.example.com/v.mp4", "audio_url": "https://a.example.com/a.wav",
        "provider": "sync-labs"})
    assert response.status_code == 409, response.text
    assert "PUT /v1/account/provider-keys/sync-labs" in response.json()["error"]["message"]


def test_providers_show_kind_needs_and_why_for_the_caller(alice: Owner, keyed: Owner) -> None:
    rows = {(r["operation"], r["name"]): r for r in alice.api.get("/v1/providers").json()["data"]}
    sync = rows[("lipsync", "sync-labs")]
    assert sync["kind"] == "byok" and not sync["available"]
    assert sync["needs"] == "your own sync-labs key: PUT /v1/account/provider-keys/sync-labs"
    assert "needs your own sync-labs key" in sync["reason"]
    assert rows[("lipsync", "facemesh-lipsync")]["kind"] == "embedded"
    mine = {(r["operation"], r["name"]): r for r in keyed.api.get("/v1/providers").json()["data"]}
    assert mine[("lipsync", "sync-labs")]["available"], mine[("lipsync", "sync-labs")]


def test_a_key_the_vendor_refuses_fails_the_job_with_provider_key_rejected(
        make_owner, vendors, service, media, other_speech) -> None:
    wrong = "sk_sync_wrong_fedcba9876543210"
    owner: Owner = make_owner("wrong-key")
    assert owner.api.put("/v1/account/provider-keys/sync-labs", json={"api_key": wrong}).status_code == 204
    job = wait_for(owner, owner.api.post("/v1/video/lipsync", json={
        "video_url": upload(owner, media / "sentence.mp4")["url"],
        "audio_url": upload(owner, other_speech)["url"], "provider": "sync-labs"}).json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "provider_key_rejected"
    assert "Invalid API key" in job["error"]["message"], "the vendor's own words"
    assert wrong not in str(service.redis().hgetall(f"reelserve:job:{job['id']}"))


def test_a_generation_the_vendor_fails_fails_the_job_with_its_reason(keyed: Owner, vendors, media,
                                                                     other_speech) -> None:
    server = vendors["sync-labs"]
    server.outcome = "REJECTED"
    try:
        job = wait_for(keyed, keyed.api.post("/v1/video/lipsync", json={
            "video_url": upload(keyed, media / "sentence.mp4")["url"],
            "audio_url": upload(keyed, other_speech)["url"], "provider": "sync-labs"}).json()["id"])
    finally:
        server.outcome = "COMPLETED"
    assert job["status"] == "failed"
    assert job["error"]["code"] == "provider_error"
    assert "the face could not be tracked" in job["error"]["message"]


def test_a_rate_limit_is_waited_out(keyed: Owner, vendors, media, other_speech) -> None:
    server = vendors["sync-labs"]
    server.fail(429, times=2, retry_after=0.3, path="/v2/generate", message="Too many requests")
    job = wait_for(keyed, keyed.api.post("/v1/video/lipsync", json={
        "video_url": upload(keyed, media / "sentence.mp4")["url"],
        "audio_url": upload(keyed, other_speech)["url"], "provider": "sync-labs"}).json()["id"])
    assert job["status"] == "completed", job


def test_heygen_animates_a_photo_speaking_our_tts(keyed: Owner, vendors, service, portrait, tmp_path) -> None:
    server = vendors["heygen"]
    job = wait_for(keyed, keyed.api.post("/v1/video/avatar", json={
        "image_url": upload(keyed, portrait)["url"], "text": "Good morning, and welcome.",
        "voice_id": "espeak-ng:en-us", "provider": "heygen"}).json()["id"])
    assert job["status"] == "completed", job
    created = [r for r in server.requests if r.method == "POST" and r.path == "/v3/videos"][-1]
    assert created.headers["x-api-key"] == VENDOR_KEYS["heygen"] and created.body["type"] == "image"
    assert job["result"]["vendor"] == {"provider": "heygen", "job_id": job["result"]["vendor"]["job_id"]}
    assert server.jobs[job["result"]["vendor"]["job_id"]].kind == "videos"
    duration, has_audio, _ = decode(job["result"]["video_url"], tmp_path)
    assert has_audio and 1.0 < duration < 5.0
    assert_key_kept_out(service, server, job, VENDOR_KEYS["heygen"])


def test_heygen_lipsync_refuses_what_it_cannot_do_and_renders_the_rest(keyed: Owner, vendors, media,
                                                                       other_speech, tmp_path) -> None:
    body = {"video_url": upload(keyed, media / "sentence.mp4")["url"],
            "audio_url": upload(keyed, other_speech)["url"], "provider": "heygen-lipsync"}
    looped = keyed.api.post("/v1/video/lipsync", json={**body, "sync_mode": "loop"}).json()
    refused = wait_for(keyed, looped["id"])
    assert refused["status"] == "failed" and refused["error"]["code"] == "invalid_request"
    job = wait_for(keyed, keyed.api.post("/v1/video/lipsync", json=body).json()["id"])
    assert job["status"] == "completed", job
    assert vendors["heygen"].jobs[job["result"]["vendor"]["job_id"]].kind == "lipsyncs"
    duration, has_audio, _ = decode(job["result"]["video_url"], tmp_path)
    assert has_audio and duration > 2


def test_heygen_dubs_into_a_named_language_with_captions(keyed: Owner, vendors, service, media,
                                                        tmp_path) -> None:
    server = vendors["heygen"]
    refused = keyed.api.post("/v1/video/dub", json={"video_url": upload(keyed, media / "sentence.mp4")["url"],
                                                    "target_language": "xh", "provider": "heygen"})
    assert refused.status_code == 409 and "HeyGen dubs into" in refused.json()["error"]["message"]
    job = wait_for(keyed, keyed.api.post("/v1/video/dub", json={
        "video_url": upload(keyed, media / "sentence.mp4")["url"], "target_language": "es-ES",
        "provider": "heygen"}).json()["id"])
    assert job["status"] == "completed", job
    created = [r for r in server.requests if r.path == "/v3/video-translations"][-1]
    assert created.body["output_languages"] == ["Spanish (Spain)"]
    assert "WEBVTT" in __import__("httpx").get(job["result"]["subtitles_url"]).text
    duration, has_audio, _ = decode(job["result"]["video_url"], tmp_path)
    assert has_audio and duration > 1
    assert set(job["result"]["not_given"]) == {"transcript", "translation"}
    assert_key_kept_out(service, server, job, VENDOR_KEYS["heygen"])


def test_canceling_a_job_deletes_the_vendors_job(keyed: Owner, vendors, media) -> None:
    import time

    server = vendors["heygen"]
    server.statuses = lambda kind: ["pending", "running"]  # never finishes on its own
    earlier = set(server.jobs)  # an earlier test's translation was polled too: wait for this one's
    try:
        job_id = keyed.api.post("/v1/video/dub", json={
            "video_url": upload(keyed, media / "sentence.mp4")["url"], "target_language": "de",
            "provider": "heygen"}).json()["id"]
        deadline = time.monotonic() + 60
        while not [j for i, j in server.jobs.items()
                   if i not in earlier and j.kind == "video-translations" and j.polls]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert keyed.api.post(f"/v1/video/{job_id}/cancel").status_code == 200
        while not any(r.method == "DELETE" for r in server.requests):
            assert time.monotonic() < deadline, "HeyGen was never told to stop"
            time.sleep(0.2)
    finally:
        del server.statuses
    assert wait_for(keyed, job_id)["status"] == "canceled"


def test_elevenlabs_dubs_with_the_speakers_voices_and_subtitles(keyed: Owner, vendors, service, media,
                                                               tmp_path) -> None:
    server = vendors["elevenlabs-dub"]
    job = wait_for(keyed, keyed.api.post("/v1/video/dub", json={
        "video_url": upload(keyed, media / "sentence.mp4")["url"], "target_language": "es-ES",
        "source_language": "en", "provider": "elevenlabs"}).json()["id"])
    assert job["status"] == "completed", job
    created = [r for r in server.requests if r.method == "POST"][-1]
    assert created.headers["content-type"].startswith("multipart/form-data")
    assert (created.body["target_lang"], created.body["source_lang"]) == ("es", "en")
    assert job["result"]["vendor"]["provider"] == "elevenlabs"
    assert job["result"]["source_language"] == "en"
    assert "Hola" in __import__("httpx").get(job["result"]["subtitles_url"]).text
    duration, has_audio, _ = decode(job["result"]["video_url"], tmp_path)
    assert has_audio and duration > 1
    assert_key_kept_out(service, server, job, VENDOR_KEYS["elevenlabs"])
    refused = keyed.api.post("/v1/video/dub", json={"video_url": upload(keyed, media / "sentence.mp4")["url"],
                                                    "target_language": "es", "voice_id": "x",
                                                    "provider": "elevenlabs"})
    assert refused.status_code == 409 and "voice_id" in refused.json()["error"]["message"]

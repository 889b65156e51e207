"""Bring your own key: owners store keys for commercial engines; requests that need one
without it are refused at once; keys are encrypted at rest and never appear in a job."""

from __future__ import annotations

import json
import re

from tests.conftest import Owner, Service

KEY = "sk_test_0123456789abcdef"


def test_provider_keys_are_set_listed_and_deleted(make_owner, service: Service) -> None:
    erin: Owner = make_owner("erin")
    assert erin.api.get("/v1/account").json()["provider_keys"] == []
    assert erin.api.put("/v1/account/provider-keys/elevenlabs", json={"api_key": KEY}).status_code == 204
    assert erin.api.get("/v1/account").json()["provider_keys"] == ["elevenlabs"]

    stored = service.redis().hget("reelserve:owner:erin:provider-keys", "elevenlabs")
    assert stored and KEY not in stored, "encrypted at rest"

    assert erin.api.delete("/v1/account/provider-keys/elevenlabs").status_code == 204
    assert erin.api.get("/v1/account").json()["provider_keys"] == []
    missing = erin.api.delete("/v1/account/provider-keys/elevenlabs")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_provider_key_requests_are_validated(alice: Owner) -> None:
    unknown = alice.api.put("/v1/account/provider-keys/openai", json={"api_key": KEY})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"]["fields"][0]["field"] == "provider"
    short = alice.api.put("/v1/account/provider-keys/elevenlabs", json={"api_key": "x"})
    assert short.status_code == 422 and short.json()["error"]["details"]["fields"][0]["field"] == "api_key"


def test_a_request_needing_a_key_the_owner_lacks_is_refused_at_once(make_owner) -> None:
    frank: Owner = make_owner("frank")
    response = frank.api.post("/v1/video/avatar", json={
        "image_url": "https://a.example.com/face.png", "text": "Hello.",
        "voice_id": "elevenlabs:voice-one", "tts_provider": "elevenlabs"})
    assert response.status_code == 409
    reason = response.json()["error"]["details"]["providers"]["v-express"]
    assert "PUT /v1/account/provider-keys/elevenlabs" in reason


def test_an_avatar_spoken_by_elevenlabs_uses_the_owners_key_and_never_stores_it(
    make_owner, service: Service, elevenlabs, portrait, tmp_path
) -> None:
    from tests.conftest import ELEVENLABS_KEY, upload, wait_for
    from tests.elevenlabs_server import RACHEL
    from tests.test_lipsync_avatar import decode

    gina: Owner = make_owner("gina")
    assert gina.api.put("/v1/account/provider-keys/elevenlabs",
                        json={"api_key": ELEVENLABS_KEY}).status_code == 204
    voices = {v["id"] for v in gina.api.get("/v1/voices").json()["data"]}
    assert f"elevenlabs:{RACHEL}" in voices, "the owner's ElevenLabs voices are listed"

    job_id = gina.api.post("/v1/video/avatar", json={
        "image_url": upload(gina, portrait)["url"], "text": "Good morning, and welcome.",
        "voice_id": f"elevenlabs:{RACHEL}", "tts_provider": "elevenlabs"}).json()["id"]
    job = wait_for(gina, job_id)
    assert job["status"] == "completed", job
    spoken = [r for r in elevenlabs.requests if r["path"].endswith("/with-timestamps")]
    assert spoken and spoken[-1]["body"]["text"] == "Good morning, and welcome."
    assert spoken[-1]["headers"]["xi-api-key"] == ELEVENLABS_KEY
    duration, has_audio, _ = decode(job["result"]["video_url"], tmp_path)
    assert has_audio and 1.0 < duration < 5.0
    stored = service.redis().hgetall(f"reelserve:job:{job_id}")
    assert stored and ELEVENLABS_KEY not in str(stored), "the key never enters the job record"


def test_elevenlabs_voices_are_not_listed_without_a_key(alice: Owner) -> None:
    assert not [v for v in alice.api.get("/v1/voices").json()["data"]
                if v["tts_provider"] == "elevenlabs"]


def test_a_replay_answers_as_get_does_even_once_no_provider_could_take_it(
    make_owner, elevenlabs, portrait
) -> None:
    from tests.conftest import ELEVENLABS_KEY, upload, wait_for
    from tests.elevenlabs_server import RACHEL

    hana: Owner = make_owner("hana")
    assert hana.api.put("/v1/account/provider-keys/elevenlabs",
                        json={"api_key": ELEVENLABS_KEY}).status_code == 204
    body = {"image_url": upload(hana, portrait)["url"], "text": "Hello there.",
            "voice_id": f"elevenlabs:{RACHEL}", "tts_provider": "elevenlabs"}
    headers = {"Idempotency-Key": "avatar-once"}
    job_id = hana.api.post("/v1/video/avatar", json=body, headers=headers).json()["id"]
    assert wait_for(hana, job_id)["status"] == "completed"
    # Without the key no provider could take this request now; the job it made still exists.
    assert hana.api.delete("/v1/account/provider-keys/elevenlabs").status_code == 204

    replay = hana.api.post("/v1/video/avatar", json=body, headers=headers)
    shown = hana.api.get(f"/v1/video/{job_id}")
    assert replay.status_code == 202, replay.text
    assert "video_url" in replay.json()["result"] and "video" not in replay.json()["result"]
    assert unsigned(replay.json()) == unsigned(shown.json())


def unsigned(job: dict) -> str:
    """The job with its signed URLs' expiry and signature cut: they change by the second."""
    return re.sub(r"expires=\d+&signature=[0-9a-f]+", "", json.dumps(job, sort_keys=True))


def test_owner_keys_are_encrypted_with_their_own_secret_when_one_is_set() -> None:
    """`provider_key_secret` lets an operator rotate the signing secret without losing every
    owner's stored vendor key; unset, the key follows the signing secret as before."""
    from pydantic import SecretStr

    from reelcore.settings import Settings

    shared = Settings(signing_secret=SecretStr("s" * 32))
    assert shared.provider_key_material() == b"s" * 32
    apart = Settings(signing_secret=SecretStr("s" * 32), provider_key_secret=SecretStr("p" * 32))
    rotated = Settings(signing_secret=SecretStr("t" * 32), provider_key_secret=SecretStr("p" * 32))
    assert apart.provider_key_material() == rotated.provider_key_material() == b"p" * 32

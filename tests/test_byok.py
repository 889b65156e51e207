"""Bring your own key: owners store keys for commercial engines; requests that need one
without it are refused at once; keys are encrypted at rest and never appear in a job."""

from __future__ import annotations

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

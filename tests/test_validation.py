"""Every field rule of the five operations, checked through the real ingress."""

from __future__ import annotations

import pytest

from tests.conftest import Owner

VIDEO = "https://media.example.com/talk.mp4"
AUDIO = "https://media.example.com/voice.wav"
IMAGE = "https://media.example.com/face.png"

VALID = {
    "generate": {"prompt": "a red fox in the snow"},
    "avatar": {"image_url": IMAGE, "audio_url": AUDIO},
    "lipsync": {"video_url": VIDEO, "audio_url": AUDIO},
    "dub": {"video_url": VIDEO, "target_language": "pt-BR"},
    "analyze": {"video_url": VIDEO, "tasks": ["transcribe"]},
}

# (operation, fields that override the valid body, the field named in the error)
INVALID = [
    ("generate", {"prompt": ""}, "prompt"),
    ("generate", {"prompt": "x" * 2001}, "prompt"),
    ("generate", {"prompt": None}, "prompt"),
    ("generate", {"duration_seconds": 0.5}, "duration_seconds"),
    ("generate", {"duration_seconds": 31}, "duration_seconds"),
    ("generate", {"width": 255}, "width"),
    ("generate", {"width": 1921}, "width"),
    ("generate", {"height": 255}, "height"),
    ("generate", {"height": 1081}, "height"),
    ("generate", {"fps": 7}, "fps"),
    ("generate", {"fps": 61}, "fps"),
    ("generate", {"width": "wide"}, "width"),
    ("generate", {"provider": "pika"}, "provider"),
    ("generate", {"webhook_url": "not a url"}, "webhook_url"),
    ("generate", {"webhook_url": "ftp://example.com/hook"}, "webhook_url"),
    ("generate", {"seed": -1}, "seed"),
    ("generate", {"image_url": "file:///etc/passwd"}, "image_url"),
    ("generate", {"steps": 3}, "steps"),
    ("avatar", {"image_url": None}, "image_url"),
    ("avatar", {"image_url": "file:///etc/passwd"}, "image_url"),
    ("avatar", {"audio_url": None}, None),
    ("avatar", {"audio_url": None, "text": "hello"}, None),
    ("avatar", {"text": "hello", "voice_id": "v"}, None),
    ("avatar", {"audio_url": None, "text": "", "voice_id": "v"}, "text"),
    ("avatar", {"audio_url": None, "text": "x" * 10_001, "voice_id": "v"}, "text"),
    ("avatar", {"tts_provider": "polly"}, "tts_provider"),
    ("avatar", {"target_language": "português"}, "target_language"),
    ("avatar", {"provider": "sadtalker"}, "provider"),
    ("lipsync", {"video_url": None}, "video_url"),
    ("lipsync", {"audio_url": None}, "audio_url"),
    ("lipsync", {"provider": "wav2lip"}, "provider"),
    ("lipsync", {"sync_mode": "stretch"}, "sync_mode"),
    ("lipsync", {"face": {"frame": 0, "x": -5, "y": 10}}, "face.x"),
    ("lipsync", {"face": {"frame": 0, "y": 3}}, "face.x"),
    ("dub", {"target_language": None}, "target_language"),
    ("dub", {"target_language": "pt_BR!"}, "target_language"),
    ("dub", {"source_language": "english please"}, "source_language"),
    ("dub", {"lipsync_provider": "wav2lip"}, "lipsync_provider"),
    ("dub", {"tts_provider": "polly"}, "tts_provider"),
    ("dub", {"voice_id": ""}, "voice_id"),
    ("analyze", {"tasks": []}, "tasks"),
    ("analyze", {"tasks": ["summarize"]}, "tasks.0"),
    ("analyze", {"tasks": ["transcribe", "transcribe"]}, None),
    ("analyze", {"tasks": ["qa"]}, None),
    ("analyze", {"tasks": ["qa"], "question": ""}, "question"),
    ("analyze", {"tasks": ["qa"], "question": "   "}, None),
    ("analyze", {"question": "why?"}, None),
    ("analyze", {"provider": "gemini"}, "provider"),
    ("analyze", {"video_url": "javascript:alert(1)"}, "video_url"),
]


@pytest.mark.parametrize(("operation", "change", "field"), INVALID)
def test_invalid_field_is_refused_with_422_naming_it(
    alice: Owner, operation: str, change: dict, field: str | None
) -> None:
    body = {k: v for k, v in {**VALID[operation], **change}.items() if v is not None}
    response = alice.api.post(f"/v1/video/{operation}", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"]
    assert error["details"]["fields"][0]["field"] == field


def test_malformed_json_is_a_422_not_a_500(alice: Owner) -> None:
    response = alice.api.post("/v1/video/generate", content=b"{not json",
                              headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(("operation", "provider", "extra"), [
    ("generate", "cogvideox", {}), ("dub", "auto", {"lipsync_provider": "latentsync"}),
    ("lipsync", "latentsync", {}), ("avatar", "hallo3", {})])
def test_requests_no_available_engine_can_serve_are_refused_at_once(
    alice: Owner, operation: str, provider: str, extra: dict
) -> None:
    response = alice.api.post(f"/v1/video/{operation}",
                              json={**VALID[operation], "provider": provider, **extra})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable"
    assert error["details"]["providers"], "each candidate's reason is named"
    assert all(reason for reason in error["details"]["providers"].values())
    listed = alice.api.get("/v1/video", params={"type": operation, "limit": 100}).json()["data"]
    refused = {**VALID[operation], "provider": provider, **extra}
    assert all(any(job["input"].get(k) != v for k, v in refused.items()) for job in listed), \
        "refused: no job left"


def test_pinned_unavailable_provider_names_its_reason(alice: Owner) -> None:
    body = {**VALID["lipsync"], "provider": "sync-labs"}
    error = alice.api.post("/v1/video/lipsync", json=body).json()["error"]
    assert error["code"] == "provider_unavailable"
    assert "sync-labs" in error["message"] and "key" in error["message"]


def test_analyze_on_an_unconfigured_engine_is_refused_naming_it(alice: Owner) -> None:
    body = {**VALID["analyze"], "tasks": ["transcribe", "scenes"], "provider": "internvideo2.5"}
    response = alice.api.post("/v1/video/analyze", json=body)
    assert response.status_code == 409
    assert "internvideo2.5" in response.json()["error"]["message"]


def test_valid_request_gets_202_with_defaults_applied(alice: Owner) -> None:
    body = {"video_url": "https://media.example.com/unreachable.mp4", "tasks": ["transcribe"]}
    response = alice.api.post("/v1/video/analyze", json=body)
    assert response.status_code == 202
    job = response.json()
    assert job["id"].startswith("vj_") and len(job["id"]) == 29
    assert job["status"] == "pending" and job["progress"] == 0.0
    assert job["type"] == "analyze" and job["provider"] == "reelserve"
    assert job["owner_id"] == "alice"
    assert job["input"]["provider"] == "auto" and job["input"]["question"] is None
    assert job["result"] is None and job["error"] is None and job["completed_at"] is None


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic YWxpY2U6eA=="])
def test_requests_without_a_valid_key_are_401(service, header: str | None) -> None:
    import httpx

    headers = {"Authorization": header} if header else {}
    response = httpx.post(f"{service.base_url}/v1/video/analyze", json=VALID["analyze"],
                          headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_unknown_route_is_a_json_404(alice: Owner) -> None:
    response = alice.api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

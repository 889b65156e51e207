"""Generate through the commercial vendors, each against its local contract server
(tests/runway_server.py, tests/sora_server.py), through the real service: the owner's key
reaches the vendor in its auth header only, the request is fitted to the vendor's menu and says
so, the output is stored by us and decoded, vendor failures keep the vendor's code and job id,
cancel reaches the vendor, and what a vendor cannot render is refused at submission."""

from __future__ import annotations

import time
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from deployments.sora import SoraEngine
from reelcore.engine import Unavailable
from tests.conftest import VENDOR_KEYS, Owner, Service, upload, wait_for
from tests.test_byok_vendors import assert_key_kept_out

PROMPT = "a lighthouse on a cliff at dusk, waves below"


@pytest.fixture(scope="module")
def keyed(make_owner) -> Owner:
    owner: Owner = make_owner("generate-vendor-user")
    for provider in ("runway", "sora"):
        assert owner.api.put(f"/v1/account/provider-keys/{provider}",
                             json={"api_key": VENDOR_KEYS[provider]}).status_code == 204
    return owner


def decoded(url: str, path: Path) -> tuple[np.ndarray, float, float]:
    """The video at `url` as RGB frames, its frame rate and its duration."""
    path.write_bytes(httpx.get(url).content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        return frames, float(stream.average_rate), container.duration / av.time_base


def generate(owner: Owner, **fields) -> dict:
    response = owner.api.post("/v1/video/generate", json={"prompt": PROMPT, **fields})
    assert response.status_code == 202, response.text
    return wait_for(owner, response.json()["id"], timeout=180)


def test_runway_renders_text_to_video_fitted_to_its_menu(keyed: Owner, vendors, service: Service,
                                                         tmp_path) -> None:
    server = vendors["runway"]
    job = generate(keyed, width=768, height=512, duration_seconds=3, fps=30, seed=42)
    assert job["status"] == "completed", job
    assert job["provider"] == "runway", "auto takes the BYOK provider for an owner with its key"
    created = [r for r in server.requests if r.method == "POST"][-1]
    assert created.path == "/v1/text_to_video"
    assert created.headers["authorization"] == f"Bearer {VENDOR_KEYS['runway']}"
    assert created.headers["x-runway-version"] == "2024-11-06"
    assert created.body == {"model": "gen4.5", "promptText": PROMPT, "ratio": "1280:720", "duration": 3,
                            "seed": 42}
    result = job["result"]
    assert result["vendor"]["provider"] == "runway" and result["vendor"]["job_id"] in server.jobs
    assert result["render"]["ratio"] == "1280:720" and result["render"]["asked"]["fps"] == 30
    assert "/v1/files/" in result["video_url"], "stored by us, not the vendor's expiring link"
    frames, fps, duration = decoded(result["video_url"], tmp_path / "runway.mp4")
    assert frames.shape[1:3] == (720, 1280) and (result["width"], result["height"]) == (1280, 720)
    assert fps == result["fps"] == 24 and abs(duration - 3) < 0.1 and len(frames) == result["frames"] == 72
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 5, "the frames move"
    assert result["seed"] == 42
    assert_key_kept_out(service, server, job, VENDOR_KEYS["runway"])


def test_runway_image_to_video_starts_from_the_given_picture(keyed: Owner, vendors, portrait,
                                                            tmp_path) -> None:
    job = generate(keyed, image_url=upload(keyed, portrait)["url"], width=512, height=512,
                   duration_seconds=2, provider="runway")
    assert job["status"] == "completed", job
    created = [r for r in vendors["runway"].requests if r.method == "POST"][-1]
    assert created.path == "/v1/image_to_video" and created.body["ratio"] == "960:960"
    assert created.body["promptImage"].startswith("http"), "a link Runway fetches itself"
    frames, _, _ = decoded(job["result"]["video_url"], tmp_path / "i2v.mp4")
    with av.open(str(portrait)) as container:
        picture = next(container.decode(video=0)).reformat(960, 960).to_ndarray(format="rgb24")
    correlation = np.corrcoef(frames[0].astype(float).ravel(), picture.astype(float).ravel())[0, 1]
    assert correlation > 0.8, f"the first frame is the picture (r={correlation:.2f})"
    assert job["result"]["render"]["mode"] == "image-to-video"


def test_what_runway_cannot_render_is_refused_at_submission(keyed: Owner) -> None:
    too_long = keyed.api.post("/v1/video/generate", json={"prompt": PROMPT, "duration_seconds": 15,
                                                          "provider": "runway"})
    assert too_long.status_code == 409, too_long.text
    assert "at most 10 s" in too_long.json()["error"]["message"]
    negative = keyed.api.post("/v1/video/generate", json={"prompt": PROMPT, "negative_prompt": "fog",
                                                          "provider": "runway"})
    assert negative.status_code == 409 and "negative prompt" in negative.json()["error"]["message"]


def test_a_task_runway_fails_keeps_its_code_and_task_id(keyed: Owner, vendors) -> None:
    job = generate(keyed, prompt="SAFETY test: a forbidden scene", duration_seconds=2, provider="runway")
    assert job["status"] == "failed"
    error = job["error"]
    assert error["code"] == "provider_error" and "SAFETY.INPUT.TEXT" in error["message"]
    assert error["details"]["vendor_code"] == "SAFETY.INPUT.TEXT"
    assert error["details"]["vendor_job_id"] in vendors["runway"].jobs


def test_canceling_a_generation_cancels_runways_task(keyed: Owner, vendors) -> None:
    server = vendors["runway"]
    server.statuses = lambda kind: ["PENDING", "RUNNING"]  # never finishes on its own
    try:
        job_id = keyed.api.post("/v1/video/generate", json={"prompt": PROMPT, "duration_seconds": 2,
                                                            "provider": "runway"}).json()["id"]
        deadline = time.monotonic() + 60
        while not [j for j in server.jobs.values() if j.polls and j.statuses[-1] == "RUNNING"]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert keyed.api.post(f"/v1/video/{job_id}/cancel").status_code == 200
        while not any(r.method == "DELETE" and r.path.startswith("/v1/tasks/") for r in server.requests):
            assert time.monotonic() < deadline, "Runway was never told to stop"
            time.sleep(0.2)
    finally:
        del server.statuses
    assert wait_for(keyed, job_id)["status"] == "canceled"


def test_sora_renders_through_the_videos_api_contract(keyed: Owner, vendors, service: Service,
                                                      portrait, tmp_path) -> None:
    server = vendors["sora"]
    job = generate(keyed, image_url=upload(keyed, portrait)["url"], width=512, height=900,
                   duration_seconds=3, provider="sora")
    assert job["status"] == "completed", job
    created = [r for r in server.requests if r.method == "POST"][-1]
    assert created.headers["content-type"].startswith("multipart/form-data")
    assert created.headers["authorization"] == f"Bearer {VENDOR_KEYS['sora']}"
    assert {k: created.body[k] for k in ("model", "seconds", "size")} == \
        {"model": "sora-2", "seconds": "4", "size": "720x1280"}, "strings from Sora's menu"
    assert isinstance(created.body["input_reference"], bytes), "the first frame, uploaded at the video's size"
    content = [r for r in server.requests if r.path.endswith("/content")][-1]
    assert content.headers["authorization"] == f"Bearer {VENDOR_KEYS['sora']}"
    result = job["result"]
    assert result["seed"] is None, "Sora takes no seed; none is reported"
    frames, fps, duration = decoded(result["video_url"], tmp_path / "sora.mp4")
    assert frames.shape[1:3] == (1280, 720) and fps == 30 and abs(duration - 4) < 0.1
    assert_key_kept_out(service, server, job, VENDOR_KEYS["sora"])


def test_a_video_sora_fails_keeps_its_error_code(keyed: Owner) -> None:
    job = generate(keyed, prompt="FAIL this one", duration_seconds=2, provider="sora")
    assert job["status"] == "failed" and job["error"]["details"]["vendor_code"] == "moderation_blocked"
    assert "blocked by our moderation system" in job["error"]["message"]


def test_sora_pointed_at_openai_says_the_api_was_retired() -> None:
    with pytest.raises(Unavailable, match="shut down its Videos API"):
        SoraEngine().load()
    SoraEngine(base_url="https://sora.example.com").load()  # a compatible server is fine


def test_providers_list_the_generate_vendors_for_whoever_holds_a_key(keyed: Owner, alice: Owner) -> None:
    def generators(owner: Owner) -> dict[str, dict]:
        rows = owner.api.get("/v1/providers").json()["data"]
        return {r["name"]: r for r in rows if r["operation"] == "generate"}

    mine, theirs = generators(keyed), generators(alice)
    assert mine["runway"]["available"] and mine["runway"]["kind"] == "byok"
    assert mine["sora"]["available"] and mine["sora"]["kind"] == "byok"
    assert not theirs["runway"]["available"]
    assert "PUT /v1/account/provider-keys/runway" in theirs["runway"]["reason"]

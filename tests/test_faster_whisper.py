"""The faster-whisper engine on its own: real model, real audio; and unavailable when absent."""

from __future__ import annotations

import itertools

import pytest

from deployments.faster_whisper import FasterWhisperEngine
from reelcore.capabilities.asr import TranscribeRequest
from reelcore.engine import Call, Unavailable
from reelcore.errors import UnsupportedMedia
from reelcore.media import MediaRef, probe
from tests.conftest import SENTENCE


def quiet(tmp_path) -> Call:
    return Call(lambda _: None, tmp_path)


def request_for(path) -> TranscribeRequest:
    return TranscribeRequest(audio=MediaRef(key="test", media=probe(path), path=path))


@pytest.fixture(scope="module")
def engine() -> FasterWhisperEngine:
    engine = FasterWhisperEngine(device="cpu", compute_type="int8", cpu_threads=2)
    engine.load()
    return engine


def test_transcribes_speech_with_word_timings_and_reports_progress(engine, media) -> None:
    reports: list[float] = []
    transcript = engine.transcribe(request_for(media / "sentence.wav"), Call(reports.append, media))
    assert transcript.text.strip(" .").lower() == SENTENCE.strip(".").lower()
    words = [w for s in transcript.segments for w in s.words]
    assert [w.word.strip(".").lower() for w in words] == SENTENCE.strip(".").lower().split()
    assert all(a.end <= b.start + 0.01 for a, b in itertools.pairwise(words)), "words in order"
    assert reports and reports == sorted(reports) and reports[-1] <= 1.0
    assert engine.describe() == {"model": "tiny.en", "device": "cpu", "multilingual": False}


def test_refuses_media_without_audio(engine, media, tmp_path) -> None:
    with pytest.raises(UnsupportedMedia):
        engine.transcribe(request_for(media / "silent.mp4"), quiet(tmp_path))


def test_silence_gives_an_empty_transcript(engine, tmp_path) -> None:
    import subprocess

    subprocess.run(["espeak-ng", "-w", str(tmp_path / "quiet.wav"), " "], check=True)
    transcript = engine.transcribe(request_for(tmp_path / "quiet.wav"), quiet(tmp_path))
    assert transcript.segments == []


def test_missing_weights_make_the_engine_unavailable_with_the_reason(tmp_path) -> None:
    engine = FasterWhisperEngine(model_path=str(tmp_path / "large-v3"))
    with pytest.raises(Unavailable, match=r"large-v3.*model\.bin"):
        engine.load()


@pytest.mark.gpu
def test_loads_on_cuda_with_float16(media, tmp_path) -> None:
    """On the GPU machine: the same engine on CUDA (set WHISPER_MODEL_PATH for a larger model)."""
    import os

    engine = FasterWhisperEngine(model_path=os.environ.get("WHISPER_MODEL_PATH"), device="cuda",
                                 compute_type="float16")
    engine.load()
    assert engine.describe()["device"] == "cuda"
    transcript = engine.transcribe(request_for(media / "sentence.wav"), quiet(tmp_path))
    assert "weekly report" in transcript.text.lower()


def test_the_packaged_multilingual_base_model_detects_the_language(media, tmp_path) -> None:
    from tests.media import speech

    engine = FasterWhisperEngine(model_name="base", device="cpu", cache_dir=str(tmp_path / "c"))
    engine.load()
    assert engine.describe()["multilingual"] is True
    assert (tmp_path / "c" / "whisper-base" / "model.bin").stat().st_size > 100e6, "parts joined"
    spanish = speech("Buenos días. Hoy vamos a hablar del tiempo en la ciudad.",
                     tmp_path / "es.wav", voice="es")
    transcript = engine.transcribe(request_for(spanish), quiet(tmp_path))
    assert transcript.language == "es" and transcript.language_probability > 0.5
    assert "días" in transcript.text.lower() or "dias" in transcript.text.lower()
    english = engine.transcribe(request_for(media / "sentence.wav"), quiet(tmp_path))
    assert english.language == "en" and "weekly report" in english.text.lower()


def test_an_unknown_packaged_model_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="no packaged Whisper model 'large-v3'"):
        FasterWhisperEngine(model_name="large-v3").load()

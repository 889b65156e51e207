"""The ElevenLabs backend against a local server keeping ElevenLabs' documented HTTP contract."""

from __future__ import annotations

import socket
import time
import wave
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from deployments.voices.elevenlabs import ElevenLabsBackend
from reelcore.errors import (
    InvalidRequest,
    ProviderError,
    ProviderKeyRejected,
    ProviderRateLimited,
    ProviderTimeout,
    VoiceNotFound,
)
from tests.conftest import SENTENCE
from tests.elevenlabs_server import GEORGE, RACHEL, ElevenLabsServer

KEY = "sk_test_el_0123456789abcdef"


@pytest.fixture
def server() -> Iterator[ElevenLabsServer]:
    server = ElevenLabsServer(KEY)
    yield server
    server.close()


@pytest.fixture
def backend(server: ElevenLabsServer) -> ElevenLabsBackend:
    return ElevenLabsBackend(base_url=server.url(""), request_timeout_s=10, backoff_s=0.05)


def test_speech_is_the_servers_audio_with_word_timings(server, backend, tmp_path: Path) -> None:
    backend.load()
    words = backend.speak(SENTENCE, RACHEL, "en-US", 1.0, tmp_path / "speech.wav", KEY)

    pcm, rate = server.spoken[-1]
    with wave.open(str(tmp_path / "speech.wav")) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000) == (1, 2, rate)
        assert wav.readframes(wav.getnframes()) == pcm
        duration = wav.getnframes() / wav.getframerate()
    assert duration > 2

    assert [w.word for w in words] == SENTENCE.split()
    assert all(0 <= w.start < w.end <= duration + 0.001 for w in words)
    assert all(a.end <= b.start for a, b in pairwise(words))
    audio = np.abs(np.frombuffer(pcm, dtype=np.int16))
    assert all(audio[int(w.start * rate):int(w.end * rate)].max() > 1000 for w in words), "each word is heard"

    request = server.requests[-1]
    assert request["method"] == "POST" and request["path"] == f"/v1/text-to-speech/{RACHEL}/with-timestamps"
    assert request["headers"]["xi-api-key"] == KEY
    assert request["query"] == {"output_format": "pcm_24000"}
    assert request["body"] == {"text": SENTENCE, "model_id": "eleven_multilingual_v2"}


def test_speed_and_language_go_in_the_documented_fields(server, tmp_path: Path) -> None:
    flash = ElevenLabsBackend(base_url=server.url(""), model_id="eleven_flash_v2_5")
    flash.speak(SENTENCE, GEORGE, "en-GB", 1.0, tmp_path / "normal.wav", KEY)
    flash.speak(SENTENCE, GEORGE, "en-GB", 1.2, tmp_path / "fast.wav", KEY)

    assert server.requests[-1]["body"] == {"text": SENTENCE, "model_id": "eleven_flash_v2_5",
                                           "language_code": "en", "voice_settings": {"speed": 1.2}}
    normal, fast = (len(pcm) for pcm, _ in server.spoken)
    assert fast < normal * 0.9, "the faster speech is shorter"


def test_a_speed_elevenlabs_does_not_offer_is_refused_before_any_call(server, backend, tmp_path) -> None:
    with pytest.raises(InvalidRequest, match=r"0\.7 to 1\.2"):
        backend.speak(SENTENCE, RACHEL, "en-US", 2.0, tmp_path / "x.wav", KEY)
    assert server.requests == []


def test_a_wrong_key_is_reported_as_rejected_without_the_key(server, backend, tmp_path) -> None:
    wrong = "sk_wrong_key_fedcba9876543210"
    for attempt in (lambda: backend.speak(SENTENCE, RACHEL, "en-US", 1.0, tmp_path / "x.wav", wrong),
                    lambda: backend.voices(wrong)):
        with pytest.raises(ProviderKeyRejected) as caught:
            attempt()
        assert "ElevenLabs refused your API key (401 invalid_api_key: Invalid API key)" in caught.value.message
        assert caught.value.details["vendor_status"] == 401
        assert wrong not in str(caught.value.to_dict())
    assert server.requests[0]["headers"]["xi-api-key"] == wrong


def test_an_unknown_voice_is_voice_not_found(backend, tmp_path) -> None:
    with pytest.raises(VoiceNotFound, match="nobody"):
        backend.speak(SENTENCE, "nobody", "en-US", 1.0, tmp_path / "x.wav", KEY)


def test_a_rate_limit_is_retried_then_reported(server, backend, tmp_path) -> None:
    server.busy = True
    with pytest.raises(ProviderRateLimited, match=r"rate-limiting.*too_many_concurrent_requests"):
        backend.speak(SENTENCE, RACHEL, "en-US", 1.0, tmp_path / "x.wav", KEY)
    assert len(server.requests) == 5, "the first try and four retries"
    server.busy = False
    server.requests.clear()
    server.fail_next = 1  # one 429, then speech
    assert backend.speak(SENTENCE, RACHEL, "en-US", 1.0, tmp_path / "x.wav", KEY)
    assert len(server.requests) == 2


def test_voices_lists_the_accounts_voices(server, backend) -> None:
    voices = {v.id: v for v in backend.voices(KEY)}
    assert set(voices) == {f"elevenlabs:{RACHEL}", f"elevenlabs:{GEORGE}"}
    assert voices[f"elevenlabs:{RACHEL}"].languages == ["en-US", "en"]
    assert voices[f"elevenlabs:{GEORGE}"].languages == ["mul"], "no verified language: multiple"
    assert voices[f"elevenlabs:{RACHEL}"].native == ["en-US", "en"], "verified: native"
    assert voices[f"elevenlabs:{GEORGE}"].native == [], "`mul` is no native language"
    assert {(v.tts_provider, v.quality) for v in voices.values()} == {("elevenlabs", "neural")}
    assert voices[f"elevenlabs:{GEORGE}"].name == "George"
    assert server.requests[-1]["headers"]["xi-api-key"] == KEY


def test_a_server_that_never_answers_is_a_provider_timeout(tmp_path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        backend = ElevenLabsBackend(base_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
                                    request_timeout_s=0.5, deadline_s=2, backoff_s=0.1)
        began = time.monotonic()
        with pytest.raises(ProviderTimeout, match=r"within 2 s"):
            backend.speak(SENTENCE, RACHEL, "en-US", 1.0, tmp_path / "x.wav", KEY)
        assert time.monotonic() - began < 5


def test_an_unreachable_server_is_a_provider_error(tmp_path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(ProviderError, match="could not reach ElevenLabs"):
            ElevenLabsBackend(base_url=f"http://127.0.0.1:{port}", backoff_s=0.01).voices(KEY)

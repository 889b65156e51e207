"""A small real ElevenLabs API on 127.0.0.1 for tests, speaking with espeak-ng.

It keeps the documented contract the backend relies on: the `xi-api-key` header (401
`invalid_api_key` otherwise), `GET /v1/voices`, `POST /v1/text-to-speech/{voice_id}/with-timestamps`
answering base64 `pcm_<rate>` audio with a start and end time per input character, 404
`voice_not_found`, 422 field errors, 429 `too_many_concurrent_requests` while `busy`. Each voice
speaks through an espeak-ng voice; character times come from espeak-ng's own word events. Every
request is recorded, and so is every piece of audio sent back.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import threading
import wave
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np

from deployments.voices.espeak import EspeakBackend
from reelcore.schemas import Word
from tests.servers import _Server

RACHEL, GEORGE = "21m00Tcm4TlvDq8ikWAM", "JBFqnCBsd6RMkjVDRZzb"
VOICES = [
    {"voice_id": RACHEL, "name": "Rachel", "category": "premade", "description": "Calm narrator.",
     "labels": {"accent": "american", "gender": "female", "age": "young", "use_case": "narration"},
     "preview_url": None, "high_quality_base_model_ids": ["eleven_multilingual_v2"],
     "verified_languages": [{"language": "en", "model_id": "eleven_multilingual_v2",
                             "accent": "american", "locale": "en-US", "preview_url": None}]},
    {"voice_id": GEORGE, "name": "George", "category": "premade", "description": "Warm storyteller.",
     "labels": {"accent": "british", "gender": "male", "age": "middle_aged", "use_case": "narration"},
     "preview_url": None, "high_quality_base_model_ids": [], "verified_languages": []},
]
ESPEAK_VOICE = {RACHEL: "en-us", GEORGE: "en-gb"}


class ElevenLabsServer(_Server):
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.busy = False
        self.fail_next = 0
        """Answer this many more speech requests 429 (as `busy` does for all of them)."""
        self.requests: list[dict] = []
        self.spoken: list[tuple[bytes, int]] = []  # (PCM sent back, its sample rate)
        self.espeak = EspeakBackend()
        self.espeak.load()
        self.lock = threading.Lock()  # libespeak-ng holds one global synthesiser
        super().__init__(_ElevenLabsHandler)

    def speak(self, text: str, voice_id: str, speed: float, rate: int) -> tuple[bytes, dict]:
        """espeak-ng's speech resampled to `rate`, and its time per character."""
        with self.lock, tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "speech.wav"
            words = self.espeak.speak(text, ESPEAK_VOICE[voice_id], "en", speed, path)
            with wave.open(str(path)) as wav:
                source_rate = wav.getframerate()
                samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
            duration = len(samples) / source_rate
            at = np.arange(round(duration * rate)) / rate
            pcm = np.interp(at, np.arange(len(samples)) / source_rate, samples).astype("<i2").tobytes()
            self.spoken.append((pcm, rate))
        return pcm, alignment(text, words, duration)


def alignment(text: str, words: list[Word], duration: float) -> dict:
    """Each word's characters span espeak-ng's time for the word; characters between words
    (spaces, punctuation) take the time between, linearly."""
    positions, times, cursor = [], [], 0
    for word in words:
        start = text.find(word.word, cursor)
        if start >= 0:
            cursor = start + len(word.word)
            positions += [start, cursor]
            times += [word.start, word.end]
    if not positions or positions[0] > 0:
        positions, times = [0, *positions], [0.0, *times]
    if positions[-1] < len(text):
        positions, times = [*positions, len(text)], [*times, duration]
    edges = np.round(np.interp(np.arange(len(text) + 1), positions, times), 3).tolist()
    return {"characters": list(text), "character_start_times_seconds": edges[:-1],
            "character_end_times_seconds": edges[1:]}


class _ElevenLabsHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        server: ElevenLabsServer = self.server.owner  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        server.requests.append({"method": self.command, "path": parts.path, "query": query, "body": body,
                                "headers": {k.lower(): v for k, v in self.headers.items()}})
        if self.headers.get("xi-api-key") != server.api_key:
            return self._json(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        if self.command == "GET" and parts.path == "/v1/voices":
            return self._json(200, {"voices": VOICES})
        speech = re.fullmatch(r"/v1/text-to-speech/([^/]+)/with-timestamps", parts.path)
        if self.command == "POST" and speech:
            return self._speak(server, unquote(speech[1]), query, body)
        self._json(404, {"detail": "Not Found"})

    def _speak(self, server: ElevenLabsServer, voice_id: str, query: dict, body: object) -> None:
        if voice_id not in ESPEAK_VOICE:
            missing = f"A voice with the voice_id {voice_id} was not found."
            return self._json(404, {"detail": {"status": "voice_not_found", "message": missing}})
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"].strip():
            return self._json(422, {"detail": [{"loc": ["body", "text"], "msg": "Field required",
                                                "type": "missing"}]})
        rate = re.fullmatch(r"pcm_(8000|16000|22050|24000|32000|44100|48000)", query.get("output_format", ""))
        if not rate:  # the real default is mp3_44100_128; this server makes PCM only
            return self._json(422, {"detail": [{"loc": ["query", "output_format"], "type": "value_error",
                                                "msg": "this test server makes only pcm_<rate> audio"}]})
        if server.busy or server.fail_next > 0:
            server.fail_next -= 1
            return self._json(429, {"detail": {"status": "too_many_concurrent_requests",
                                               "message": "Too many concurrent requests for your plan."}})
        speed = (body.get("voice_settings") or {}).get("speed", 1.0)
        pcm, timing = server.speak(body["text"], voice_id, speed, int(rate[1]))
        self._json(200, {"audio_base64": base64.b64encode(pcm).decode(), "alignment": timing,
                         "normalized_alignment": timing})

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

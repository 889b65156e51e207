"""ElevenLabs: hosted neural voices, used with the caller's own API key (BYOK).

Speech comes from `POST /v1/text-to-speech/{voice_id}/with-timestamps` as raw 16-bit mono PCM at
24 kHz (`pcm_24000`, open to every plan) with a start and end time for each input character,
which become word timings here. Requests go through the vendor layer every commercial engine
shares (deployments/vendor_http.py: retries on 429/5xx honouring `Retry-After`, one deadline per
call, ElevenLabs' errors on our stable codes with its words in `details`); an unknown voice is
`voice_not_found`. The key travels only in the `xi-api-key` header.
"""

from __future__ import annotations

import base64
import wave
from itertools import groupby
from pathlib import Path
from urllib.parse import quote

import httpx

from deployments.vendor_http import Vendor, VendorConfig
from reelcore.errors import InvalidRequest, VoiceNotFound
from reelcore.schemas import Voice, Word

RATE = 24000
OUTPUT_FORMAT = f"pcm_{RATE}"
SPEEDS = (0.7, 1.2)
"""The range ElevenLabs documents for `voice_settings.speed`."""
DETECTS_LANGUAGE = {"eleven_multilingual_v2"}
"""Models that take no `language_code`: they read the language from the text itself."""
MISSING_VOICE = {"voice_not_found", "voice_does_not_exist"}
"""`detail.status` for an unknown voice: now with 404, formerly with 400."""


class ElevenLabsBackend:
    name = "elevenlabs"
    concurrent = True  # independent HTTP requests

    def __init__(self, base_url: str = "https://api.elevenlabs.io",
                 model_id: str = "eleven_multilingual_v2", **limits: float) -> None:
        """`limits`: the vendor layer's request_timeout_s, deadline_s, max_retries, backoff_s."""
        self.model_id = model_id
        self.vendor = Vendor("ElevenLabs", VendorConfig(base_url=base_url, **{"deadline_s": 300, **limits}),
                             auth=lambda key: {"xi-api-key": key}, key_name="elevenlabs")

    def load(self) -> None:
        """Nothing to load: the voices run at ElevenLabs, reached per call with the caller's key."""

    def voices(self, api_key: str) -> list[Voice]:
        listing = self._call("GET", "/v1/voices", api_key).json()["voices"]
        return [self._voice(v) for v in listing]

    def _voice(self, voice: dict) -> Voice:
        """Native in the languages ElevenLabs verified this voice in with our model; with none
        verified, `mul` (BCP-47 for "multiple languages"): the model speaks many, none native."""
        tags: list[str] = []
        for entry in voice.get("verified_languages") or []:
            if entry.get("model_id") == self.model_id:
                tags += [t for t in (entry.get("locale"), entry.get("language")) if t and t not in tags]
        return Voice(id=f"elevenlabs:{voice['voice_id']}", name=voice.get("name") or voice["voice_id"],
                     tts_provider=self.name, languages=tags or ["mul"], native=tags, quality="neural")

    def speak(self, text: str, voice: str, language: str, speed: float, out: Path,
              api_key: str) -> list[Word]:
        """Say `text` in ElevenLabs' voice `voice` (its voice_id) into the WAV file `out`;
        return the word timings."""
        if not SPEEDS[0] <= speed <= SPEEDS[1]:
            raise InvalidRequest(f"ElevenLabs voices speak at speed {SPEEDS[0]} to {SPEEDS[1]}, not {speed}")
        body: dict = {"text": text, "model_id": self.model_id}
        code = language.split("-")[0].lower()
        if self.model_id not in DETECTS_LANGUAGE and len(code) == 2:  # ISO 639-1 only; not `mul`
            body["language_code"] = code
        if speed != 1:
            body["voice_settings"] = {"speed": speed}
        answer = self._call("POST", f"/v1/text-to-speech/{quote(voice, safe='')}/with-timestamps",
                            api_key, params={"output_format": OUTPUT_FORMAT}, json=body).json()
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(base64.b64decode(answer["audio_base64"]))
        return words(answer.get("alignment"))

    def _call(self, method: str, path: str, api_key: str, **kwargs) -> httpx.Response:
        with self.vendor.session(api_key) as http:
            try:
                return http.request(method, path, **kwargs)
            except InvalidRequest as exc:
                if exc.details.get("vendor_status") == 404 or exc.details.get("vendor_code") in MISSING_VOICE:
                    raise VoiceNotFound(f"ElevenLabs has no such voice ({exc.details['vendor_message']})",
                                        exc.details) from None
                raise


def words(alignment: dict | None) -> list[Word]:
    """Characters between whitespace make a word, from its first one's start to its last one's end."""
    if not alignment:
        return []
    timed = zip(alignment["characters"], alignment["character_start_times_seconds"],
                alignment["character_end_times_seconds"], strict=True)
    found = []
    for blank, group in groupby(timed, key=lambda c: c[0].isspace()):
        if not blank:
            chars = list(group)
            found.append(Word(start=round(chars[0][1], 3), end=round(chars[-1][2], 3),
                              word="".join(c for c, _, _ in chars), probability=1.0))
    return found

"""Text to speech: one engine over several voice backends (deployments/voices/).

`tts_provider: default` picks the most natural voice that speaks the language: Piper for US
English (a native neural voice), Kokoro for Portuguese (neural, slight accent), espeak-ng for
everything else. Results carry word timings where the backend has them (espeak-ng).
"""

from __future__ import annotations

import wave
from typing import Literal

from pydantic import BaseModel, Field

from deployments.base import Call, Engine, OutputFile, Unavailable
from deployments.voices.espeak import EspeakBackend
from deployments.voices.kokoro import KokoroBackend
from deployments.voices.piper import PiperBackend
from serve_app.errors import InvalidRequest, VoiceNotFound
from serve_app.schemas import LanguageTag, TtsProvider, Voice, VoiceList, Word

PREFERENCE = ("piper", "kokoro", "espeak-ng")
"""Most natural first; a backend is chosen only for languages it lists natively."""


class TtsConfig(BaseModel):
    backends: list[Literal["kokoro", "piper", "espeak-ng"]] = ["kokoro", "piper", "espeak-ng"]
    kokoro_cache_dir: str | None = Field(
        None, description="Writable folder where Kokoro's model is assembled once."
    )


class SynthesizeRequest(BaseModel):
    text: str = Field(..., min_length=1, max_length=10_000)
    language: LanguageTag | None = Field(
        None, description="Default: the voice's own language, or en-US without a voice."
    )
    voice_id: str | None = None
    tts_provider: TtsProvider = "default"
    speed: float = Field(1.0, ge=0.5, le=2.0)


class VoicesRequest(BaseModel):
    language: LanguageTag | None = None


class Speech(BaseModel):
    audio: OutputFile
    duration_seconds: float
    voice_id: str
    tts_provider: str
    language: str
    words: list[Word] = Field(default_factory=list, description="Empty when the voice has none.")


def speaks(voice: Voice, language: str) -> bool:
    """Whether `voice` lists `language`, or its base language (pt-BR -> pt)."""
    wanted = {language.lower(), language.split("-")[0].lower()}
    return any(tag.lower() in wanted for tag in voice.languages)


class TtsEngine(Engine):
    Config = TtsConfig
    methods = {"synthesize": SynthesizeRequest, "voices": VoicesRequest}
    config: TtsConfig

    def load(self) -> None:
        candidates = {"espeak-ng": EspeakBackend(), "piper": PiperBackend(),
                      "kokoro": KokoroBackend(self.config.kokoro_cache_dir)}
        self.backends, self.missing = {}, {}
        for name in self.config.backends:
            try:
                candidates[name].load()
                self.backends[name] = candidates[name]
            except Unavailable as exc:
                self.missing[name] = str(exc)
        if not self.backends:
            raise Unavailable("no voice backend could load: " + "; ".join(self.missing.values()))
        self.catalogue = {v.id: v for b in self.backends.values() for v in b.voices()}

    def describe(self) -> dict:
        return {"backends": sorted(self.backends), "unavailable": self.missing,
                "voices": len(self.catalogue)}

    def voices(self, request: VoicesRequest, call: Call) -> VoiceList:
        found = [v for v in self.catalogue.values()
                 if request.language is None or speaks(v, request.language)]
        return VoiceList(data=found)

    def choose(self, request: SynthesizeRequest) -> Voice:
        if request.voice_id:
            voice = self.catalogue.get(request.voice_id)
            if voice is None:
                raise VoiceNotFound(f"no voice {request.voice_id!r}; GET /v1/voices lists them")
            if request.tts_provider not in ("default", voice.tts_provider):
                raise InvalidRequest(f"voice {voice.id} belongs to {voice.tts_provider}, "
                                     f"not {request.tts_provider}")
            return voice
        language = request.language or "en-US"
        order = PREFERENCE if request.tts_provider == "default" else (request.tts_provider,)
        for provider in order:
            if provider not in self.backends:
                continue
            for voice in self.catalogue.values():
                if voice.tts_provider == provider and speaks(voice, language):
                    return voice
        why = self.missing.get(request.tts_provider, "no loaded voice speaks it")
        raise VoiceNotFound(f"no {request.tts_provider} voice for {language}: {why}")

    def synthesize(self, request: SynthesizeRequest, call: Call) -> Speech:
        voice = self.choose(request)
        language = request.language or (voice.languages[0] if request.voice_id else "en-US")
        name = voice.id.split(":", 1)[1]
        path = call.workdir / "speech.wav"
        words = self.backends[voice.tts_provider].speak(request.text, name, language,
                                                        request.speed, path)
        with wave.open(str(path)) as wav:
            duration = wav.getnframes() / wav.getframerate()
        return Speech(audio=OutputFile(path=path, content_type="audio/wav"),
                      duration_seconds=round(duration, 3), voice_id=voice.id,
                      tts_provider=voice.tts_provider, language=language, words=words)

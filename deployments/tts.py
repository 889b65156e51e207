"""Text to speech: one engine over several voice backends (deployments/voices/).

`tts_provider: default` picks a voice by a measured rule (`preferred`): a native voice of the
language unless an accented one is clearly more intelligible. So Piper speaks English (native,
neural), Kokoro's brisker well-understood Japanese voice Portuguese (espeak-ng's native
Portuguese is far less intelligible), and espeak-ng every other language. ElevenLabs is used only when asked
for, with the caller's own key, which arrives with each call. Results carry word timings where
the backend has them (espeak-ng, ElevenLabs).

`synthesize_segments` speaks a dub: one clip per translated segment, each fitted into the time
slot of the speech it replaces (deployments/speech_fit.py), on one track as long as the source.
"""

from __future__ import annotations

import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from deployments.speech_fit import Clip, fit, place_words, read_wav, write_wav
from deployments.voices.elevenlabs import ElevenLabsBackend
from deployments.voices.espeak import EspeakBackend
from deployments.voices.kokoro import KokoroBackend
from deployments.voices.piper import PiperBackend
from reelcore.capabilities.speech import (
    FittedSpeech,
    Speech,
    SynthesizeRequest,
    SynthesizeSegmentsRequest,
    VoiceRequest,
    VoicesRequest,
)
from reelcore.capabilities.timed_text import TimedText
from reelcore.engine import Call, Engine, OutputFile, Unavailable
from reelcore.errors import InvalidRequest, ProviderUnavailable, VoiceNotFound
from reelcore.schemas import Voice, VoiceList, Word

WORD_ERROR_RATE = {
    "pt": {"kokoro:jf_alpha": 0.261, "kokoro:jf_gongitsune": 0.014, "kokoro:jf_nezumi": 0.043,
           "kokoro:jf_tebukuro": 0.174, "kokoro:jm_kumo": 0.043, "espeak-ng:pt-br": 0.623},
    "en": {"kokoro:jf_alpha": 0.134, "kokoro:jf_gongitsune": 0.030, "kokoro:jf_nezumi": 0.030,
           "kokoro:jf_tebukuro": 0.045, "kokoro:jm_kumo": 0.015, "piper:en_US-joe-medium": 0.030,
           "espeak-ng:en-us": 0.104},
}
"""Whisper base's word error rate on each voice's Brazilian Portuguese / US English, by base
language (bench/voices.py, docs/benchmarks.md §15); an unmeasured voice counts as 1.0."""
SPEECH_SECONDS = {
    "pt": {"kokoro:jf_alpha": 33.4, "kokoro:jf_gongitsune": 40.5, "kokoro:jf_nezumi": 37.4,
           "kokoro:jf_tebukuro": 36.8, "kokoro:jm_kumo": 33.7, "espeak-ng:pt-br": 22.0},
    "en": {"kokoro:jf_alpha": 25.5, "kokoro:jf_gongitsune": 29.6, "kokoro:jf_nezumi": 26.7,
           "kokoro:jf_tebukuro": 26.1, "kokoro:jm_kumo": 25.7, "piper:en_US-joe-medium": 18.7,
           "espeak-ng:en-us": 18.5},
}
"""Seconds each voice took to say the same 8 sentences (§15). Among voices Whisper understood
about as well, the brisker one is preferred: a dub fits it into the original time slots with
less speeding up or cutting (jf_gongitsune, the best understood in Portuguese, is also the
slowest, and on the dub test's fixture its lips measured AUC 0.70 against jm_kumo's 0.87)."""
NATIVE_MARGIN = 0.05
"""How much more intelligible an accented voice must measure to beat a native one: about 3 of
the 67-69 words said. Whisper misheard 1 to 2 of them even from the native neural Piper voice
(§15), so a smaller lead is within what one misheard sentence makes."""


class TtsConfig(BaseModel):
    backends: list[Literal["kokoro", "piper", "espeak-ng", "elevenlabs"]] = [
        "kokoro", "piper", "espeak-ng", "elevenlabs"]
    kokoro_cache_dir: str | None = Field(
        None, description="Writable folder where Kokoro's model is assembled once."
    )
    kokoro_threads: int = Field(1, ge=1, le=16, description="ONNX threads per Kokoro call.")
    segment_workers: int = Field(
        1, ge=1, le=16, description="Segments of a dub spoken at once, by backends that allow it.")
    elevenlabs_base_url: str = Field("https://api.elevenlabs.io", description="ElevenLabs API.")
    elevenlabs_model_id: str = "eleven_multilingual_v2"


def speaks(voice: Voice, language: str, natively: bool = False) -> bool:
    """Whether `voice` lists `language` (among its `native` ones, if `natively`), or its base
    language (pt-BR -> pt)."""
    wanted = {language.lower(), language.split("-")[0].lower()}
    return any(tag.lower() in wanted for tag in (voice.native if natively else voice.languages))


def preferred(voices: list[Voice], language: str) -> Voice:
    """The native voice of `language` that sounds most natural (neural before formant), unless
    an accented one measured more intelligible by over NATIVE_MARGIN; then, of the voices within
    NATIVE_MARGIN of the most intelligible, the brisker (SPEECH_SECONDS).
    Ties go to a voice that lists the exact tag (espeak-ng pt-br before pt for pt-BR)."""
    base = language.split("-")[0].lower()
    measured, pace = WORD_ERROR_RATE.get(base, {}), SPEECH_SECONDS.get(base, {})
    rate = {v.id: measured.get(v.id, 1.0) for v in voices}
    inexact = {v.id for v in voices if language.lower() not in map(str.lower, v.languages)}
    best = min(rate.values())
    close = [v for v in voices if rate[v.id] <= best + NATIVE_MARGIN]
    native = [v for v in close if speaks(v, language, natively=True)]
    if native:
        return min(native, key=lambda v: (v.quality != "neural", rate[v.id], v.id in inexact))
    return min(close, key=lambda v: (pace.get(v.id, float("inf")), rate[v.id], v.id in inexact))


class TtsEngine(Engine):
    Config = TtsConfig
    methods = {"synthesize": SynthesizeRequest, "synthesize_segments": SynthesizeSegmentsRequest,
               "voices": VoicesRequest}
    quick = frozenset({"voices"})
    config: TtsConfig

    def load(self) -> None:
        candidates = {"espeak-ng": EspeakBackend(), "piper": PiperBackend(),
                      "kokoro": KokoroBackend(self.config.kokoro_cache_dir, self.config.kokoro_threads),
                      "elevenlabs": ElevenLabsBackend(self.config.elevenlabs_base_url,
                                                      self.config.elevenlabs_model_id)}
        self.backends, self.missing = {}, {}
        for name in self.config.backends:
            try:
                candidates[name].load()
                self.backends[name] = candidates[name]
            except Unavailable as exc:
                self.missing[name] = str(exc)
        self.byok = self.backends.pop("elevenlabs", None)
        if not self.backends:
            raise Unavailable("no voice backend could load: " + "; ".join(self.missing.values()))
        self.catalogue = {v.id: v for b in self.backends.values() for v in b.voices()}

    def describe(self) -> dict:
        return {"backends": sorted(self.backends), "byok": ["elevenlabs"] if self.byok else [],
                "unavailable": self.missing, "voices": len(self.catalogue)}

    def voices(self, request: VoicesRequest, call: Call) -> VoiceList:
        found = list(self.catalogue.values())
        if self.byok and request.api_key:
            found += self.byok.voices(request.api_key.get_secret_value())
        return VoiceList(data=[v for v in found
                               if request.language is None or speaks(v, request.language)])

    def choose(self, request: VoiceRequest) -> Voice:
        if request.tts_provider == "elevenlabs" or (request.voice_id or "").startswith("elevenlabs:"):
            return self.choose_byok(request)
        if request.voice_id:
            voice = self.catalogue.get(request.voice_id)
            if voice is None:
                raise VoiceNotFound(f"no voice {request.voice_id!r}; the voice list names them")
            if request.tts_provider not in ("default", voice.tts_provider):
                raise InvalidRequest(f"voice {voice.id} belongs to {voice.tts_provider}, "
                                     f"not {request.tts_provider}")
            return voice
        language = request.language or "en-US"
        voices = [v for v in self.catalogue.values() if speaks(v, language)
                  and request.tts_provider in ("default", v.tts_provider)]
        if not voices:
            why = self.missing.get(request.tts_provider, "no loaded voice speaks it")
            raise VoiceNotFound(f"no {request.tts_provider} voice for {language}: {why}")
        return preferred(voices, language)

    def choose_byok(self, request: VoiceRequest) -> Voice:
        """ElevenLabs voices live in the caller's account: the call itself checks the id."""
        if self.byok is None:
            raise ProviderUnavailable("the elevenlabs backend is not enabled in this deployment")
        if not (request.voice_id or "").startswith("elevenlabs:"):
            raise VoiceNotFound("pick an elevenlabs:... voice_id from the voice list")
        if request.api_key is None:
            raise ProviderUnavailable("elevenlabs needs your own key; none was given")
        return Voice(id=request.voice_id, name=request.voice_id, tts_provider="elevenlabs",
                     languages=[request.language or "mul"], quality="neural")

    def synthesize(self, request: SynthesizeRequest, call: Call) -> Speech:
        voice = self.choose(request)
        language = spoken_language(request, voice)
        path = call.workdir / "speech.wav"
        words = self.speak_clip(request, voice, language, request.text, request.speed, path)
        with wave.open(str(path)) as wav:
            duration = wav.getnframes() / wav.getframerate()
        return Speech(audio=OutputFile(path=path, content_type="audio/wav"),
                      duration_seconds=round(duration, 3), voice_id=voice.id,
                      tts_provider=voice.tts_provider, language=language, words=words)

    def synthesize_segments(self, request: SynthesizeSegmentsRequest, call: Call) -> FittedSpeech:
        """Say each segment with one voice, then fit every clip into its slot on one track."""
        voice = self.choose(request)
        language = spoken_language(request, voice)
        done = 0

        def say(i: int, segment: TimedText) -> tuple[Clip, list[Word]]:
            nonlocal done
            samples, rate, words = np.zeros(0, np.float32), 0, []
            if segment.text.strip():
                path = call.workdir / f"segment-{i:05d}.wav"
                words = self.speak_clip(request, voice, language, segment.text, 1.0, path)
                samples, rate = read_wav(path)
            done += 1
            call.report(done / (len(request.segments) + 1))
            return Clip(samples, rate, segment.start, segment.end), words

        # Backends whose calls may overlap (ONNX sessions, HTTP) say several segments at once.
        backend = self.byok if voice.tts_provider == "elevenlabs" else self.backends[voice.tts_provider]
        workers = self.config.segment_workers if getattr(backend, "concurrent", False) else 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            spoken = list(pool.map(say, range(len(request.segments)), request.segments))
        clips, said = [c for c, _ in spoken], [w for _, w in spoken]
        fitted = fit(clips, request.total_duration_seconds)
        path = write_wav(call.workdir / "speech.wav", fitted.track, fitted.rate)
        call.report(1.0)
        return FittedSpeech(
            audio=OutputFile(path=path, content_type="audio/wav"),
            duration_seconds=len(fitted.track) / fitted.rate, voice_id=voice.id,
            tts_provider=voice.tts_provider, language=language, placements=fitted.placements,
            words=[w for clip_words, placement in zip(said, fitted.placements, strict=True)
                   for w in place_words(clip_words, placement)])

    def speak_clip(self, request: VoiceRequest, voice: Voice, language: str, text: str, speed: float,
              path: Path) -> list[Word]:
        """Say `text` in `voice` into the WAV file `path`; word timings from the clip's start."""
        name = voice.id.split(":", 1)[1]
        if voice.tts_provider == "elevenlabs":
            assert self.byok is not None and request.api_key is not None
            return self.byok.speak(text, name, language, speed, path,
                                   request.api_key.get_secret_value())
        return self.backends[voice.tts_provider].speak(text, name, language, speed, path)


def spoken_language(request: VoiceRequest, voice: Voice) -> str:
    """The language asked for; else the chosen voice's own, or en-US when none was named."""
    return request.language or (voice.languages[0] if request.voice_id else "en-US")

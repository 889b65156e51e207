"""Text to speech: `synthesize`, `synthesize_segments` (a dub's track) and `voices`."""

from __future__ import annotations

from itertools import pairwise

from pydantic import BaseModel, Field, SecretStr, model_validator

from reelcore.capabilities.timed_text import TimedText
from reelcore.engine import Produced
from reelcore.schemas import LanguageTag, TtsProvider, Word


class VoiceRequest(BaseModel):
    """Which voice speaks, the same way for every synthesis method."""

    language: LanguageTag | None = Field(
        None, description="Default: the voice's own language, or en-US without a voice."
    )
    voice_id: str | None = None
    tts_provider: TtsProvider = "default"
    api_key: SecretStr | None = Field(None, description="The caller's key, for BYOK voices.")


class SynthesizeRequest(VoiceRequest):
    text: str = Field(..., min_length=1, max_length=10_000)
    speed: float = Field(1.0, ge=0.5, le=2.0)


class SynthesizeSegmentsRequest(VoiceRequest):
    segments: list[TimedText] = Field(..., min_length=1)
    total_duration_seconds: float = Field(..., gt=0, description="The source's length: the track's.")

    @model_validator(mode="after")
    def _sorted(self) -> SynthesizeSegmentsRequest:
        if any(b.start < a.start for a, b in pairwise(self.segments)):
            raise ValueError("segments must be sorted by start")
        return self


class VoicesRequest(BaseModel):
    language: LanguageTag | None = None
    api_key: SecretStr | None = Field(None, description="Adds the caller's ElevenLabs voices.")


class Speech(BaseModel):
    audio: Produced
    duration_seconds: float
    voice_id: str
    tts_provider: str
    language: str
    words: list[Word] = Field(default_factory=list, description="Empty when the voice has none.")


class Placement(BaseModel):
    """Where a segment's clip went on the track (start == end: nothing was said)."""

    start: float = Field(description="Seconds from the track's start.")
    end: float
    tempo: float = Field(description="Speed applied, pitch kept: > 1 faster, < 1 slower, 1 untouched.")
    truncated: bool = Field(description="The end was cut off: 1.25x and every gap were not enough.")


class FittedSpeech(Speech):
    """One track as long as the source, each segment's speech fitted into its slot; `words` on
    the track's timeline."""

    placements: list[Placement] = Field(..., description="One per request segment, in order.")

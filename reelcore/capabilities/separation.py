"""Source separation: `separate(SeparateRequest) -> Separation` (voice apart from the rest)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reelcore.engine import Produced
from reelcore.media import MediaRef


class SeparateRequest(BaseModel):
    audio: MediaRef = Field(..., description="A video or audio file; its first audio stream is split.")


class Separation(BaseModel):
    voice: Produced = Field(description="The voice stem (WAV, the model's rate and channels).")
    background: Produced = Field(description="Everything but the voice: the sum of the other stems.")
    sample_rate: int
    duration_seconds: float
    model: str

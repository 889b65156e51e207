"""Mixing a dub's soundtrack: `mix(MixRequest) -> Mix`."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from reelcore.engine import Produced
from reelcore.media import MediaRef

Interval = tuple[float, float]


class MixRequest(BaseModel):
    original: MediaRef = Field(..., description="A video or audio file: its soundtrack is kept.")
    speech: MediaRef = Field(..., description="The new voice track, as long as the original.")
    speech_intervals: list[Interval] = Field(
        ..., description="[start, end] seconds where the original speech is: it is turned down there."
    )
    new_intervals: list[Interval] | None = Field(
        None, description="Where the new voice speaks; ducked too, so a line that borrowed a pause "
        "is not talked over."
    )
    voice: MediaRef | None = Field(None, description="The original's separated voice stem.")
    background: MediaRef | None = Field(None, description="The original minus its voice stem.")

    @model_validator(mode="after")
    def _ordered(self) -> MixRequest:
        for start, end in self.speech_intervals + (self.new_intervals or []):
            if not 0 <= start <= end:
                raise ValueError(f"interval [{start}, {end}] is not 0 <= start <= end")
        if (self.voice is None) != (self.background is None):
            raise ValueError("voice and background come together (the two parts of a separation)")
        return self


class Mix(BaseModel):
    audio: Produced
    duration_seconds: float
    gain: float = Field(description="Scale applied to the whole mix to keep its peak at 0.99; 1: none.")
    method: str = Field(description="'separated' (voice stem removed) or 'speech band ducked'.")

"""Text tied to a slot of the source: what translators, voices and vision models exchange."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class TimedText(BaseModel):
    """Text and the slot of the source (seconds) it belongs to: a segment to say, a passage
    found, a shot with what is said in it."""

    text: str = Field("", max_length=10_000, description="Empty or blank: nothing is said.")
    start: float = Field(..., ge=0)
    end: float = Field(..., ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> TimedText:
        if self.end < self.start:
            raise ValueError(f"segment ends ({self.end}) before it starts ({self.start})")
        return self

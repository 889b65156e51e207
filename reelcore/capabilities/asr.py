"""Speech recognition: `transcribe(TranscribeRequest) -> Transcript`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reelcore.media import MediaRef
from reelcore.schemas import Transcript, Word

__all__ = ["TranscribeRequest", "Transcript", "WordTimings"]


class TranscribeRequest(BaseModel):
    audio: MediaRef
    language: str | None = Field(None, description="ISO 639-1; detected when absent.")
    word_timestamps: bool = True


class WordTimings(BaseModel):
    """The words of some speech with their times, and its language, for shaping a mouth."""

    words: list[Word] = Field(default_factory=list)
    language: str | None = None

"""Chapters: `chapters(ChaptersRequest) -> Chapters` (the timeline cut where the topic changes,
each part titled from its own words), then, where a vision-language model runs,
`title_chapters(TitleChaptersRequest) -> ChapterTitles` (titles written from the frames)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reelcore.capabilities.timed_text import TimedText
from reelcore.media import MediaRef
from reelcore.schemas import Chapter


class ChaptersRequest(BaseModel):
    duration: float = Field(..., gt=0, description="The video's length: the last chapter ends here.")
    segments: list[TimedText] = Field(default_factory=list, max_length=20_000, description="What is said.")
    scenes: list[TimedText] = Field(
        default_factory=list, max_length=20_000,
        description="The shots, each with its description as text: chapters start at their cuts.")
    min_chapter_seconds: float | None = Field(
        None, gt=0, description="The shortest chapter; None: the engine's configured one.")


class Chapters(BaseModel):
    chapters: list[Chapter]
    method: str = Field(description="How they were found and titled, e.g. 'topic shifts (all-MiniLM-L6-v2)'.")


class ChapterSlot(TimedText):
    """A chapter to title: its slot, what is said in it (`text`) and its extracted title."""

    title: str = ""


class TitleChaptersRequest(BaseModel):
    video: MediaRef
    chapters: list[ChapterSlot] = Field(..., min_length=1, max_length=500)


class ChapterTitles(BaseModel):
    titles: list[str] = Field(description="One per requested chapter, in order; empty: no title came.")
    summaries: list[str] = Field(description="One per requested chapter, in order; may be empty.")
    model: str

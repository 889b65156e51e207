"""Vision-language models: `describe_scenes` (what each shot shows, from its frames) and
`answer` (a question about the video, from its frames and retrieved passages)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reelcore.capabilities.timed_text import TimedText
from reelcore.media import MediaRef


class SceneSlot(TimedText):
    """A shot to describe; `text` is what is said in it (may be empty)."""


class DescribeScenesRequest(BaseModel):
    video: MediaRef
    scenes: list[SceneSlot] = Field(..., min_length=1, max_length=5000)


class SceneDescriptions(BaseModel):
    descriptions: list[str] = Field(description="One per requested shot, in order.")
    model: str


class VideoQuestionRequest(BaseModel):
    video: MediaRef
    question: str = Field(..., min_length=1, max_length=2000)
    passages: list[TimedText] = Field(default_factory=list, max_length=50,
                                      description="What retrieval found, best first.")


class GeneratedAnswer(BaseModel):
    answer: str
    cited: list[tuple[float, float]] = Field(description="The [start, end] slots the answer cites.")
    model: str

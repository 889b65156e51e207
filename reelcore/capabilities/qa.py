"""Grounded answers: `answer(AnswerRequest) -> Answer` (passages cited with their times)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator


class Passage(BaseModel):
    start: float = Field(..., ge=0)
    end: float = Field(..., ge=0)
    text: str = Field(..., max_length=10_000)
    kind: Literal["segment", "scene"] = Field(
        "segment", description="segment: transcript (said); scene: a description of what is shown.")

    @model_validator(mode="after")
    def _ordered(self) -> Passage:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class AnswerRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000)
    passages: list[Passage] = Field(default_factory=list, max_length=20_000)
    top_k: int = Field(3, ge=1, le=20, description="How many passages to cite.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank")
        return value.strip()


class Citation(BaseModel):
    start: float
    end: float
    text: str
    kind: Literal["segment", "scene"]
    score: float = Field(description="Cosine similarity plus the shared-words bonus (see the engine).")


class Answer(BaseModel):
    answer: str | None = Field(description="Passages quoted verbatim with their timestamps; nothing generated.")
    citations: list[Citation] = Field(description="The top_k passages, best first.")
    method: str

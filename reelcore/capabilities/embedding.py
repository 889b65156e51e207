"""Text embeddings: `embed(EmbedRequest) -> Embeddings`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from reelcore.engine import Produced

Text = Annotated[str, StringConstraints(max_length=10_000)]


class EmbedRequest(BaseModel):
    texts: list[Text] = Field(..., min_length=1, max_length=10_000)
    kind: Literal["passage", "query"] = Field(
        "passage", description="What the texts are; models with query/passage prefixes use it.")


class Embeddings(BaseModel):
    model: str
    dimension: int
    vectors: list[list[float]] = Field(
        description="One vector per text, in order; empty when they come as `file` instead.")
    file: Produced | None = Field(
        None, description="A float32 .npy array of shape (texts, dimension), for large batches.")

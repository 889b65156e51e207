"""Faces: lipsync engines implement `lipsync(LipsyncInput) -> RenderedVideo`; avatar engines
`animate(AnimateInput) -> RenderedVideo`.

Word timings, when the audio came from our TTS, let an engine place closures and openings
exactly instead of guessing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SecretStr

from reelcore.engine import Produced
from reelcore.media import MediaRef
from reelcore.schemas import FacePick, SyncMode, Word


class LipsyncInput(BaseModel):
    video: MediaRef
    audio: MediaRef
    words: list[Word] = Field(default_factory=list, description="Timings of `audio`, if known.")
    voice: MediaRef | None = Field(
        None, description="The speech alone when `audio` is a mix (a dub's voice over the original "
                          "sound): the mouth follows it, the result carries `audio`.")
    language: str | None = Field(None, description="Language of the words (BCP-47), for their phonemes.")
    sync_mode: SyncMode = "bounce"
    face: FacePick | None = None
    api_key: SecretStr | None = Field(None, description="The owner's key, for a BYOK engine.")


class AnimateInput(BaseModel):
    image: MediaRef
    audio: MediaRef
    words: list[Word] = Field(default_factory=list, description="Timings of `audio`, if known.")
    language: str | None = Field(None, description="Language of the words (BCP-47), for their phonemes.")
    api_key: SecretStr | None = Field(None, description="The owner's key, for a BYOK engine.")


class RenderedVideo(BaseModel):
    video: Produced
    duration_seconds: float
    width: int
    height: int
    fps: float
    render: dict[str, Any] = Field(default_factory=dict, description="How the face was drawn, and why.")

"""Text-to-video (and image-to-video): what every generation engine takes and returns.

Engines implement `generate(GenerateInput, Call) -> GeneratedVideo`, and the quick
`supports(GenerateQuery) -> Support`, which the generate graph asks at submission so that a request
an engine cannot render (too long for one pass, a first frame it cannot take) is refused at once
with the reason, and `auto` moves on to a provider that can.

The engine rounds what it is asked to the model's own grid (sizes to a multiple, frame counts to
the form its VAE compresses); `GeneratedVideo` reports what was rendered, not what was asked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SecretStr

from reelcore.capabilities.byok import VendorJob
from reelcore.engine import Produced
from reelcore.media import MediaRef


class VideoShape(BaseModel):
    """The size and length asked for: enough to tell whether an engine can render it."""

    width: int = Field(..., ge=1)
    height: int = Field(..., ge=1)
    duration_seconds: float = Field(..., gt=0)
    fps: int = Field(..., ge=1)


class GenerateQuery(VideoShape):
    """What `supports` is asked before the inputs are fetched."""

    with_image: bool = Field(False, description="Whether a first frame will be given (image-to-video).")
    with_negative_prompt: bool = Field(False, description="Whether a negative prompt will be given.")


class GenerateInput(VideoShape):
    prompt: str = Field(..., min_length=1)
    negative_prompt: str | None = None
    seed: int | None = Field(None, ge=0, description="Same seed, same request: the same frames. "
                                                     "Drawn at random when absent, and reported.")
    image: MediaRef | None = Field(None, description="The first frame, for image-to-video.")
    steps: int | None = Field(None, ge=1, description="Denoising steps; the engine's default if absent.")
    guidance: float | None = Field(None, ge=0, description="Classifier-free guidance scale; the "
                                                          "engine's default if absent.")
    api_key: SecretStr | None = Field(None, description="The owner's key, for a BYOK engine.")

    def query(self) -> GenerateQuery:
        """What `supports` was asked about this request."""
        return GenerateQuery(**self.model_dump(include=set(VideoShape.model_fields)),
                             with_image=self.image is not None,
                             with_negative_prompt=self.negative_prompt is not None)


class GeneratedVideo(BaseModel):
    video: Produced
    width: int
    height: int
    fps: float
    frames: int
    duration_seconds: float
    seed: int | None = Field(..., description="The seed used: pass it again to render the same "
                                              "frames. None from a vendor that takes no seed.")
    model: str = Field(..., description="The model family and weights that rendered it.")
    vendor: VendorJob | None = Field(None, description="The vendor's job, when a vendor rendered it.")
    render: dict[str, Any] = Field(
        default_factory=dict,
        description="How it was rendered: mode (text/image-to-video), steps, guidance, device, "
                    "dtype, and the size and frame count asked before rounding.")

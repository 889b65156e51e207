"""Generate: a prompt (and optionally a first frame) -> a video.

    prompt [+ image] --generator.generate--> video

One stage. At submission the generator is asked whether it can render the request in one pass
(`supports`): one that cannot (too long, no image-to-video) is refused with its reason and `auto`
tries the next provider.
"""

from __future__ import annotations

from typing import Any

from graphs.base import Graph, JobContext
from reelcore.capabilities.generation import GeneratedVideo, GenerateInput, GenerateQuery
from reelcore.errors import UnsupportedMedia
from reelcore.media import MediaRef
from reelcore.schemas import GenerateRequest


class GenerateGraph(Graph):
    roles = {"generator": "renders a video from a prompt, or from a first frame and a prompt"}

    @classmethod
    def required_roles(cls, request: GenerateRequest) -> dict[str, str]:
        return {"generator": "generate"}

    @classmethod
    def required_checks(cls, request: GenerateRequest) -> dict[str, GenerateQuery]:
        return {"generator": GenerateQuery(**_shape(request), with_image=request.image_url is not None,
                                           with_negative_prompt=request.negative_prompt is not None)}

    async def run(
        self, request: GenerateRequest, inputs: dict[str, MediaRef], ctx: JobContext
    ) -> dict[str, Any]:
        image = inputs.get("image_url")
        if image is not None and not (image.media.is_image or image.media.has_video):
            raise UnsupportedMedia("image_url is not a picture")
        rendered = await self.run_engine(
            "generator", "generate",
            GenerateInput(**_shape(request), prompt=request.prompt,
                          negative_prompt=request.negative_prompt, seed=request.seed, image=image,
                          api_key=await self.vendor_key(ctx)),
            GeneratedVideo, ctx, stage="generate", span=(0.0, 1.0))
        return dict(rendered)


def _shape(request: GenerateRequest) -> dict[str, Any]:
    """The size and length asked for (`VideoShape`'s fields)."""
    return request.model_dump(include={"width", "height", "duration_seconds", "fps"})

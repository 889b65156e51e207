"""ltx-video: Lightricks' LTX-Video on diffusers, from text or from a first frame.

The same weights render text-to-video (`LTXPipeline`) and image-to-video
(`LTXImageToVideoPipeline`, built over the already loaded components, so a first frame costs no
second copy of the model). Sizes are multiples of 32 and frame counts of the form 8k+1 with the
released VAE (read from the loaded components, not assumed); one pass renders up to 257 frames.

    ltx-video:
      engine: deployments.ltx_video:LtxVideoEngine
      config: {weights_path: /opt/reelserve/models/LTX-Video, device: cuda, dtype: bfloat16}
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from deployments.text_to_video import DiffusersVideoEngine, Grid, VideoModelConfig, first_frame
from reelcore.capabilities.generation import GenerateInput


class LtxVideoConfig(VideoModelConfig):
    steps: int = Field(50, ge=1, description="Denoising steps when the request names none.")
    guidance: float = Field(3.0, ge=0, description="Guidance scale when the request names none.")
    max_frames_per_pass: int = Field(257, ge=1, description="Longest clip, in frames, one pass renders.")


class LtxVideoEngine(DiffusersVideoEngine):
    Config = LtxVideoConfig
    family = "ltx-video"
    pipeline_class = "LTXPipeline"

    def model_grid(self, pipe: Any) -> Grid:
        return Grid(spatial=pipe.vae_spatial_compression_ratio * pipe.transformer_spatial_patch_size,
                    temporal=pipe.vae_temporal_compression_ratio * pipe.transformer_temporal_patch_size)

    def takes_images(self) -> bool:
        return True

    def render(self, arguments: dict[str, Any], request: GenerateInput) -> np.ndarray:
        # LTX conditions its rotary positions on the frame rate it is asked to play at.
        arguments = {**arguments, "frame_rate": request.fps}
        if request.image is None:
            return self.pipe(**arguments).frames[0]
        from diffusers import LTXImageToVideoPipeline

        image = first_frame(request.image.path, arguments["width"], arguments["height"])
        from_image = LTXImageToVideoPipeline(**self.pipe.components)
        from_image.set_progress_bar_config(disable=True)
        return from_image(image=image, **arguments).frames[0]

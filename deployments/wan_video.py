"""wan2.1: Wan 2.1 text-to-video on diffusers (`WanPipeline`).

Wan's VAE is kept in float32 whatever the transformer's dtype, as its authors load it: in
bfloat16 its decoded colours band. Sizes are multiples of 16 and frame counts of the form 4k+1
(read from the loaded components); the released models are trained on 81 frames, so one pass
renders up to 81. Image-to-video needs the separate Wan2.1-I2V weights (with their CLIP image
encoder), which this engine does not load: requests with a first frame are refused.

    wan2.1:
      engine: deployments.wan_video:WanVideoEngine
      config: {weights_path: /opt/reelserve/models/Wan2.1-T2V-14B-Diffusers, device: cuda}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from deployments.text_to_video import DiffusersVideoEngine, Grid, VideoModelConfig


class WanVideoConfig(VideoModelConfig):
    steps: int = Field(50, ge=1, description="Denoising steps when the request names none.")
    guidance: float = Field(5.0, ge=0, description="Guidance scale when the request names none.")
    max_frames_per_pass: int = Field(81, ge=1, description="Longest clip, in frames, one pass renders.")


class WanVideoEngine(DiffusersVideoEngine):
    Config = WanVideoConfig
    family = "wan2.1"
    pipeline_class = "WanPipeline"

    def load_pipeline(self, pipeline_class: Any, path: Path) -> Any:
        import torch
        from diffusers import AutoencoderKLWan

        vae = AutoencoderKLWan.from_pretrained(path, subfolder="vae", torch_dtype=torch.float32,
                                               local_files_only=True)
        return pipeline_class.from_pretrained(path, vae=vae, torch_dtype=self.dtype, local_files_only=True)

    def model_grid(self, pipe: Any) -> Grid:
        patch_t, patch, _ = pipe.transformer.config.patch_size
        return Grid(spatial=pipe.vae_scale_factor_spatial * patch,
                    temporal=pipe.vae_scale_factor_temporal * patch_t)

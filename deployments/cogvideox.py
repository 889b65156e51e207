"""cogvideox: THUDM's CogVideoX text-to-video on diffusers (`CogVideoXPipeline`).

Sizes are multiples of the VAE's 8 times the transformer's patch (16 for the released models).
Frame counts are CogVideoX's own: its VAE compresses 4x in time, but decodes the latent frames
in pairs after a first group of three, and only an odd count of latent frames comes back at
4(n-1)+1 frames (an even count comes back at 4n): the lengths it renders are 8k+1 (49 at 8 fps
is what CogVideoX-2b/5b are trained on; the pipeline pads and drops latent frames itself where
CogVideoX 1.5's temporal patch needs an even count). One pass renders up to 49 frames by default
(81 for CogVideoX1.5). Image-to-video needs the separate
CogVideoX-I2V weights: requests with a first frame are refused.

    cogvideox:
      engine: deployments.cogvideox:CogVideoXEngine
      config: {weights_path: /opt/reelserve/models/CogVideoX-5b, device: cuda, vae_tiling: true}
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from deployments.text_to_video import DiffusersVideoEngine, Grid, VideoModelConfig


class CogVideoXConfig(VideoModelConfig):
    steps: int = Field(50, ge=1, description="Denoising steps when the request names none.")
    guidance: float = Field(6.0, ge=0, description="Guidance scale when the request names none.")
    max_frames_per_pass: int = Field(49, ge=1, description="Longest clip, in frames, one pass renders.")


class CogVideoXEngine(DiffusersVideoEngine):
    Config = CogVideoXConfig
    family = "cogvideox"
    pipeline_class = "CogVideoXPipeline"

    def model_grid(self, pipe: Any) -> Grid:
        return Grid(spatial=pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size,
                    temporal=2 * pipe.vae_scale_factor_temporal)  # odd latent counts only: see above

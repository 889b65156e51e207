"""InternVideo2.5 and VideoChat-Flash (OpenGVLab): the analyze `vlm` role through their own `chat`.

Both ship their model code inside the checkpoint (`trust_remote_code`, listed under `auto_map`
in config.json), so the folder at `model_path` is the whole engine: nothing is fetched from a
hub, and a folder without that code is refused with the reason. They differ in what `chat`
takes, as their model cards document:

- internvideo2.5 (InternVideo2_5_Chat_8B, an InternVL2.5 model): the frames as 448x448 tiles
  normalised with ImageNet's mean and deviation, one tile a frame, and a prompt that names each
  frame (`Frame1: <image>`): `model.chat(tokenizer, pixel_values, prompt, generation_config,
  num_patches_list=[1] * frames)`;
- videochat-flash (VideoChat-Flash-Qwen2-7B_res448): a video file, which it samples itself:
  the shot's frames are written to a short clip first, `model.chat(video_path=..., tokenizer=...,
  user_prompt=..., generation_config=...)`.

Both are `VideoChatEngine`s (`deployments/video_chat/engine.py`), like `qwen_vl`, so the
analyze graph treats every vision-language engine alike.

    internvideo2.5:
      engine: deployments.opengvlab_chat:OpenGvLabChatEngine
      config: {family: internvideo2.5, model_path: /opt/reelserve/models/InternVideo2_5_Chat_8B}
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from deployments.talking_face.video_io import VideoWriter
from deployments.video_chat.engine import FramePrompt, VideoChatEngine
from reelcore.engine import Unavailable

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
TILE = 448


class OpenGvLabChatConfig(BaseModel):
    family: Literal["internvideo2.5", "videochat-flash"]
    model_path: str | None = Field(None, description="The checkpoint folder, with its remote code.")
    device: str = Field("cuda", description="torch device.")
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    frames_per_scene: int = Field(8, ge=1, le=128)
    answer_frames: int = Field(32, ge=1, le=512)
    longest_side: int = Field(TILE, ge=28, le=1920, description="Frames are decoded at this longest side.")
    max_new_tokens: int = Field(160, ge=8, le=4096)


class OpenGvLabChatEngine(VideoChatEngine):
    Config = OpenGvLabChatConfig
    config: OpenGvLabChatConfig

    def load(self) -> None:
        family = self.config.family
        if not self.config.model_path:
            raise Unavailable(f"set model_path to a local {family} checkpoint folder")
        path = Path(self.config.model_path)
        config = path / "config.json"
        if not config.is_file():
            raise Unavailable(f"model_path {path} has no config.json: not a Hugging Face model folder")
        if "AutoModel" not in json.loads(config.read_text()).get("auto_map", {}):
            raise Unavailable(f"model_path {path} carries no model code (auto_map.AutoModel in config.json); "
                              f"{family} runs on the code that ships with its checkpoint")
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise Unavailable("needs transformers and torch") from exc
        if self.config.device.startswith("cuda") and not torch.cuda.is_available():
            raise Unavailable(f"device {self.config.device} is configured but no CUDA GPU is visible")
        self.torch, self.dtype, self.name = torch, getattr(torch, self.config.dtype), path.name
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, trust_remote_code=True, local_files_only=True,
                                               torch_dtype=self.dtype).to(self.config.device).eval()
        self.generation = {"do_sample": False, "max_new_tokens": self.config.max_new_tokens, "num_beams": 1}

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "family": self.config.family, "device": self.config.device}

    def _generate(self, clips: list[FramePrompt]) -> list[str]:
        return [self.chat(clip) for clip in clips]

    def chat(self, clip: FramePrompt) -> str:
        """One question about the clip's frames, in the family's own convention."""
        frames, times = clip.frames, clip.times
        with self.torch.inference_mode():
            if self.config.family == "internvideo2.5":
                named = "".join(f"Frame{i + 1}: <image>\n" for i in range(len(frames)))
                return self.model.chat(self.tokenizer, self.tiles(frames), named + clip.prompt, self.generation,
                                       num_patches_list=[1] * len(frames))
            with tempfile.TemporaryDirectory(prefix="videochat-") as folder:
                path = Path(folder) / "clip.mp4"
                span = times[-1] - times[0]
                writer = VideoWriter(path, frames.shape[2], frames.shape[1],
                                     (len(times) - 1) / span if span > 0 else 1.0, with_sound=False)
                for frame in frames:
                    writer.write(frame)
                writer.finish()
                return self.model.chat(video_path=str(path), tokenizer=self.tokenizer, user_prompt=clip.prompt,
                                       max_num_frames=len(frames), generation_config=self.generation)

    def tiles(self, frames: np.ndarray):
        """(frames, 3, 448, 448) in the model's dtype on its device: each frame squashed to one
        tile and normalised, as InternVL's `build_transform` does."""
        import cv2

        tiles = np.stack([cv2.resize(f, (TILE, TILE), interpolation=cv2.INTER_CUBIC) for f in frames])
        normalised = (tiles.astype(np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
        return self.torch.from_numpy(normalised.transpose(0, 3, 1, 2)).to(self.config.device, self.dtype)

"""Qwen2.5-VL and Qwen3-VL: shots described from their frames, questions answered from the video.

The analyze graph calls this engine in the role `vlm` (`deployments/video_chat/engine.py`:
`describe_scenes` and `answer`); here each clip of frames is one video input of the prompt.

Which of the two models a folder holds is read from its config.json (`model_type`). Timing
reaches the model the way each was trained: Qwen3-VL is given every frame's source index and
the video's frame rate (it writes "<t seconds>" into the prompt); Qwen2.5-VL the sampling rate.

Two backends: vLLM (production, batched) and transformers (any device; what the tests run, on
a tiny random model). Weights come from `model_path` only; nothing is fetched from a hub.

    qwen2.5-vl:
      engine: deployments.qwen_vl:QwenVlEngine
      config: {model_path: /opt/reelserve/models/Qwen2.5-VL-7B-Instruct, backend: vllm}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from deployments.video_chat.engine import FramePrompt, VideoChatEngine
from reelcore.engine import Unavailable

FAMILIES = {"qwen2_5_vl": "qwen2.5-vl", "qwen3_vl": "qwen3-vl", "qwen3_vl_moe": "qwen3-vl"}
"""config.json model_type -> the provider name it serves."""


class QwenVlConfig(BaseModel):
    model_path: str | None = Field(None, description="A local folder with the model, processor and tokenizer.")
    backend: Literal["vllm", "transformers"] = "vllm"
    device: str = Field("cuda", description="transformers backend: the torch device.")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    frames_per_scene: int = Field(8, ge=2, le=64, description="Frames given for one shot (even: pairs).")
    answer_frames: int = Field(32, ge=2, le=256, description="Frames spread over the video for a question.")
    longest_side: int = Field(448, ge=28, le=1920, description="Frames are scaled to this longest side.")
    max_new_tokens: int = Field(160, ge=8, le=4096)
    batch_size: int = Field(16, ge=1, le=256, description="Shots described together (vLLM; 1 on transformers).")
    gpu_memory_utilization: float = Field(0.8, gt=0.0, le=1.0, description="vLLM's share of the GPU.")
    max_model_len: int = Field(32768, ge=1024, description="vLLM context length.")


def model_family(path: Path) -> str:
    """qwen2.5-vl or qwen3-vl, from the folder's config.json; Unavailable otherwise."""
    config = path / "config.json"
    if not config.is_file():
        raise Unavailable(f"model_path {path} has no config.json: not a Hugging Face model folder")
    model_type = json.loads(config.read_text()).get("model_type")
    if model_type not in FAMILIES:
        raise Unavailable(f"model_path {path} holds a {model_type!r} model, not Qwen2.5-VL or Qwen3-VL")
    return FAMILIES[model_type]


class QwenVlEngine(VideoChatEngine):
    Config = QwenVlConfig
    config: QwenVlConfig

    def load(self) -> None:
        if not self.config.model_path:
            raise Unavailable("set model_path to a local Qwen2.5-VL or Qwen3-VL folder")
        path = Path(self.config.model_path)
        if not path.is_dir():
            raise Unavailable(f"model_path {path} does not exist or is not a folder")
        self.family = model_family(path)
        self.name = path.name
        if self.config.backend == "vllm":
            self._load_vllm(path)
        else:
            self._load_transformers(path)

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "family": self.family, "backend": self.config.backend,
                "device": "cuda" if self.config.backend == "vllm" else self.config.device}

    @property
    def scenes_per_call(self) -> int:
        return self.config.batch_size if self.config.backend == "vllm" else 1

    # -- backends ------------------------------------------------------------------------------

    def _messages(self, clip: FramePrompt) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": clip.prompt}]}]

    def _video_timing(self, clip: FramePrompt) -> dict[str, Any]:
        """How the frames' times reach the processor: Qwen3-VL takes each frame's index in the
        source and its frame rate; Qwen2.5-VL the rate the frames were sampled at."""
        if self.family == "qwen3-vl":
            return {"total_num_frames": len(clip.times), "fps": clip.source_fps,
                    "frames_indices": [round(t * clip.source_fps) for t in clip.times]}
        span = clip.times[-1] - clip.times[0]
        return {"fps": (len(clip.times) - 1) / span if span > 0 else clip.source_fps}

    def _load_transformers(self, path: Path) -> None:
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as exc:
            raise Unavailable("the transformers backend needs transformers, torch and torchvision") from exc
        if self.config.device.startswith("cuda") and not torch.cuda.is_available():
            raise Unavailable(f"device {self.config.device} is configured but no CUDA GPU is visible")
        try:
            self.processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        except ImportError as exc:  # the Qwen video processors need torchvision
            raise Unavailable(f"the {self.family} processor cannot load: {exc}") from exc
        dtype = self.config.dtype if self.config.dtype == "auto" else getattr(torch, self.config.dtype)
        self.model = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True, dtype=dtype)
        self.model.to(self.config.device).eval()
        self.torch = torch

    def _load_vllm(self, path: Path) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # a replica is a process of its own: contained
        try:
            from transformers import AutoProcessor
            from vllm import LLM, SamplingParams
        except ImportError as exc:
            raise Unavailable("the vllm backend needs the vllm package (on a CUDA machine), or set "
                              "backend: transformers") from exc
        self.processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        self.llm = LLM(model=str(path), dtype=self.config.dtype, seed=0, limit_mm_per_prompt={"video": 1},
                       gpu_memory_utilization=self.config.gpu_memory_utilization,
                       max_model_len=self.config.max_model_len)
        self.sampling = SamplingParams(temperature=0.0, max_tokens=self.config.max_new_tokens)

    def _generate(self, clips: list[FramePrompt]) -> list[str]:
        """The model's answer to each clip's prompt about its frames."""
        texts = [self.processor.apply_chat_template(self._messages(clip), tokenize=False,
                                                    add_generation_prompt=True) for clip in clips]
        if self.config.backend == "vllm":
            return self._generate_vllm(clips, texts)
        answers = []
        for clip, text in zip(clips, texts, strict=True):
            timing = self._video_timing(clip)
            kwargs = {"video_metadata": [timing]} if self.family == "qwen3-vl" else timing
            inputs = self.processor(text=[text], videos=[clip.frames], do_sample_frames=False,
                                    return_tensors="pt", **kwargs).to(self.config.device)
            with self.torch.inference_mode():
                ids = self.model.generate(**inputs, max_new_tokens=self.config.max_new_tokens, do_sample=False)
            answers.append(self.processor.batch_decode(ids[:, inputs["input_ids"].shape[1]:],
                                                       skip_special_tokens=True)[0])
        return answers

    def _generate_vllm(self, clips: list[FramePrompt], texts: list[str]) -> list[str]:
        requests = []
        for clip, text in zip(clips, texts, strict=True):
            timing = self._video_timing(clip)
            video = (clip.frames, timing) if self.family == "qwen3-vl" else clip.frames
            extra = {} if self.family == "qwen3-vl" else timing
            requests.append({"prompt": text, "multi_modal_data": {"video": video},
                             "mm_processor_kwargs": {"do_sample_frames": False, **extra}})
        return [out.outputs[0].text for out in self.llm.generate(requests, self.sampling, use_tqdm=False)]

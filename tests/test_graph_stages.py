"""Graph composition without engines: stage checkpoints, and the dub's optional separator."""

from __future__ import annotations

import asyncio
from typing import Any

from graphs.base import Graph


class Attempt:
    """The part of the JobContext that stages use, over a shared checkpoint store (the job)."""

    def __init__(self, kept: dict[str, Any]) -> None:
        self.kept = kept
        self.checkpoints = dict(kept)

    async def checkpoint(self, stage: str, output: Any) -> None:
        self.checkpoints[stage] = self.kept[stage] = output


def test_a_retried_attempt_resumes_after_its_last_finished_stage() -> None:
    graph, kept, ran = Graph({}), {}, []

    async def attempt(fail_at: str | None) -> list[dict]:
        ctx = Attempt(kept)
        outputs = []
        for name in ("transcribe", "translate", "speech"):
            async def work(name=name) -> dict:
                ran.append(name)
                if name == fail_at:
                    raise RuntimeError(f"{name} failed")
                return {"stage": name, "run": len(ran)}
            outputs.append(await graph.stage(ctx, name, work))
        return outputs

    try:
        asyncio.run(attempt(fail_at="speech"))
    except RuntimeError:
        pass
    assert ran == ["transcribe", "translate", "speech"] and set(kept) == {"transcribe", "translate"}
    outputs = asyncio.run(attempt(fail_at=None))
    assert ran[3:] == ["speech"], "only the failed stage runs again"
    assert [o["run"] for o in outputs] == [1, 2, 4], "earlier outputs come from the checkpoints"


class Engine:
    """A deployment handle's streaming `run`, answering from a table and recording each call."""

    def __init__(self, answers: dict[str, dict], calls: list[tuple[str, dict]]) -> None:
        self.answers, self.calls = answers, calls
        self.run = self

    def options(self, **_: Any) -> Engine:
        return self

    async def remote(self, method: str, payload: dict[str, Any]):
        self.calls.append((method, payload))
        yield self.answers[method]


class Job(Attempt):
    async def progress(self, fraction: float, stage: str) -> None:
        pass

    def output_prefix(self, stage: str) -> str:
        return f"jobs/vj_1/{stage}"

    async def provider_key(self, provider: str) -> str:
        raise AssertionError("no key is needed")


def dub_with(separator: dict | None) -> tuple[dict, dict]:
    """Run the dub graph over engines that answer at once; the result and the mixer's payload."""
    from graphs.dub import DubGraph
    from reelcore.media import MediaRef
    from reelcore.schemas import DubRequest, MediaInfo

    segment = {"text": "Hello there.", "start": 0.5, "end": 1.5}
    audio = {"key": "jobs/vj_1/speech/voice.wav", "media": {"format": "wav"}}
    calls: list[tuple[str, dict]] = []
    separated = separator is not None and "result" in separator
    answers = {
        "asr": {"transcribe": {"result": {"segments": [segment], "language": "en"}}},
        "translator": {"supports": {"result": {"ok": True}}, "translate": {"result": {
            "source_language": "en", "segments": [segment], "subtitles": None, "engine": "t"}}},
        "tts": {"synthesize_segments": {"result": {"audio": audio, "placements": [segment],
                                                   "voice_id": "v", "words": []}}},
        "mixer": {"mix": {"result": {"audio": audio, "method": "separated" if separated else "ducked"}}},
        "lipsync": {"lipsync": {"result": {"video": audio}}},
        **({"separator": {"separate": separator}} if separator else {}),
    }
    graph = DubGraph({role: Engine(table, calls) for role, table in answers.items()})
    video = MediaRef(key="inputs/talk.mp4", media=MediaInfo(format="mp4", duration_seconds=2.0,
                                                            has_video=True, has_audio=True))
    request = DubRequest(video_url="https://example.com/talk.mp4", target_language="pt-BR")
    result = asyncio.run(graph.run(request, {"video_url": video}, Job({})))
    return result, next(payload for method, payload in calls if method == "mix")


def test_a_configured_separator_hands_its_stems_to_the_mixer() -> None:
    voice = {"key": "jobs/vj_1/separate/voice.wav", "media": {"format": "wav"}}
    background = {"key": "jobs/vj_1/separate/background.wav", "media": {"format": "wav"}}
    result, mix = dub_with({"result": {"voice": voice, "background": background, "model": "htdemucs"}})
    assert mix["voice"] == voice and mix["background"] == background
    assert result["soundtrack"] == {"method": "separated", "separator": "htdemucs"}


def test_an_unavailable_separator_leaves_the_mixer_to_duck_the_speech_band() -> None:
    result, mix = dub_with({"error": {"code": "provider_unavailable", "message": "no weights"}})
    assert mix["voice"] is None and mix["background"] is None
    assert result["soundtrack"] == {"method": "ducked"}

"""The vision-language engines: Qwen VL on tiny random Qwen2.5-VL and Qwen3-VL models
(tests/tiny_vlm.py), the OpenGVLab engine on a checkpoint whose own code speaks their `chat`
contracts (tests/remote_code_checkpoint.py), the frame sampler under both, and the prompts.

The tiny models' words are noise: what is checked is that each shot's own frames, at their own
times, reach the model through the real processor and `generate` (or `chat`), and that answers
come back in order and deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deployments.opengvlab_chat import OpenGvLabChatEngine
from deployments.qwen_vl import QwenVlEngine
from deployments.talking_face.video_io import VideoWriter
from deployments.video_chat.engine import FramePrompt
from deployments.video_chat.frames import frames_at, spread
from deployments.video_chat.prompts import answer_prompt, cited_slots, describe_prompt, title_and_summary
from reelcore.capabilities.chapters import TitleChaptersRequest
from reelcore.capabilities.timed_text import TimedText
from reelcore.capabilities.video_chat import DescribeScenesRequest, VideoQuestionRequest
from reelcore.engine import Call, Unavailable
from reelcore.media import MediaRef, probe
from tests.remote_code_checkpoint import remote_code_checkpoint
from tests.tiny_vlm import tiny_qwen2_5_vl, tiny_qwen3_vl

FPS = 25


def numbered_video(path: Path, frames: int = 200) -> Path:
    """A silent clip whose frame i shows i: the top half at grey (i % 50) * 5, the bottom at (i // 50) * 60."""
    writer = VideoWriter(path, 64, 48, FPS, crf=0, with_sound=False)
    for i in range(frames):
        image = np.empty((48, 64, 3), np.uint8)
        image[:24], image[24:] = (i % 50) * 5, (i // 50) * 60
        writer.write(image)
    writer.finish()
    return path


def frame_number(image: np.ndarray) -> int:
    return round(image[4:20].mean() / 5) + 50 * round(image[28:44].mean() / 60)


def grey(number: int) -> float:
    """The mean level of numbered frame `number` (its two halves)."""
    return ((number % 50) * 5 + (number // 50) * 60) / 2


def shown_at(times: list[float]) -> list[int]:
    """The numbers of the frames shown at `times` (the first at or after each)."""
    return [int(np.ceil(t * FPS - 1e-6)) for t in times]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> MediaRef:
    path = numbered_video(tmp_path_factory.mktemp("vlm") / "numbered.mp4")
    return MediaRef(key=path.name, media=probe(path), path=path)


@pytest.fixture(scope="module", params=["qwen2.5-vl", "qwen3-vl"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> QwenVlEngine:
    build = {"qwen2.5-vl": tiny_qwen2_5_vl, "qwen3-vl": tiny_qwen3_vl}[request.param]
    path = build(tmp_path_factory.mktemp(request.param.replace(".", "")) / request.param)
    engine = QwenVlEngine(model_path=str(path), backend="transformers", device="cpu", dtype="float32",
                          max_new_tokens=8, frames_per_scene=4, answer_frames=6, longest_side=64)
    engine.load()
    assert engine.family == request.param
    return engine


def test_frames_are_the_first_shown_at_or_after_each_time_near_or_far(video: MediaRef) -> None:
    times = [0.0, 0.1, 0.5, 3.3, 3.36, 7.9, 100.0]
    found = [frame_number(f) for f in frames_at(video.path, times, 448)]
    assert found == [0, 3, 13, 83, 84, 198, 199]
    assert frames_at(video.path, [1.0], 32).shape == (1, 24, 32, 3), "scaled to the longest side"


def test_times_in_any_order_get_their_own_frames(video: MediaRef) -> None:
    assert [frame_number(f) for f in frames_at(video.path, [5.0, 0.1, 3.3], 64)] == [125, 3, 83]


def test_shots_batched_for_vllm_are_decoded_together_each_with_its_own_frames(video: MediaRef) -> None:
    engine = QwenVlEngine(backend="vllm", batch_size=2, frames_per_scene=4)  # not loaded: no vLLM here
    scenes = [{"start": 4.0, "end": 8.0}, {"start": 0.0, "end": 2.0}, {"start": 2.0, "end": 4.0}]
    groups = list(engine._scene_clips(DescribeScenesRequest(video=video, scenes=scenes)))
    assert [len(g) for g in groups] == [2, 1]
    for clip, scene in zip([c for g in groups for c in g], scenes, strict=True):
        assert clip.times == spread(scene["start"], scene["end"], 4)
        assert [frame_number(f) for f in clip.frames] == shown_at(clip.times)


def test_each_shot_is_shown_to_the_model_as_its_own_frames(engine: QwenVlEngine, video: MediaRef,
                                                           tmp_path: Path) -> None:
    seen: list[FramePrompt] = []
    generate = engine._generate
    engine._generate = lambda clips: seen.extend(clips) or generate(clips)  # type: ignore[method-assign]
    try:
        scenes = [{"start": 0.0, "end": 2.0, "text": "the train leaves at nine"}, {"start": 2.0, "end": 8.0}]
        request = DescribeScenesRequest(video=video, scenes=scenes)
        progress: list[float] = []
        result = engine.describe_scenes(request, Call(progress.append, tmp_path))
    finally:
        del engine._generate
    assert len(result.descriptions) == 2 and all(d.strip() for d in result.descriptions)
    assert result.model == engine.name and progress == sorted(progress) and progress[-1] == 1.0
    for clip, scene in zip(seen, scenes, strict=True):
        assert clip.times == spread(scene["start"], scene["end"], 4)
        numbers = [frame_number(f) for f in clip.frames]
        assert numbers == shown_at(clip.times), numbers
    assert '"the train leaves at nine"' in seen[0].prompt and "0:00 to 0:02" in seen[0].prompt
    again = engine.describe_scenes(request, Call(lambda _: None, tmp_path))
    assert again.descriptions == result.descriptions, "greedy decoding: the same answer twice"


def test_the_frames_times_reach_the_model_as_each_family_expects(engine: QwenVlEngine) -> None:
    clip = FramePrompt("", np.zeros((4, 8, 8, 3), np.uint8), [1.0, 2.0, 3.0, 4.0], 25.0)
    timing = engine._video_timing(clip)
    if engine.family == "qwen3-vl":  # it writes "<t seconds>" from index / fps
        assert [i / timing["fps"] for i in timing["frames_indices"]] == clip.times
    else:  # it spaces its temporal patches by the sampling rate
        assert timing == {"fps": 1.0}


def test_a_question_is_answered_from_frames_across_the_video(engine: QwenVlEngine, video: MediaRef,
                                                              tmp_path: Path) -> None:
    request = VideoQuestionRequest(video=video, question="When does the train leave?",
                                   passages=[{"start": 1.0, "end": 3.5, "text": "The train leaves at nine."}])
    result = engine.answer(request, Call(lambda _: None, tmp_path))
    assert result.answer.strip() and result.model == engine.name
    assert result.cited == cited_slots(result.answer)


def test_each_chapter_is_titled_from_its_own_frames_and_words(engine: QwenVlEngine, video: MediaRef,
                                                              tmp_path: Path) -> None:
    seen: list[FramePrompt] = []
    generate = engine._generate
    engine._generate = lambda clips: seen.extend(clips) or generate(clips)  # type: ignore[method-assign]
    try:
        chapters = [{"start": 0.0, "end": 3.0, "text": "The train leaves at nine.", "title": "The train"},
                    {"start": 3.0, "end": 8.0}]
        request = TitleChaptersRequest(video=video, chapters=chapters)
        result = engine.title_chapters(request, Call(lambda _: None, tmp_path))
    finally:
        del engine._generate
    assert len(result.titles) == len(result.summaries) == 2 and result.model == engine.name
    for clip, chapter in zip(seen, chapters, strict=True):
        assert [frame_number(f) for f in clip.frames] == shown_at(spread(chapter["start"], chapter["end"], 4))
    assert '"The train leaves at nine."' in seen[0].prompt and '"The train"' in seen[0].prompt
    assert "0:00 to 0:03" in seen[0].prompt and "said" not in seen[1].prompt
    again = engine.title_chapters(request, Call(lambda _: None, tmp_path))
    assert again.titles == result.titles, "greedy decoding: the same titles twice"


def test_a_chapter_answer_gives_its_title_and_summary() -> None:
    assert title_and_summary('Title: "Trains at night"\nSummary: A train leaves.') == (
        "Trains at night", "A train leaves.")
    assert title_and_summary("**Trains**\nA train leaves at nine.") == ("Trains", "A train leaves at nine.")
    assert title_and_summary("") == ("", "")


def test_prompts_carry_the_time_slots_and_answers_give_back_their_citations() -> None:
    prompt = answer_prompt("When?", [TimedText(start=61.0, end=64.5, text=" at nine ")], 0.0, 3725.0)
    assert "[1:01-1:04] at nine" in prompt and "between 0:00 and 1:02:05" in prompt
    assert "said" not in describe_prompt(0, 5, "  ")
    assert cited_slots("It leaves at nine [1:01-1:04], again [1:02:03 - 1:02:09].") == [
        (61.0, 64.0), (3723.0, 3729.0)]


def test_without_a_usable_model_each_engine_says_why(tmp_path: Path) -> None:
    def reason(engine) -> str:
        with pytest.raises(Unavailable) as caught:
            engine.load()
        return str(caught.value)

    llama = tmp_path / "llama"
    llama.mkdir()
    (llama / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert "set model_path" in reason(QwenVlEngine())
    assert "does not exist" in reason(QwenVlEngine(model_path=str(tmp_path / "nowhere")))
    assert "no config.json" in reason(QwenVlEngine(model_path=str(tmp_path)))
    assert "'llama' model, not Qwen2.5-VL or Qwen3-VL" in reason(QwenVlEngine(model_path=str(llama)))
    qwen = tiny_qwen2_5_vl(tmp_path / "qwen")
    assert "no CUDA GPU" in reason(QwenVlEngine(model_path=str(qwen), backend="transformers", device="cuda"))
    for family in ("internvideo2.5", "videochat-flash"):
        assert f"local {family} checkpoint" in reason(OpenGvLabChatEngine(family=family))
        assert "carries no model code" in reason(OpenGvLabChatEngine(family=family, model_path=str(llama)))
    assert "no config.json" in reason(OpenGvLabChatEngine(family="internvideo2.5", model_path=str(tmp_path)))


@pytest.mark.parametrize("family", ["internvideo2.5", "videochat-flash"])
def test_opengvlab_models_get_each_shot_in_their_own_convention(family: str, video: MediaRef,
                                                                tmp_path: Path) -> None:
    import re

    path = remote_code_checkpoint(tmp_path / "checkpoint")
    engine = OpenGvLabChatEngine(family=family, model_path=str(path), device="cpu", dtype="float32",
                                 frames_per_scene=4)
    engine.load()
    scenes = [{"start": 0.0, "end": 2.0}, {"start": 2.0, "end": 8.0}]
    result = engine.describe_scenes(DescribeScenesRequest(video=video, scenes=scenes),
                                    Call(lambda _: None, tmp_path))
    assert result.model == "checkpoint" and len(result.descriptions) == 2
    for text, scene in zip(result.descriptions, scenes, strict=True):
        expected = [grey(n) for n in shown_at(spread(scene["start"], scene["end"], 4))]
        first_line = describe_prompt(scene["start"], scene["end"], "").splitlines()[0]
        assert text.endswith(first_line), text
        if family == "internvideo2.5":  # tiles normalised with ImageNet's red mean and deviation
            red = json.loads(re.match(r"4 tiles, red (\[.*?\]);", text).group(1))
            assert np.allclose(red, [(g / 255 - 0.485) / 0.229 for g in expected], atol=0.05), (red, expected)
        else:  # a clip of the shot's frames, in order
            levels = re.match(r"clip of 4 frames at levels ([\d,]+);", text).group(1).split(",")
            assert np.allclose([int(v) for v in levels], expected, atol=3), (levels, expected)


@pytest.mark.gpu
def test_on_a_gpu_the_transformers_backend_describes_shots(engine: QwenVlEngine, video: MediaRef,
                                                           tmp_path: Path) -> None:
    on_gpu = QwenVlEngine(**{**engine.config.model_dump(), "device": "cuda"})
    on_gpu.load()
    scenes = [{"start": 0.0, "end": 2.0}, {"start": 2.0, "end": 8.0}]
    request = DescribeScenesRequest(video=video, scenes=scenes)
    result = on_gpu.describe_scenes(request, Call(lambda _: None, tmp_path))
    assert len(result.descriptions) == 2 and all(d.strip() for d in result.descriptions)

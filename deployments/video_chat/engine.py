"""The `vlm` role's interface, shared by every vision-language engine: its requests and answers,
and the two methods built on one primitive each engine supplies, `_generate(clips)`.

- `describe_scenes`: each shot's frames (`frames_per_scene`, spread over it) with what is said
  in it -> a sentence or two of what it shows; shots are decoded and generated `scenes_per_call`
  at a time, so memory stays bounded however many shots a video has;
- `answer`: frames spread over the whole video plus the passages retrieval found, each with its
  time slot -> an answer that cites those slots (`[m:ss-m:ss]`);
- `title_chapters`: each chapter's frames with what is said in it and its extracted title ->
  a title of a few words and a one-sentence summary, batched like the shots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel

from deployments.video_chat.frames import frames_at, spread
from deployments.video_chat.prompts import (
    answer_in,
    answer_prompt,
    cited_slots,
    describe_prompt,
    title_and_summary,
    title_prompt,
)
from reelcore.capabilities.chapters import ChapterSlot, ChapterTitles, TitleChaptersRequest
from reelcore.capabilities.timed_text import TimedText
from reelcore.capabilities.video_chat import (
    DescribeScenesRequest,
    GeneratedAnswer,
    SceneDescriptions,
    VideoQuestionRequest,
)
from reelcore.engine import Call, Engine
from reelcore.media import MediaRef


@dataclass
class FramePrompt:
    """One prompt with its frames: the frames' source times and the video's frame rate."""

    prompt: str
    frames: np.ndarray
    times: list[float]
    source_fps: float


class VideoChatEngine(Engine):
    """Base of the vision-language engines. Their Config has `frames_per_scene`,
    `answer_frames` and `longest_side`; `load` sets `name`; `_generate` answers clips."""

    methods: ClassVar[dict[str, type[BaseModel]]] = {
        "describe_scenes": DescribeScenesRequest, "answer": VideoQuestionRequest,
        "title_chapters": TitleChaptersRequest}
    name: str

    @property
    def scenes_per_call(self) -> int:
        """Shots handed to `_generate` together."""
        return 1

    def _generate(self, clips: list[FramePrompt]) -> list[str]:
        """The model's raw answer to each clip's prompt about its frames."""
        raise NotImplementedError

    def describe_scenes(self, request: DescribeScenesRequest, call: Call) -> SceneDescriptions:
        descriptions: list[str] = []
        for clips in self._scene_clips(request):
            descriptions += [answer_in(answer) for answer in self._generate(clips)]
            call.report(len(descriptions) / len(request.scenes))
        return SceneDescriptions(descriptions=descriptions, model=self.name)

    def answer(self, request: VideoQuestionRequest, call: Call) -> GeneratedAnswer:
        fps = request.video.media.fps or 25.0
        duration = request.video.media.duration_seconds or 1 / fps
        times = spread(0.0, duration, self.config.answer_frames)
        clip = FramePrompt(answer_prompt(request.question, request.passages, 0.0, duration),
                    frames_at(request.video.path, times, self.config.longest_side), times, fps)
        call.report(0.3)
        text = answer_in(self._generate([clip])[0])
        call.report(1.0)
        return GeneratedAnswer(answer=text, cited=cited_slots(text), model=self.name)

    def title_chapters(self, request: TitleChaptersRequest, call: Call) -> ChapterTitles:
        titles: list[str] = []
        summaries: list[str] = []
        for clips in self._clips(request.video, request.chapters, chapter_prompt):
            for answer in self._generate(clips):
                title, summary = title_and_summary(answer_in(answer))
                titles.append(title)
                summaries.append(summary)
            call.report(len(titles) / len(request.chapters))
        return ChapterTitles(titles=titles, summaries=summaries, model=self.name)

    def _scene_clips(self, request: DescribeScenesRequest) -> Iterator[list[FramePrompt]]:
        return self._clips(request.video, request.scenes, lambda s: describe_prompt(s.start, s.end, s.text))

    def _clips(self, video: MediaRef, slots: Sequence[TimedText],
               prompt: Callable[..., str]) -> Iterator[list[FramePrompt]]:
        """The slots' clips (shots or chapters), `scenes_per_call` at a time, each group's frames
        in one decoding pass."""
        n, fps = self.config.frames_per_scene, video.media.fps or 25.0
        for at in range(0, len(slots), self.scenes_per_call):
            group = slots[at:at + self.scenes_per_call]
            times = [spread(s.start, max(s.end, s.start + 1 / fps), n) for s in group]
            frames = frames_at(video.path, [t for ts in times for t in ts], self.config.longest_side)
            yield [FramePrompt(prompt(s), frames[k * n:(k + 1) * n], ts, fps)
                   for k, (s, ts) in enumerate(zip(group, times, strict=True))]


def chapter_prompt(chapter: ChapterSlot) -> str:
    return title_prompt(chapter.start, chapter.end, chapter.text, chapter.title)

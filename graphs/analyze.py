"""Analyze: video -> transcript, scenes, embeddings and answers, from one job.

    video --asr.transcribe--> transcript ─┐   (in parallel)
    video --scenes.scenes--> scenes ──────┤
                                          ├─ scenes.add_speech (what is said in each scene)
    video + scenes + speech --vlm.describe_scenes--> what each shot shows   (when a vlm is configured)
    segments + scenes --embedder.embed--> vectors ─┐  (in parallel)
    question + segments + scenes --qa.answer-----> the passages that answer, with timestamps
    segments + scenes --embedder.chapters--> chapters cut where the topic shifts, titled
    video + chapters --vlm.title_chapters--> titles and summaries from their frames   (vlm)
    video + question + those passages --vlm.answer--> a generated answer citing them   (vlm)

A task's engine runs only when the task (or one that needs its output) is asked for: `embed`
and `qa` work on the transcript, and on the scenes when those are asked for too; `chapters`
works on both (the scenes it needs run even when `scenes` is not asked for, and are not
returned then). A stage whose
stream the input lacks (transcription without sound: B-roll, surveillance, nature footage;
scenes without pictures) is skipped and named in `result.skipped` with the reason, and every
task that can run without it runs; only when none can does the job fail (`unsupported_media`). The `vlm`
role (Qwen2.5-VL, Qwen3-VL, InternVideo2.5, VideoChat-Flash) is what the analyze providers of
those names add to the CPU pipeline: shot descriptions from the frames (the measured one stays
as `measured`), an answer written from the frames and the retrieved passages, and chapter
titles and summaries written from each chapter's frames and words (the extracted title stays as
`extracted_title`).
"""

from __future__ import annotations

from typing import Any

from graphs.base import EngineCall, Graph, JobContext
from reelcore.capabilities.asr import TranscribeRequest, Transcript
from reelcore.capabilities.chapters import (
    Chapters,
    ChapterSlot,
    ChaptersRequest,
    ChapterTitles,
    TitleChaptersRequest,
)
from reelcore.capabilities.embedding import Embeddings, EmbedRequest
from reelcore.capabilities.qa import Answer, AnswerRequest, Passage
from reelcore.capabilities.scenes import (
    DescribedScenes,
    DescribeRequest,
    SceneFacts,
    SceneList,
    ScenesRequest,
    SpokenSegment,
)
from reelcore.capabilities.timed_text import TimedText
from reelcore.capabilities.video_chat import (
    DescribeScenesRequest,
    GeneratedAnswer,
    SceneDescriptions,
    SceneSlot,
    VideoQuestionRequest,
)
from reelcore.errors import NoSpeechDetected, UnsupportedMedia
from reelcore.media import MediaRef
from reelcore.schemas import AnalyzeRequest, MediaInfo, Skipped

TASK_ROLES = {"transcribe": "asr", "scenes": "scenes", "embed": "embedder", "qa": "qa",
              "chapters": "embedder"}
SPOKEN = {"transcribe", "embed", "qa", "chapters"}
"""The tasks that work on the transcript."""
SEEN = {"scenes", "chapters"}
"""The tasks that work on the shots."""


class AnalyzeGraph(Graph):
    roles = {
        "asr": "speech to text with word timings",
        "scenes": "shot boundaries, keyframes and descriptions",
        "embedder": "vectors for transcript segments and scenes, and the chapters they make",
        "qa": "answers grounded in the video",
        "vlm": "describes shots from their frames and writes answers from the video (optional)",
    }
    named_roles = frozenset({"vlm"})

    @classmethod
    def required_roles(cls, request: AnalyzeRequest) -> dict[str, str]:
        roles = {TASK_ROLES[task]: f"task {task!r}" for task in request.tasks}
        for task in ("embed", "qa", "chapters"):
            if task in request.tasks:
                roles.setdefault("asr", f"task {task!r} (it works on the transcript)")
        if "chapters" in request.tasks:
            roles.setdefault("scenes", "task 'chapters' (chapters start at shot changes)")
        return roles

    @classmethod
    def provider_roles(cls, request: AnalyzeRequest) -> dict[str, str]:
        """The vision-language model, for the tasks that read frames, where a provider has one."""
        tasks = [t for t in request.tasks if t in ("scenes", "qa", "chapters")]
        return {"vlm": f"task {tasks[0]!r} (this provider's vision-language model)"} if tasks else {}

    async def run(
        self, request: AnalyzeRequest, inputs: dict[str, MediaRef], ctx: JobContext
    ) -> dict[str, Any]:
        video = inputs["video_url"]
        tasks = set(request.tasks)
        skipped = skipped_stages(tasks, video.media)
        result: dict[str, Any] = {"duration_seconds": video.media.duration_seconds, "engines": {},
                                  **({"skipped": skipped} if skipped else {})}

        first: dict[str, EngineCall] = {}
        if tasks & SPOKEN and "transcribe" not in skipped:
            first["transcribe"] = ("asr", "transcribe", TranscribeRequest(audio=video), Transcript)
        if tasks & SEEN and "scenes" not in skipped:
            first["scenes"] = ("scenes", "scenes", ScenesRequest(video=video), SceneList)
        outputs = await self.parallel(ctx, first, span=(0.05, 0.7))
        transcript: Transcript | None = outputs.get("transcribe")  # type: ignore[assignment]
        scenes: SceneList | None = outputs.get("scenes")  # type: ignore[assignment]
        segments = [SpokenSegment(start=s.start, end=s.end, text=s.text)
                    for s in (transcript.segments if transcript else []) if s.text.strip()]
        if transcript and "transcribe" in tasks:
            result["transcript"] = transcript
            result["engines"]["transcribe"] = transcript.engine
        if scenes and "scenes" in tasks:
            result["scenes"] = await self.scenes_told(scenes, segments, ctx)
            result["engines"]["scenes"] = scenes.detector
            if "vlm" in self.engines:
                result["scenes"], result["engines"]["describe"] = await self.shots_seen(
                    video, result["scenes"], ctx)

        passages = [Passage(start=s.start, end=s.end, text=s.text, kind="segment") for s in segments] + [
            Passage(start=s["start"], end=s["end"], text=s["description"], kind="scene")
            for s in result.get("scenes", [])]
        vlm = "vlm" in self.engines and video.media.has_video  # it answers from frames, said or not
        if not passages and ("embed" in tasks or ("qa" in tasks and not vlm)):
            why = skipped.get("transcribe", "the video has no speech")
            hint = "" if "scenes" in tasks else " (the scenes task adds visual passages)"
            raise NoSpeechDetected(f"nothing to embed or answer from: {why}{hint}")
        later: dict[str, EngineCall] = {}
        if "embed" in tasks:
            later["embed"] = ("embedder", "embed", EmbedRequest(texts=[p.text for p in passages]),
                              Embeddings)
        if "qa" in tasks and passages:
            later["qa"] = ("qa", "answer", AnswerRequest(question=request.question, passages=passages),
                           Answer)
        if "chapters" in tasks:
            later["chapters"] = ("embedder", "chapters", chapters_request(video, segments, scenes, result),
                                 Chapters)
        outputs = await self.parallel(ctx, later, span=(0.85, 0.92))
        if "embed" in outputs:
            result["embeddings"] = embeddings(passages, outputs["embed"])  # type: ignore[arg-type]
            result["engines"]["embed"] = result["embeddings"]["model"]
        if "qa" in tasks:
            retrieved: Answer = outputs.get("qa", NOTHING_RETRIEVED)  # type: ignore[assignment]
            result["answer"] = await self.written_answer(video, request.question, retrieved, ctx) \
                if vlm else retrieved.model_dump()
            result["engines"]["qa"] = result["answer"]["method"]
        if "chapters" in outputs:
            found: Chapters = outputs["chapters"]  # type: ignore[assignment]
            if vlm:
                found = await self.chapters_titled(video, found, ctx)
            result["chapters"] = [c.model_dump(exclude_none=True) for c in found.chapters]
            result["engines"]["chapters"] = found.method
        return result

    async def scenes_told(self, scenes: SceneList, segments: list[SpokenSegment],
                          ctx: JobContext) -> list[dict[str, Any]]:
        """Each scene with what is said during it."""
        told = await self.run_engine(
            "scenes", "add_speech",
            DescribeRequest(scenes=[SceneFacts(start=s.start, end=s.end, description=s.description)
                                    for s in scenes.scenes], segments=segments),
            DescribedScenes, ctx, stage="describing scenes", span=(0.7, 0.75))
        return [{**scene.model_dump(mode="json"), **said.model_dump()}
                for scene, said in zip(scenes.scenes, told.scenes, strict=True)]

    async def shots_seen(self, video: MediaRef, scenes: list[dict[str, Any]],
                         ctx: JobContext) -> tuple[list[dict[str, Any]], str]:
        """The scenes described by the vlm from their frames (the measured text kept as
        `measured`), and the model's name."""
        slots = [SceneSlot(start=s["start"], end=s["end"], text=s["said"]) for s in scenes]
        seen = await self.run_engine("vlm", "describe_scenes", DescribeScenesRequest(video=video, scenes=slots),
                                     SceneDescriptions, ctx, stage="describing shots", span=(0.75, 0.85))
        return [{**scene, "measured": scene["description"], "description": text}
                for scene, text in zip(scenes, seen.descriptions, strict=True)], seen.model

    async def chapters_titled(self, video: MediaRef, found: Chapters, ctx: JobContext) -> Chapters:
        """The chapters titled and summed up by the vlm from their frames and their words; an
        empty title leaves the extracted one."""
        slots = [ChapterSlot(start=c.start, end=c.end, text=c.summary or "", title=c.title)
                 for c in found.chapters]
        written = await self.run_engine(
            "vlm", "title_chapters", TitleChaptersRequest(video=video, chapters=slots), ChapterTitles, ctx,
            stage="titling chapters", span=(0.98, 0.995))  # after the written answer's (0.92, 0.98)
        chapters = [c.model_copy(update={"title": title, "summary": summary or c.summary,
                                         "extracted_title": c.title}) if title.strip() else c
                    for c, title, summary in zip(found.chapters, written.titles, written.summaries,
                                                 strict=True)]
        return Chapters(chapters=chapters, method=f"{found.method}, titled by {written.model}")

    async def written_answer(self, video: MediaRef, question: str, retrieved: Answer,
                             ctx: JobContext) -> dict[str, Any]:
        """The vlm's answer from the frames and the passages retrieval cited; the retrieval's own
        answer stays as `retrieved`."""
        passages = [TimedText(start=c.start, end=c.end, text=c.text) for c in retrieved.citations]
        written = await self.run_engine(
            "vlm", "answer", VideoQuestionRequest(video=video, question=question, passages=passages),
            GeneratedAnswer, ctx, stage="writing the answer", span=(0.92, 0.98))
        return {**retrieved.model_dump(), "answer": written.answer, "cited": written.cited,
                "retrieved": retrieved.answer,
                "method": f"generated by {written.model} from {retrieved.method}"}


def skipped_stages(tasks: set[str], media: MediaInfo) -> Skipped:
    """The stages `media` cannot feed and why; UnsupportedMedia when that leaves no task to run."""
    skipped: Skipped = {}
    if tasks & SPOKEN and not media.has_audio:
        skipped["transcribe"] = "the video has no audio track"
    if tasks & SEEN and not media.has_video:
        skipped["scenes"] = "the input has no video stream"
    if skipped and tasks <= skipped.keys():
        raise UnsupportedMedia("; ".join(
            f"the {task} task cannot run: {why}" for task, why in skipped.items()))
    return skipped


def chapters_request(video: MediaRef, segments: list[SpokenSegment], scenes: SceneList | None,
                     result: dict[str, Any]) -> ChaptersRequest:
    """What is said and the shots, each with its description: the vlm's or the text told with
    the scenes when the scenes task ran, else the measured one."""
    shots = [TimedText(start=s["start"], end=s["end"], text=s["description"]) for s in result["scenes"]] \
        if "scenes" in result else [TimedText(start=s.start, end=s.end, text=s.description)
                                    for s in (scenes.scenes if scenes else [])]
    said = [TimedText(start=s.start, end=s.end, text=s.text) for s in segments]
    duration = max([video.media.duration_seconds or 0.0] + [t.end for t in said + shots])
    return ChaptersRequest(duration=duration or 1.0, segments=said, scenes=shots)


NOTHING_RETRIEVED = Answer(answer=None, citations=[], method="the frames alone")
"""What retrieval gives a vlm when the video has nothing said or described to retrieve."""


def embeddings(passages: list[Passage], output: Embeddings) -> dict[str, Any]:
    """Each passage with its vector inline, or the vectors as one file (row i = item i)."""
    items = [p.model_dump() for p in passages]
    if output.vectors:
        items = [{**item, "vector": v} for item, v in zip(items, output.vectors, strict=False)]
    return {"model": output.model, "dimension": output.dimension, "items": items,
            **({"file": output.file} if output.file else {})}

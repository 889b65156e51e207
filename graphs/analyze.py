"""Analyze: video -> transcript, scenes, embeddings and answers, from one job.

    video --asr.transcribe--> transcript ─┐   (in parallel)
    video --scenes.scenes--> scenes ──────┤
                                          ├─ scenes.add_speech (what is said in each scene)
    segments + scenes --embedder.embed--> vectors ─┐  (in parallel)
    question + segments + scenes --qa.answer-----> answer with the timestamps it rests on

A task's engine runs only when the task (or one that needs its output) is asked for: `embed`
and `qa` work on the transcript, and on the scenes when those are asked for too.
"""

from __future__ import annotations

from typing import Any

from graphs.base import Graph, JobContext
from serve_app.errors import NoSpeechDetected, UnsupportedMedia
from serve_app.media import MediaRef
from serve_app.schemas import AnalyzeRequest

TASK_ROLES = {"transcribe": "asr", "scenes": "scenes", "embed": "embedder", "qa": "qa"}


class AnalyzeGraph(Graph):
    roles = {
        "asr": "speech to text with word timings",
        "scenes": "shot boundaries, keyframes and descriptions",
        "embedder": "vectors for transcript segments and scenes",
        "qa": "answers grounded in the video",
    }

    @classmethod
    def required_roles(cls, request: AnalyzeRequest) -> dict[str, str]:
        roles = {TASK_ROLES[task]: f"task {task!r}" for task in request.tasks}
        for task in ("embed", "qa"):
            if task in request.tasks:
                roles.setdefault("asr", f"task {task!r} (it works on the transcript)")
        return roles

    async def run(
        self, request: AnalyzeRequest, inputs: dict[str, MediaRef], ctx: JobContext
    ) -> dict[str, Any]:
        video = inputs["video_url"]
        tasks = set(request.tasks)
        if "scenes" in tasks and not video.media.has_video:
            raise UnsupportedMedia("the scenes task needs a video stream; this input has none")
        source = video.model_dump(mode="json")
        result: dict[str, Any] = {"duration_seconds": video.media.duration_seconds, "engines": {}}

        first = {}
        if tasks & {"transcribe", "embed", "qa"}:
            first["transcribe"] = ("asr", "transcribe", {"audio": source})
        if "scenes" in tasks:
            first["scenes"] = ("scenes", "scenes", {"video": source})
        outputs = await self.parallel(ctx, first, span=(0.05, 0.7))
        transcript, scenes = outputs.get("transcribe"), outputs.get("scenes")
        segments = [{k: s[k] for k in ("start", "end", "text")}
                    for s in (transcript or {}).get("segments", []) if s["text"].strip()]
        if transcript and "transcribe" in tasks:
            result["transcript"] = transcript
            result["engines"]["transcribe"] = transcript["engine"]
        if scenes:
            described = await self.call(
                "scenes", "add_speech",
                {"scenes": [{k: s[k] for k in ("start", "end", "description")} for s in scenes["scenes"]],
                 "segments": segments},
                ctx, stage="describing scenes", span=(0.7, 0.75))
            result["scenes"] = [{**scene, **told} for scene, told in
                                zip(scenes["scenes"], described["scenes"], strict=True)]
            result["engines"]["scenes"] = scenes["detector"]

        passages = [{**s, "kind": "segment"} for s in segments] + [
            {"start": s["start"], "end": s["end"], "text": s["description"], "kind": "scene"}
            for s in result.get("scenes", [])]
        if tasks & {"embed", "qa"} and not passages:
            hint = "" if "scenes" in tasks else " (the scenes task adds visual passages)"
            raise NoSpeechDetected(f"nothing to embed or answer from: the video has no speech{hint}")
        later = {}
        if "embed" in tasks:
            later["embed"] = ("embedder", "embed", {"texts": [p["text"] for p in passages]})
        if "qa" in tasks:
            later["qa"] = ("qa", "answer", {"question": request.question, "passages": passages})
        outputs = await self.parallel(ctx, later, span=(0.75, 0.98))
        if "embed" in outputs:
            result["embeddings"] = embeddings(passages, outputs["embed"])
            result["engines"]["embed"] = outputs["embed"]["model"]
        if "qa" in outputs:
            result["answer"] = outputs["qa"]
            result["engines"]["qa"] = outputs["qa"]["method"]
        return result


def embeddings(passages: list[dict[str, Any]], output: dict[str, Any]) -> dict[str, Any]:
    """Each passage with its vector inline, or the vectors as one file (row i = item i)."""
    items = [{**p, "vector": v} for p, v in zip(passages, output["vectors"], strict=False)] \
        if output["vectors"] else passages
    return {"model": output["model"], "dimension": output["dimension"], "items": items,
            **({"file": output["file"]} if output.get("file") else {})}

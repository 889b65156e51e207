"""Analyze: video -> transcript (scenes, embeddings and answers come with their engines).

    video --asr.transcribe--> transcript
"""

from __future__ import annotations

from typing import Any

from graphs.base import Graph, JobContext
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
        return {TASK_ROLES[task]: f"task {task!r}" for task in request.tasks}

    async def run(
        self, request: AnalyzeRequest, inputs: dict[str, MediaRef], ctx: JobContext
    ) -> dict[str, Any]:
        video = inputs["video_url"]
        result: dict[str, Any] = {"duration_seconds": video.media.duration_seconds, "engines": {}}
        if "transcribe" in request.tasks:
            transcript = await self.call(
                "asr", "transcribe", {"audio": video.model_dump(mode="json")}, ctx,
                stage="transcribe", span=(0.1, 0.95),
            )
            result["transcript"] = transcript
            result["engines"]["transcribe"] = transcript["engine"]
        return result

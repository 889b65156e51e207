"""Analyze by a vendor that indexes and understands the whole video itself (Twelve Labs):

    video --analyzer.analyze--> transcript, scenes and chapters (both the vendor's chapters), answer

One stage, kept on the job like the vendor dub's. The result keeps the analyze graph's keys
(`transcript`, `scenes` with start/end/description, `answer` with answer/citations/method) as
far as the vendor gives them; what it cannot give is named in `not_given`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graphs.base import Graph, JobContext
from reelcore.capabilities.byok import AnalyzeCheck, AnalyzeInput, VendorAnalysis
from reelcore.errors import UnsupportedMedia
from reelcore.media import MediaRef
from reelcore.schemas import AnalyzeRequest, Chapter


class VendorAnalyzeGraph(Graph):
    roles = {"analyzer": "a vendor that indexes the video and transcribes, chapters and answers from it"}

    @classmethod
    def required_roles(cls, request: AnalyzeRequest) -> dict[str, str]:
        return {"analyzer": f"tasks {', '.join(request.tasks)}"}

    @classmethod
    def required_checks(cls, request: AnalyzeRequest) -> dict[str, BaseModel]:
        return {"analyzer": AnalyzeCheck(tasks=request.tasks)}

    async def run(self, request: AnalyzeRequest, inputs: dict[str, MediaRef],
                  ctx: JobContext) -> dict[str, Any]:
        video = inputs["video_url"]
        if not video.media.has_video:
            raise UnsupportedMedia("a vendor analyzes video: this input has no video stream")
        key = await self.required_vendor_key(ctx)
        done = await self.stage(ctx, "analyze", VendorAnalysis, lambda: self.run_engine(
            "analyzer", "analyze",
            AnalyzeInput(video=video, tasks=request.tasks, question=request.question, api_key=key),
            VendorAnalysis, ctx, stage="analyze", span=(0.02, 0.98)))
        result: dict[str, Any] = {"duration_seconds": video.media.duration_seconds, "vendor": done.vendor,
                                  "not_given": done.not_given, "engines": {}}
        if done.transcript:
            result["transcript"] = done.transcript
            result["engines"]["transcribe"] = done.transcript.engine
        if done.scenes is not None and "scenes" in request.tasks:
            result["scenes"] = [scene.model_dump() for scene in done.scenes]
            result["engines"]["scenes"] = f"{done.vendor.provider} chapters"
        if done.scenes is not None and "chapters" in request.tasks:
            result["chapters"] = [Chapter(index=i, start=s.start, end=s.end, title=s.title,
                                          summary=s.description).model_dump()
                                  for i, s in enumerate(done.scenes)]
            result["engines"]["chapters"] = f"{done.vendor.provider} chapters"
        if done.answer:
            result["answer"] = done.answer
            result["engines"]["qa"] = done.answer.method
        return result

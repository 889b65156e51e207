"""Dub by a vendor that runs the whole pipeline itself (HeyGen, ElevenLabs):

    video --dubber.dub--> the dubbed video (+ WebVTT subtitles when the vendor gives them)

One stage, kept on the job like the dub graph's stages. The vendor transcribes, translates,
voices and (HeyGen) re-syncs the lips; what it does not hand back is named in `not_given`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graphs.base import Graph, JobContext
from reelcore.capabilities.byok import DubbedVideo, DubCheck, DubInput
from reelcore.errors import UnsupportedMedia
from reelcore.media import MediaRef
from reelcore.schemas import DubRequest


class VendorDubGraph(Graph):
    roles = {"dubber": "a vendor that dubs the whole video: speech, translation, voice, lips"}

    @classmethod
    def required_roles(cls, request: DubRequest) -> dict[str, str]:
        return {"dubber": f"target_language {request.target_language!r}"}

    @classmethod
    def required_checks(cls, request: DubRequest) -> dict[str, BaseModel]:
        return {"dubber": DubCheck.model_validate(request.model_dump(include={
            "target_language", "source_language", "voice_id", "tts_provider", "lipsync_provider"}))}

    async def run(self, request: DubRequest, inputs: dict[str, MediaRef], ctx: JobContext) -> dict[str, Any]:
        video = inputs["video_url"]
        if not (video.media.has_video and video.media.has_audio):
            raise UnsupportedMedia("video_url needs both a video stream and an audio track to dub")
        key = await self.required_vendor_key(ctx)
        done = await self.stage(ctx, "dub", DubbedVideo, lambda: self.run_engine(
            "dubber", "dub",
            DubInput(video=video, target_language=request.target_language,
                     source_language=request.source_language, api_key=key),
            DubbedVideo, ctx, stage="dub", span=(0.02, 0.98)))
        return {"video": done.video, "source_language": done.source_language,
                "target_language": request.target_language, "vendor": done.vendor,
                **({"subtitles": done.subtitles} if done.subtitles else {}),
                "not_given": {"transcript": "the vendor does not return the source transcript",
                              "translation": "the vendor does not return timed translated segments"}}

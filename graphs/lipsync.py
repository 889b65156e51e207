"""Lipsync: a video and new speech -> the video with its mouth following the speech.

    audio --asr.transcribe (when configured)--> word timings
    video + audio + words --lipsync.lipsync--> video

Word timings (from an `asr` engine, when one is configured) let the engine shape the mouth from
the words' phonemes: closed on p/b/m, rounded on o/u, wide on ee.
"""

from __future__ import annotations

from typing import Any

from graphs.base import Graph, JobContext, rendered
from reelcore.capabilities.face import LipsyncInput, RenderedVideo
from reelcore.errors import UnsupportedMedia
from reelcore.media import MediaRef
from reelcore.schemas import LipsyncRequest


class LipsyncGraph(Graph):
    roles = {
        "lipsync": "re-renders the mouth of a video to follow new speech",
        "asr": "word timings of the new speech (optional)",
    }

    @classmethod
    def required_roles(cls, request: LipsyncRequest) -> dict[str, str]:
        return {"lipsync": "lipsync"}

    async def run(
        self, request: LipsyncRequest, inputs: dict[str, MediaRef], ctx: JobContext
    ) -> dict[str, Any]:
        video, audio = inputs["video_url"], inputs["audio_url"]
        if not video.media.has_video:
            raise UnsupportedMedia("video_url has no video stream")
        if not audio.media.has_audio:
            raise UnsupportedMedia("audio_url has no audio stream")
        spoken = await self.word_timings(audio, ctx, span=(0.02, 0.1))
        output = await self.run_engine(
            "lipsync", "lipsync",
            LipsyncInput(video=video, audio=audio, words=spoken.words, language=spoken.language,
                         sync_mode=request.sync_mode, face=request.face,
                         api_key=await self.vendor_key(ctx)),
            RenderedVideo, ctx, stage="lipsync", span=(0.1, 0.98),
        )
        return rendered(output)

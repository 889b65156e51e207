"""Avatar: a portrait and speech (or text and a voice) -> a talking-head video.

    text --translator.translate (with target_language)--> text
    text --tts.synthesize--> speech (+ word timings)
    or: speech --asr.transcribe (when configured)--> word timings
    image + speech --animator.animate--> video
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graphs.base import Graph, JobContext, rendered
from reelcore.capabilities.asr import WordTimings
from reelcore.capabilities.face import AnimateInput, RenderedVideo
from reelcore.capabilities.speech import Speech, SynthesizeRequest
from reelcore.capabilities.translation import PairRequest, Segment, TranslateRequest, Translation
from reelcore.errors import UnsupportedMedia
from reelcore.media import MediaRef
from reelcore.schemas import AvatarRequest


class AvatarGraph(Graph):
    roles = {
        "animator": "animates a portrait to speak given audio",
        "tts": "speech from text",
        "translator": "translates text before it is spoken",
        "asr": "word timings of given speech (optional)",
    }

    @classmethod
    def required_roles(cls, request: AvatarRequest) -> dict[str, str]:
        roles = {"animator": "avatar"}
        if request.text:
            roles["tts"] = "text with voice_id"
        if request.target_language:
            roles["translator"] = f"target_language {request.target_language!r}"
        return roles

    @classmethod
    def required_checks(cls, request: AvatarRequest) -> dict[str, BaseModel]:
        if request.text and request.target_language:
            return {"translator": PairRequest(target_language=request.target_language)}
        return {}

    @classmethod
    def required_keys(cls, request: AvatarRequest) -> dict[str, str]:
        if request.text and request.tts_provider == "elevenlabs":
            return {"elevenlabs": "tts_provider 'elevenlabs'"}
        return {}

    async def run(
        self, request: AvatarRequest, inputs: dict[str, MediaRef], ctx: JobContext
    ) -> dict[str, Any]:
        image = inputs["image_url"]
        if not (image.media.is_image or image.media.has_video):
            raise UnsupportedMedia("image_url is not a picture")
        result: dict[str, Any] = {}
        if request.text:
            speech = await self.speak(request, ctx, result)
            audio = speech.audio
            spoken = WordTimings(words=speech.words, language=speech.language)
            result["voice_id"] = speech.voice_id
        else:
            audio = inputs["audio_url"]
            if not audio.media.has_audio:
                raise UnsupportedMedia("audio_url has no audio stream")
            spoken = await self.word_timings(audio, ctx, span=(0.02, 0.1))
        output = await self.run_engine(
            "animator", "animate",
            AnimateInput(image=image, audio=audio, words=spoken.words, language=spoken.language,
                         api_key=await self.vendor_key(ctx)),
            RenderedVideo, ctx, stage="animate", span=(0.2, 0.98),
        )
        return {**result, "audio": audio, **rendered(output)}

    async def speak(self, request: AvatarRequest, ctx: JobContext, result: dict[str, Any]) -> Speech:
        """The request's text spoken (translated first when asked: `result` gets what was said)."""
        text = request.text
        if request.target_language:
            pair = PairRequest(target_language=request.target_language)
            translation = await self.run_engine(
                await self.first_supporting("translator", pair), "translate",
                TranslateRequest(segments=[Segment(text=text)], **pair.model_dump()),
                Translation, ctx, stage="translate", span=(0.01, 0.05),
            )
            text = result["spoken_text"] = translation.segments[0].text
        keys = {p: await ctx.provider_key(p) for p in self.required_keys(request)}
        return await self.run_engine(
            "tts", "synthesize",
            SynthesizeRequest(text=text, voice_id=request.voice_id, tts_provider=request.tts_provider,
                              language=request.target_language, api_key=keys.get(request.tts_provider)),
            Speech, ctx, stage="speech", span=(0.02, 0.2),
        )

"""Dub: a video -> the same video speaking another language, lips re-synced.

    video --asr.transcribe--> segments (language detected when not given)
    segments --translator.translate--> translated segments (same slots) + WebVTT subtitles
    translated segments --tts.synthesize_segments--> one voice track, each line fitted to its slot
    original sound --separator.separate--> voice stem + background   (when a separator is configured)
    original sound (or its stems) + voice --mixer.mix--> the voice over the original's non-speech sound
    voice --asr.transcribe--> its word timings (when the voice gave none)
    video + mix (mouth driven by the voice and its words) --lipsync.lipsync--> the dubbed video

Each stage's output is kept on the job (`Graph.stage`), so a retried attempt resumes at the
stage that failed. The separator (demucs on a GPU) is optional: without one, or while it is
unavailable, the mixer ducks the original's speech band instead. `lipsync_provider` picks the
lipsync engine configured under the role `lipsync/<provider>`; `auto` takes the one under
`lipsync`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graphs.base import Graph, JobContext
from reelcore.capabilities.asr import TranscribeRequest, Transcript, WordTimings
from reelcore.capabilities.face import LipsyncInput, RenderedVideo
from reelcore.capabilities.mixing import Mix, MixRequest
from reelcore.capabilities.separation import SeparateRequest, Separation
from reelcore.capabilities.speech import FittedSpeech, SynthesizeSegmentsRequest
from reelcore.capabilities.timed_text import TimedText
from reelcore.capabilities.translation import PairRequest, Segment, TranslateRequest, Translation
from reelcore.errors import NoSpeechDetected, ProviderUnavailable, UnsupportedMedia
from reelcore.media import MediaRef
from reelcore.schemas import DubRequest


def lipsync_role(request: DubRequest) -> str:
    return "lipsync" if request.lipsync_provider == "auto" else f"lipsync/{request.lipsync_provider}"


def whisper_language(tag: str | None) -> str | None:
    """BCP-47 (pt-BR) -> Whisper's ISO 639-1 (pt)."""
    return tag.split("-")[0].lower() if tag else None


class DubGraph(Graph):
    roles = {
        "asr": "transcribes the source speech, detecting its language",
        "translator": "translates each segment, keeping its time slot (translator/<name>: more, "
                      "by language pair)",
        "tts": "speaks the translation, fitted into the original slots",
        "separator": "splits the original's voice from the rest of its sound (optional)",
        "mixer": "lays the new voice over the original non-speech sound",
        "lipsync": "re-syncs the lips to the new voice (lipsync/<provider> for a named one)",
    }

    @classmethod
    def required_roles(cls, request: DubRequest) -> dict[str, str]:
        return {"asr": "transcription", "translator": f"target_language {request.target_language!r}",
                "tts": "speech", "mixer": "mixing",
                lipsync_role(request): f"lipsync_provider {request.lipsync_provider!r}"}

    @classmethod
    def required_checks(cls, request: DubRequest) -> dict[str, BaseModel]:
        return {"translator": PairRequest(target_language=request.target_language,
                                          source_language=request.source_language)}

    @classmethod
    def required_keys(cls, request: DubRequest) -> dict[str, str]:
        return {"elevenlabs": "tts_provider 'elevenlabs'"} if request.tts_provider == "elevenlabs" else {}

    async def run(self, request: DubRequest, inputs: dict[str, MediaRef], ctx: JobContext) -> dict[str, Any]:
        video = inputs["video_url"]
        if not video.media.has_video:
            raise UnsupportedMedia("video_url has no video stream")
        if not video.media.has_audio:
            raise UnsupportedMedia("video_url has no audio track to dub")
        transcript = await self.stage(ctx, "transcribe", Transcript, lambda: self.run_engine(
            "asr", "transcribe",
            TranscribeRequest(audio=video, language=whisper_language(request.source_language)),
            Transcript, ctx, stage="transcribe", span=(0.0, 0.2)))
        if not transcript.segments:
            raise NoSpeechDetected("no speech was heard in the video")
        translation = await self.stage(ctx, "translate", Translation,
                                       lambda: self.translate(request, transcript, ctx))
        speech = await self.stage(ctx, "speech", FittedSpeech, lambda: self.speak(
            request, translation, video.media.duration_seconds, ctx))
        stems = await self.separate(video, ctx, span=(0.45, 0.48))
        mix = await self.stage(ctx, "mix", Mix, lambda: self.run_engine(
            "mixer", "mix",
            MixRequest(original=video, speech=speech.audio,
                       voice=stems and stems.voice, background=stems and stems.background,
                       speech_intervals=[(s.start, s.end) for s in transcript.segments],
                       new_intervals=[(p.start, p.end) for p in speech.placements]),
            Mix, ctx, stage="mix", span=(0.48, 0.5)))
        rendered = await self.stage(ctx, "lipsync", RenderedVideo,
                                    lambda: self.lipsync(request, video, speech, mix, ctx))
        return {
            "video": rendered.video,
            "render": rendered.render,
            "source_language": translation.source_language,
            "translator": translation.engine,
            "target_language": request.target_language,
            "voice_id": speech.voice_id,
            "soundtrack": {"method": mix.method, **({"separator": stems.model} if stems else {})},
            "transcript": transcript,
            "translation": translation.segments,
            # Where each translated line was spoken, at what tempo, and whether its end had to
            # be cut (1.25x and every gap were not enough): a viewer hears that, so it is said.
            "spoken": speech.placements,
            "subtitles": translation.subtitles,
        }

    async def translate(self, request: DubRequest, transcript: Transcript, ctx: JobContext) -> Translation:
        pair = PairRequest(source_language=request.source_language or transcript.language,
                           target_language=request.target_language)
        return await self.run_engine(
            await self.first_supporting("translator", pair), "translate",
            TranslateRequest(segments=[Segment(text=s.text, start=s.start, end=s.end)
                                       for s in transcript.segments],
                             subtitles=True, **pair.model_dump()),
            Translation, ctx, stage="translate", span=(0.2, 0.25))

    async def speak(self, request: DubRequest, translation: Translation, duration: float,
                    ctx: JobContext) -> FittedSpeech:
        keys = {p: await ctx.provider_key(p) for p in self.required_keys(request)}
        return await self.run_engine(
            "tts", "synthesize_segments",
            SynthesizeSegmentsRequest(
                segments=[TimedText.model_validate(s.model_dump()) for s in translation.segments],
                total_duration_seconds=duration, voice_id=request.voice_id,
                tts_provider=request.tts_provider, language=request.target_language,
                api_key=keys.get(request.tts_provider)),
            FittedSpeech, ctx, stage="speech", span=(0.25, 0.45))

    async def lipsync(self, request: DubRequest, video: MediaRef, speech: FittedSpeech, mix: Mix,
                      ctx: JobContext) -> RenderedVideo:
        # Voices without word timings (Kokoro) are heard by the asr engine instead: the mouth's
        # shapes come from the words' phonemes.
        spoken = (WordTimings(words=speech.words, language=speech.language) if speech.words
                  else await self.word_timings(speech.audio, ctx, span=(0.5, 0.52)))
        return await self.run_engine(
            lipsync_role(request), "lipsync",
            LipsyncInput(video=video, audio=mix.audio, voice=speech.audio, words=spoken.words,
                         language=spoken.language or speech.language),
            RenderedVideo, ctx, stage="lipsync", span=(0.52, 0.98))

    async def separate(self, video: MediaRef, ctx: JobContext, span: tuple[float, float]) -> Separation | None:
        """The original's voice and background stems from the optional separator, or None when
        none is configured or it is unavailable (the mixer then ducks the speech band)."""
        if "separator" not in self.engines:
            return None
        try:
            return await self.stage(ctx, "separate", Separation, lambda: self.run_engine(
                "separator", "separate", SeparateRequest(audio=video), Separation, ctx,
                stage="separate", span=span))
        except ProviderUnavailable:
            return None

"""The API's pydantic models: the single source of truth for validation, OpenAPI and the SDK.

Field names, defaults and ranges follow `shared/spec/video-api.md` exactly. This module imports
only pydantic, so the SDK (`reelserve`) uses these same classes without Ray.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)

Url = Annotated[HttpUrl, PlainSerializer(str, return_type=str)]
"""An http(s) URL, kept as the caller wrote it when serialised."""

LanguageTag = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)
]
"""A BCP-47 language tag such as `en`, `pt-BR` or `es-ES`."""


class JobType(StrEnum):
    generate = "generate"
    avatar = "avatar"
    lipsync = "lipsync"
    dub = "dub"
    analyze = "analyze"


class JobStatus(StrEnum):
    pending = "pending"
    """Accepted and queued; no runner has started it yet."""
    processing = "processing"
    """A runner holds the job's lease and is working through its stages."""
    completed = "completed"
    """Finished; `result` is set."""
    failed = "failed"
    """Finished with `error` set."""
    canceled = "canceled"
    """Stopped at the caller's request; `error.code` is `canceled`."""

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.completed, JobStatus.failed, JobStatus.canceled)


# Engines each operation knows, best first. `auto` picks the first available one; the rest are
# listed by `GET /v1/providers` with the reason they are unavailable.
GenerateProvider = Literal["ltx-video", "wan2.1", "cogvideox", "sora", "runway"]
AvatarProvider = Literal[
    "hallo3", "liveportrait", "echomimicv2", "v-express", "skyreels-a1", "heygen", "facemesh-avatar"
]
LipsyncProvider = Literal[
    "latentsync", "video-retalking", "musetalk", "sync-labs", "heygen-lipsync", "facemesh-lipsync"
]
DubProvider = Literal["reelserve", "heygen", "elevenlabs"]
AnalyzeProvider = Literal[
    "qwen3-vl", "qwen2.5-vl", "internvideo2.5", "videochat-flash", "twelve-labs", "reelserve"
]
TtsProvider = Literal["default", "kokoro", "piper", "espeak-ng", "elevenlabs"]
AnalyzeTask = Literal["transcribe", "scenes", "embed", "qa", "chapters"]
Skipped = dict[AnalyzeTask, str]
"""An analyze result's `skipped`: the stages its input could not feed, and why (`VideoJob.result`)."""

PROVIDERS: dict[JobType, tuple[str, ...]] = {
    JobType.generate: GenerateProvider.__args__,
    JobType.avatar: AvatarProvider.__args__,
    JobType.lipsync: LipsyncProvider.__args__,
    JobType.dub: DubProvider.__args__,
    JobType.analyze: AnalyzeProvider.__args__,
}


ByokProvider = Literal[
    "elevenlabs", "sora", "runway", "heygen", "sync-labs", "heygen-lipsync", "twelve-labs"
]
"""Commercial engines called with the caller's own key."""
BYOK_PROVIDERS = frozenset(ByokProvider.__args__)
EMBEDDED_PROVIDERS = frozenset({"facemesh-avatar", "facemesh-lipsync", "reelserve"})
"""Our own engines and pipelines that run on CPU with packaged models."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: Url | None = Field(None, description="Notified (signed) when the job ends.")


class GenerateRequest(_Request):
    """Text -> video."""

    prompt: str = Field(..., min_length=1, max_length=2000)
    negative_prompt: str | None = Field(None, max_length=2000, description="What to avoid.")
    duration_seconds: float = Field(5, ge=1, le=30)
    width: int = Field(768, ge=256, le=1920)
    height: int = Field(512, ge=256, le=1080)
    fps: int = Field(24, ge=8, le=60)
    provider: Literal["auto", GenerateProvider] = "auto"
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="(ours) The same seed and request "
                             "render the same frames; drawn at random when absent and returned in the result.")
    image_url: Url | None = Field(None, description="(ours) A first frame (JPG or PNG): image-to-video, "
                                                    "where the provider supports it.")


def _given(*fields: str) -> dict[str, Any]:
    """JSON Schema: each of `fields` present and not null."""
    return {"required": list(fields), "properties": {f: {"not": {"type": "null"}} for f in fields}}


class AvatarRequest(_Request):
    """Still image + audio (or text + voice, synthesised first) -> talking-head video."""

    model_config = ConfigDict(json_schema_extra={  # the cross-field rule, stated for clients
        "description": "Give either `audio_url`, or `text` together with `voice_id`; not both.",
        "anyOf": [_given("audio_url"), _given("text", "voice_id")],
        "not": _given("audio_url", "text"),
    })

    image_url: Url = Field(..., description="A picture with a visible face: JPG or PNG (also WebP, "
                                            "or a GIF's or video's first frame).")
    audio_url: Url | None = None
    text: str | None = Field(None, min_length=1, max_length=10_000)
    voice_id: str | None = Field(None, min_length=1, max_length=200)
    tts_provider: TtsProvider = "default"
    target_language: LanguageTag | None = Field(
        None, description="If set, `text` is translated to it before synthesis."
    )
    provider: Literal["auto", AvatarProvider] = "auto"

    @model_validator(mode="after")
    def _audio_or_text(self) -> AvatarRequest:
        if self.audio_url is None and not (self.text and self.voice_id):
            raise ValueError("give either audio_url, or text together with voice_id")
        if self.audio_url is not None and self.text is not None:
            raise ValueError("give audio_url or text, not both")
        return self


SyncMode = Literal["bounce", "loop", "cut_off", "silence", "remap"]


class FacePick(BaseModel):
    """The face to re-render when several are in shot: the one at (x, y) in frame `frame`."""

    model_config = ConfigDict(extra="forbid")

    frame: int = Field(0, ge=0, description="Source frame number (0 = first).")
    x: float = Field(..., ge=0, description="Pixels from the left edge of the source video.")
    y: float = Field(..., ge=0, description="Pixels from the top edge of the source video.")


class LipsyncRequest(_Request):
    """Video + audio -> the video with its lips re-aligned to the audio."""

    video_url: Url
    audio_url: Url
    provider: Literal["auto", LipsyncProvider] = "auto"
    sync_mode: SyncMode = Field(
        "bounce", description="When audio and video lengths differ (Sync Labs' names). bounce: the "
        "video plays forwards then backwards until the audio ends, or is trimmed to it; loop: "
        "restarts instead; cut_off: the shorter of the two; silence: the longer, the audio padded "
        "with silence (a longer audio is covered as in bounce); remap: the video sped up or slowed "
        "to the audio's length.")
    face: FacePick | None = Field(
        None, description="Which face to re-render; by default the one whose mouth follows the "
                          "video's own speech best.")


class DubRequest(_Request):
    """Video -> the same video in another language, lips re-synced."""

    video_url: Url
    target_language: LanguageTag
    source_language: LanguageTag | None = Field(None, description="Auto-detected when absent.")
    voice_id: str | None = Field(None, min_length=1, max_length=200)
    tts_provider: TtsProvider = "default"
    lipsync_provider: Literal["auto", LipsyncProvider] = "auto"
    provider: Literal["auto", DubProvider] = "auto"


class AnalyzeRequest(_Request):
    """Video -> transcript, scenes, embeddings, answers, chapters."""

    model_config = ConfigDict(json_schema_extra={  # the cross-field rule, stated for clients
        "description": "`question` (not blank) goes with the `qa` task, and only with it.",
        "anyOf": [
            {**_given("question"), "properties": {"tasks": {"contains": {"const": "qa"}},
                                                  "question": {"type": "string"}}},
            {"properties": {"tasks": {"not": {"contains": {"const": "qa"}}},
                            "question": {"type": "null"}}},
        ],
    })

    video_url: Url
    tasks: list[AnalyzeTask] = Field(..., min_length=1, max_length=5,
                                     json_schema_extra={"uniqueItems": True})
    question: str | None = Field(None, min_length=1, max_length=2000,
                                 json_schema_extra={"pattern": r"\S"})
    provider: Literal["auto", AnalyzeProvider] = "auto"

    @model_validator(mode="after")
    def _question_with_qa(self) -> AnalyzeRequest:
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError("tasks must not repeat")
        if "qa" in self.tasks and not (self.question and self.question.strip()):
            raise ValueError("the qa task needs a non-empty question")
        if self.question is not None and "qa" not in self.tasks:
            raise ValueError("question is only used with the qa task")
        return self


REQUEST_MODELS: dict[JobType, type[_Request]] = {
    JobType.generate: GenerateRequest,
    JobType.avatar: AvatarRequest,
    JobType.lipsync: LipsyncRequest,
    JobType.dub: DubRequest,
    JobType.analyze: AnalyzeRequest,
}


# --- results ----------------------------------------------------------------------------------


class Word(BaseModel):
    start: float
    end: float
    word: str
    probability: float


class TranscriptSegment(BaseModel):
    start: float
    end: float
    text: str
    words: list[Word] = []


class Transcript(BaseModel):
    language: str
    language_probability: float
    duration_seconds: float
    text: str
    segments: list[TranscriptSegment]
    engine: str = Field(..., description="Engine and model that produced it, e.g. faster-whisper/tiny.en.")


class Chapter(BaseModel):
    """A stretch of the video about one thing: consecutive shots and what is said in them."""

    index: int = Field(..., ge=0)
    start: float = Field(..., ge=0, description="Seconds; the first chapter starts at 0.")
    end: float = Field(..., ge=0, description="Seconds; the next chapter's start, the last ends the video.")
    title: str = Field(..., description="A few words: the chapter's most central sentence, shortened, "
                                        "or written by the vision-language model when one runs.")
    summary: str | None = Field(None, description="A sentence or two on the chapter, when there is one.")
    extracted_title: str | None = Field(
        None, description="When a vision-language model wrote `title`: the title taken from the "
                          "chapter's own words.")


# --- the job envelope -------------------------------------------------------------------------


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = Field(
        None, description="Specifics a program can act on: for a vendor's failure its status, "
                          "code, message and job id (`vendor_*`); for a refused input the limit.")


class WebhookAttempt(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: float


class WebhookState(BaseModel):
    url: str
    delivered: bool = False
    attempts: list[WebhookAttempt] = []


class VideoJob(BaseModel):
    id: str = Field(..., description='"vj_" + ULID')
    type: JobType
    status: JobStatus
    provider: str = Field(..., description="The engine that ran (or will run) the job.")
    progress: float = Field(0.0, ge=0.0, le=1.0)
    stage: str | None = Field(None, description="The stage now running (ours).")
    result: dict[str, Any] | None = Field(
        None, description="What the job made; its keys depend on the job's type.",
        json_schema_extra={"properties": {"skipped": {
            **TypeAdapter(Skipped).json_schema(),
            "description": "analyze: each stage the input could not feed, and why, e.g. "
                           '`{"transcribe": "the video has no audio track"}`; every task that could '
                           "run without it ran (`embed` and `qa` over the scenes alone). Absent when "
                           "nothing was skipped."},
            "chapters": {"type": "array", "items": Chapter.model_json_schema(),
                         "description": "analyze `chapters`: the video in order, without gaps or "
                                        "overlaps, each chapter titled."}}})
    error: ErrorInfo | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    owner_id: str
    attempts: int = Field(0, description="Runs started; above 1 after a lost runner (ours).")
    input: dict[str, Any] = Field(..., description="The request as accepted, defaults applied.")
    webhook: WebhookState | None = None


class JobList(BaseModel):
    data: list[VideoJob]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class JobEvent(BaseModel):
    """One server-sent event: the job right after a status or progress change."""

    event: Literal["job.updated"] = "job.updated"
    job: VideoJob


# --- other resources --------------------------------------------------------------------------


class Voice(BaseModel):
    id: str = Field(..., description="Pass as `voice_id`; it names its TTS engine too.")
    name: str
    tts_provider: str
    languages: list[str] = Field(..., description="BCP-47 tags it speaks; the first when a request names none.")
    native: list[str] = Field(
        default_factory=list,
        description="Those of `languages` it speaks as a native speaker, with no foreign accent; "
                    "empty when it speaks every one with an accent (Kokoro's Japanese voices) or "
                    "none is known (an ElevenLabs voice not verified in any language).")
    quality: Literal["neural", "formant"]


class VoiceList(BaseModel):
    data: list[Voice]


class ProviderInfo(BaseModel):
    name: str
    operation: JobType
    available: bool
    reason: str | None = Field(None, description="Why it is unavailable.")
    deployment: str | None = Field(None, description="The Serve deployment that runs it.")
    kind: Literal["self-hosted", "embedded", "byok"] = "self-hosted"
    needs: str | None = Field(None, description="What the caller must provide: a BYOK provider's key (ours).")


class ProviderList(BaseModel):
    data: list[ProviderInfo]


class MediaInfo(BaseModel):
    """What probing a file found (never trusted from the extension)."""

    format: str
    duration_seconds: float | None
    has_video: bool
    has_audio: bool
    width: int | None = Field(None, description="As displayed: after `rotation`.")
    height: int | None = None
    fps: float | None = Field(None, description="Average frames per second (phones record a "
                                                "variable rate).")
    is_image: bool = False
    rotation: Literal[0, 90, 180, 270] = Field(
        0, description="Degrees the stored pictures are turned clockwise for display (a phone held "
                       "upright records them sideways); outputs are written upright.")


class Upload(BaseModel):
    id: str
    url: str = Field(..., description="Signed, expiring URL; pass it as any `*_url` field.")
    filename: str
    size_bytes: int
    content_type: str
    media: MediaInfo
    expires_at: datetime


class Account(BaseModel):
    owner_id: str
    webhook_secret: str = Field(..., description="Verifies this owner's webhooks (whsec_...).")
    provider_keys: list[ByokProvider] = Field(
        default_factory=list, description="Commercial engines this account has its own key for."
    )


class ProviderKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(..., min_length=8, max_length=512, description="Stored encrypted.")


class CollectionIn(BaseModel):
    """A named set of analysed videos to search together (ours)."""

    name: str = Field(..., min_length=1, max_length=200)


class Collection(BaseModel):
    id: str = Field(..., description='"col_" + ULID')
    name: str
    created_at: datetime
    videos: list[str] = Field(default_factory=list, description="Ids of the analyze jobs added.")
    vectors: int = 0
    model: str | None = Field(None, description="Embedding model of its vectors (set by the first video).")
    dimension: int | None = None


class CollectionList(BaseModel):
    data: list[Collection]


class CollectionVideoIn(BaseModel):
    job_id: str = Field(..., description="A completed analyze job of yours that ran the embed task.")


class SearchRequest(BaseModel):
    query: str = Field(..., min_length=1, max_length=1000, description="What to find, in your words.",
                       json_schema_extra={"pattern": r"\S"})
    limit: int = Field(10, ge=1, le=100)

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be blank")
        return value


class Moment(BaseModel):
    job_id: str
    start: float
    end: float
    score: float = Field(..., description="Cosine similarity of the query and the moment, -1..1.")
    text: str
    kind: Literal["segment", "scene"]


class SearchResult(BaseModel):
    data: list[Moment]
    searched: int = Field(..., description="Vectors compared (exact search).")
    took_ms: float


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody

"""What commercial (bring-your-own-key) engines take and give beyond a capability's own models.

Every vendor engine's request carries the owner's key (`Keyed`, or the `api_key` of the face
models), handed to it by the graph for that one call; a vendor's job is named on our result
(`VendorJob`) so support can find it at the vendor. Vendors that dub a whole video take and
return the models below, as do vendors that analyze one (`AnalyzeInput` -> `VendorAnalysis`);
lipsync and avatar vendors use the face engines' own models.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from reelcore.engine import Produced
from reelcore.media import MediaRef
from reelcore.schemas import AnalyzeTask, LanguageTag, TranscriptSegment


class Keyed(BaseModel):
    api_key: SecretStr = Field(..., description="The job owner's own key for this vendor.")


class VendorJob(BaseModel):
    provider: str
    job_id: str = Field(..., description="The vendor's id of the job it ran for us.")


class DubCheck(BaseModel):
    """What a dubbing vendor is asked before a dub is accepted."""

    target_language: LanguageTag
    source_language: LanguageTag | None = None
    voice_id: str | None = None
    tts_provider: str = "default"
    lipsync_provider: str = "auto"


class DubInput(Keyed):
    video: MediaRef
    target_language: LanguageTag
    source_language: LanguageTag | None = None


class DubbedVideo(BaseModel):
    video: Produced
    subtitles: Produced | None = Field(None, description="WebVTT of the dubbed speech, if given.")
    source_language: str | None = None
    target_language: str
    vendor: VendorJob


class AnalyzeCheck(BaseModel):
    """What an analyzing vendor is asked before an analyze job is accepted."""

    tasks: list[AnalyzeTask]


class AnalyzeInput(Keyed):
    video: MediaRef
    tasks: list[AnalyzeTask]
    question: str | None = None


class VendorScene(BaseModel):
    start: float
    end: float
    title: str
    description: str


class VendorTranscript(BaseModel):
    """A vendor's transcript: timed phrases; a field the vendor does not report stays None."""

    language: str | None = None
    duration_seconds: float | None = None
    text: str
    segments: list[TranscriptSegment]
    engine: str


class VendorCitation(BaseModel):
    start: float
    end: float
    rank: int = Field(..., description="The vendor's rank of the match (1 is best); it gives no score.")
    text: str | None = Field(None, description="What is said in the match, when the vendor says.")


class VendorAnswer(BaseModel):
    answer: str
    citations: list[VendorCitation]
    method: str


class VendorAnalysis(BaseModel):
    transcript: VendorTranscript | None = None
    scenes: list[VendorScene] | None = None
    answer: VendorAnswer | None = None
    not_given: dict[str, str] = Field(
        default_factory=dict, description="What was asked, or is usual, that the vendor cannot give, and why.")
    vendor: VendorJob

"""What commercial (bring-your-own-key) engines take and give beyond a capability's own models.

Every vendor engine's request carries the owner's key (`Keyed`, or the `api_key` of the face
models), handed to it by the graph for that one call; a vendor's job is named on our result
(`VendorJob`) so support can find it at the vendor. Vendors that dub a whole video take and
return the models below; lipsync and avatar vendors use the face engines' own models.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from reelcore.engine import Produced
from reelcore.media import MediaRef
from reelcore.schemas import LanguageTag


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

"""/v1/voices: the voices each TTS engine really has (ours)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from reelcore.capabilities.speech import VoicesRequest
from reelcore.errors import ProviderError
from reelcore.schemas import ErrorResponse, LanguageTag, VoiceList
from serve_app.deps import OwnerDep, ServicesDep

router = APIRouter(prefix="/v1/voices", tags=["voices"],
                   responses={c: {"model": ErrorResponse} for c in (401, 422)})


@router.get("", operation_id="list_voices")
async def list_voices(
    owner: OwnerDep, services: ServicesDep,
    language: LanguageTag | None = Query(None, description="Only voices speaking it."),  # noqa: B008
) -> VoiceList:
    """Voices usable as `voice_id`, from every available TTS engine; with your own ElevenLabs
    key set on the account, your ElevenLabs voices too (left out while ElevenLabs refuses the
    key or fails: the other voices are still listed)."""
    byok = None
    if "elevenlabs" in await services.provider_keys.providers(owner):
        byok = await services.provider_keys.get(owner, "elevenlabs")
    voices = []
    for engine in await services.providers.engines_offering("voices"):
        try:
            found = await engine.ask("voices", VoicesRequest(language=language, api_key=byok), VoiceList)
        except ProviderError:
            if byok is None:
                raise
            found = await engine.ask("voices", VoicesRequest(language=language), VoiceList)
        voices += found.data
    return VoiceList(data=voices)

"""HeyGen (API v3), called with the owner's own key: providers `heygen` (avatar and dub) and
`heygen-lipsync`.

- avatar (`animate`): `POST /v3/videos` with `type: image`, the photo and the speech as links
  HeyGen fetches (`audio_url`; our graph speaks text with our TTS first), then
  `GET /v3/videos/{id}` over pending -> processing -> completed | failed.
- lipsync: `POST /v3/lipsyncs` with `video` and `audio` as `{type: url, url}`, then
  `GET /v3/lipsyncs/{id}` over pending -> running -> completed | failed. HeyGen has no
  sync_mode and no face pick: requests that set them are refused, not quietly ignored.
- dub: `POST /v3/video-translations` with `output_languages` as HeyGen's language *names*
  (mapped from our BCP-47 tags below), then `GET /v3/video-translations/{id}`; the video and,
  when given, its captions are fetched.

Each job is deleted at HeyGen (`DELETE` on its resource) when our call is abandoned or times
out. The key travels in the `x-api-key` header only.
"""

from __future__ import annotations

from typing import Any

from deployments.vendor_http import Session, State, Vendor, VendorConfig, input_url, owner_key, rendered_video
from reelcore.capabilities.byok import DubbedVideo, DubCheck, DubInput, VendorJob
from reelcore.capabilities.face import AnimateInput, LipsyncInput, RenderedVideo
from reelcore.engine import Call, Engine, OutputFile, Support
from reelcore.errors import InvalidRequest

PHASES = {"pending": "running", "waiting": "running", "processing": "running", "running": "running",
          "completed": "done", "success": "done", "failed": "failed"}
LANGUAGES = {
    "en": "English", "en-US": "English (United States)", "en-GB": "English (United Kingdom)",
    "es": "Spanish", "es-ES": "Spanish (Spain)", "es-MX": "Spanish (Mexico)",
    "pt": "Portuguese", "pt-BR": "Portuguese (Brazil)", "pt-PT": "Portuguese (Portugal)",
    "fr": "French", "fr-FR": "French (France)", "fr-CA": "French (Canada)", "de": "German",
    "it": "Italian", "nl": "Dutch", "pl": "Polish", "ru": "Russian", "tr": "Turkish",
    "ja": "Japanese", "ko": "Korean", "zh": "Chinese", "zh-CN": "Chinese (Mandarin, Simplified)",
    "hi": "Hindi", "ar": "Arabic", "id": "Indonesian", "sv": "Swedish", "uk": "Ukrainian",
}
"""Our BCP-47 tags -> the names HeyGen's `output_languages` takes (its list:
`GET /v3/video-translations/languages`)."""


class HeyGenConfig(VendorConfig):
    base_url: str = "https://api.heygen.com"
    lipsync_mode: str = "speed"


def language_name(tag: str) -> str | None:
    return LANGUAGES.get(tag) or LANGUAGES.get(tag.split("-")[0].lower())


class HeyGenEngine(Engine):
    Config = HeyGenConfig
    methods = {"animate": AnimateInput, "lipsync": LipsyncInput, "dub": DubInput,
               "supports": DubCheck}
    quick = frozenset({"supports"})
    config: HeyGenConfig

    def load(self) -> None:
        """Nothing to load: HeyGen renders, reached per call with the owner's key."""
        self.vendor = Vendor("HeyGen", self.config, auth=lambda key: {"x-api-key": key}, key_name="heygen")

    def describe(self) -> dict[str, Any]:
        return {"vendor": "heygen", "api": "v3", "dub_languages": sorted(LANGUAGES)}

    def supports(self, request: DubCheck, call: Call) -> Support:
        """Whether HeyGen can dub this: a language it names, and none of our pipeline's knobs
        (HeyGen clones the speaker's voice and re-syncs the lips itself)."""
        if language_name(request.target_language) is None:
            return Support(ok=False, reason=f"HeyGen dubs into {', '.join(sorted(LANGUAGES))}; "
                                            f"not {request.target_language}")
        if request.voice_id or request.tts_provider != "default" or request.lipsync_provider != "auto":
            return Support(ok=False, reason="HeyGen dubs with the speaker's cloned voice and its own "
                                            "lipsync: voice_id, tts_provider and lipsync_provider do not apply")
        return Support(ok=True)

    def animate(self, request: AnimateInput, call: Call) -> RenderedVideo:
        body = {"type": "image", "image": {"type": "url", "url": input_url(request.image, self.config)},
                "audio_url": input_url(request.audio, self.config)}
        with self.vendor.session(owner_key(request.api_key, "heygen")) as http:
            video_id = http.json("POST", "/v3/videos", json=body)["data"]["video_id"]
            done = self.follow(http, f"/v3/videos/{video_id}", call)
            out = http.download(done["video_url"], call.workdir / "avatar.mp4")
        return rendered_video(out, "heygen photo avatar", VendorJob(provider="heygen", job_id=video_id))

    def lipsync(self, request: LipsyncInput, call: Call) -> RenderedVideo:
        if request.sync_mode != "bounce" or request.face is not None:
            raise InvalidRequest("heygen-lipsync has no sync_mode and no face pick; leave them unset")
        body = {"video": {"type": "url", "url": input_url(request.video, self.config)},
                "audio": {"type": "url", "url": input_url(request.audio, self.config)},
                "mode": self.config.lipsync_mode}
        with self.vendor.session(owner_key(request.api_key, "heygen-lipsync")) as http:
            lipsync_id = http.json("POST", "/v3/lipsyncs", json=body)["data"]["lipsync_id"]
            done = self.follow(http, f"/v3/lipsyncs/{lipsync_id}", call)
            out = http.download(done["video_url"], call.workdir / "lipsync.mp4")
        return rendered_video(out, f"heygen lipsync ({self.config.lipsync_mode})",
                              VendorJob(provider="heygen-lipsync", job_id=lipsync_id))

    def dub(self, request: DubInput, call: Call) -> DubbedVideo:
        target = language_name(request.target_language)
        if target is None:
            raise InvalidRequest(f"HeyGen does not dub into {request.target_language}")
        body: dict[str, Any] = {"video": {"type": "url", "url": input_url(request.video, self.config)},
                                "output_languages": [target], "enable_caption": True}
        if request.source_language:
            body["input_language"] = language_name(request.source_language) or request.source_language
        with self.vendor.session(request.api_key.get_secret_value()) as http:
            translation_id = http.json("POST", "/v3/video-translations", json=body)["data"][
                "video_translation_ids"][0]
            done = self.follow(http, f"/v3/video-translations/{translation_id}", call)
            video = http.download(done["video_url"], call.workdir / "dub.mp4")
            captions = http.download(done["caption_url"], call.workdir / "dub.vtt") \
                if done.get("caption_url") else None
        return DubbedVideo(
            video=OutputFile(path=video, content_type="video/mp4"),
            subtitles=OutputFile(path=captions, content_type="text/vtt") if captions else None,
            source_language=request.source_language or done.get("input_language"),
            target_language=request.target_language,
            vendor=VendorJob(provider="heygen", job_id=translation_id))

    def follow(self, http: Session, path: str, call: Call) -> dict[str, Any]:
        """The job's `data` once completed; deleted at HeyGen if our call ends first."""
        return http.poll(lambda: http.json("GET", path)["data"], read_state, call,
                         cancel=lambda: http.request("DELETE", path), job_id=path.rsplit("/", 1)[1])


def read_state(data: dict[str, Any]) -> State:
    return State(PHASES.get(str(data.get("status", "")).lower(), "running"),
                 message=data.get("failure_message") or data.get("error"))

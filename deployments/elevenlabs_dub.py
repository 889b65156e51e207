"""ElevenLabs dubbing, called with the owner's own key: dub provider `elevenlabs` (beside its
voices in deployments/voices/elevenlabs.py).

`POST /v1/dubbing` (multipart: `source_url` the link ElevenLabs fetches, `target_lang` and
`source_lang` as ISO 639-1 codes, `num_speakers` 0 to detect) answers `dubbing_id`; then
`GET /v1/dubbing/{id}` until `status` is `dubbed` (or `failed`, with `error`); then the dubbed
file `GET /v1/dubbing/{id}/audio/{language_code}` (a video for a video source) and its
subtitles `GET /v1/dubbing/{id}/transcript/{language_code}?format_type=webvtt`. An abandoned
or timed-out call deletes the dubbing (`DELETE /v1/dubbing/{id}`). ElevenLabs keeps the
speakers' voices and does not re-sync lips. Key: the `xi-api-key` header only.
"""

from __future__ import annotations

from typing import Any

from deployments.vendor_http import State, Vendor, VendorConfig, input_url
from reelcore.capabilities.byok import DubbedVideo, DubCheck, DubInput, VendorJob
from reelcore.engine import Call, Engine, OutputFile, Support

PHASES = {"dubbing": "running", "dubbed": "done", "failed": "failed"}


class ElevenLabsDubConfig(VendorConfig):
    base_url: str = "https://api.elevenlabs.io"


def iso639(tag: str) -> str:
    return tag.split("-")[0].lower()


class ElevenLabsDubEngine(Engine):
    Config = ElevenLabsDubConfig
    methods = {"dub": DubInput, "supports": DubCheck}
    quick = frozenset({"supports"})
    config: ElevenLabsDubConfig

    def load(self) -> None:
        """Nothing to load: ElevenLabs dubs, reached per call with the owner's key."""
        self.vendor = Vendor("ElevenLabs", self.config, auth=lambda key: {"xi-api-key": key},
                             key_name="elevenlabs")

    def describe(self) -> dict[str, Any]:
        return {"vendor": "elevenlabs", "api": "dubbing v1"}

    def supports(self, request: DubCheck, call: Call) -> Support:
        if request.voice_id or request.tts_provider != "default" or request.lipsync_provider != "auto":
            return Support(ok=False, reason="ElevenLabs dubs with the speakers' own voices and does "
                                            "not re-sync lips: voice_id, tts_provider and "
                                            "lipsync_provider do not apply")
        return Support(ok=True)

    def dub(self, request: DubInput, call: Call) -> DubbedVideo:
        target = iso639(request.target_language)
        form = {"source_url": input_url(request.video, self.config), "target_lang": target,
                "source_lang": iso639(request.source_language) if request.source_language else "auto",
                "num_speakers": "0", "watermark": "false"}
        with self.vendor.session(request.api_key.get_secret_value()) as http:
            # (None, value) pairs make httpx send multipart/form-data, as the endpoint requires.
            dubbing_id = http.json("POST", "/v1/dubbing", files={k: (None, v) for k, v in form.items()})[
                "dubbing_id"]
            path = f"/v1/dubbing/{dubbing_id}"
            done = http.poll(lambda: http.json("GET", path), read_state, call,
                             cancel=lambda: http.request("DELETE", path), job_id=dubbing_id)
            video = http.download(f"{path}/audio/{target}", call.workdir / "dub.mp4", auth=True)
            subtitles = call.workdir / "dub.vtt"
            subtitles.write_text(http.request("GET", f"{path}/transcript/{target}",
                                              params={"format_type": "webvtt"}).text)
        return DubbedVideo(video=OutputFile(path=video, content_type="video/mp4"),
                           subtitles=OutputFile(path=subtitles, content_type="text/vtt"),
                           source_language=done.get("source_language") or request.source_language,
                           target_language=request.target_language,
                           vendor=VendorJob(provider="elevenlabs", job_id=dubbing_id))


def read_state(answer: dict[str, Any]) -> State:
    return State(PHASES.get(answer.get("status", ""), "running"), message=answer.get("error"))

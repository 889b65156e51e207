"""Sync Labs (sync.so) lipsync, called with the owner's own key: provider `sync-labs`.

`POST /v2/generate` with `model`, `input` (the video and the audio, as links Sync fetches) and
`options` (`sync_mode` under the same five names our API uses, `temperature`, and
`active_speaker_detection`: automatic, or the face at a point of a frame when the request picks
one), then `GET /v2/generate/{id}` until COMPLETED (its `outputUrl` fetched at once) or
FAILED/REJECTED (its `error`). Sync documents no cancel for a generation: an abandoned call
stops polling and the generation runs out at Sync. Key: the `x-api-key` header.
"""

from __future__ import annotations

from typing import Any

from deployments.vendor_http import State, Vendor, VendorConfig, input_url, owner_key, rendered_video
from reelcore.capabilities.byok import VendorJob
from reelcore.capabilities.face import LipsyncInput, RenderedVideo
from reelcore.engine import Call, Engine

PHASES = {"PENDING": "running", "PROCESSING": "running", "COMPLETED": "done",
          "FAILED": "failed", "REJECTED": "failed", "CANCELED": "failed"}


class SyncLabsConfig(VendorConfig):
    base_url: str = "https://api.sync.so"
    model: str = "lipsync-2"
    temperature: float = 0.5


class SyncLabsEngine(Engine):
    Config = SyncLabsConfig
    methods = {"lipsync": LipsyncInput}
    config: SyncLabsConfig

    def load(self) -> None:
        """Nothing to load: Sync runs the model, reached per call with the owner's key."""
        self.vendor = Vendor("Sync Labs", self.config, auth=lambda key: {"x-api-key": key},
                             key_name="sync-labs")

    def describe(self) -> dict[str, Any]:
        return {"vendor": "sync.so", "model": self.config.model}

    def lipsync(self, request: LipsyncInput, call: Call) -> RenderedVideo:
        detection: dict[str, Any] = {"auto_detect": True}
        if request.face:
            detection = {"auto_detect": False, "frame_number": request.face.frame,
                         "coordinates": [request.face.x, request.face.y]}
        body = {"model": self.config.model,
                "input": [{"type": "video", "url": input_url(request.video, self.config)},
                          {"type": "audio", "url": input_url(request.audio, self.config)}],
                "options": {"sync_mode": request.sync_mode, "temperature": self.config.temperature,
                            "active_speaker_detection": detection}}
        with self.vendor.session(owner_key(request.api_key, "sync-labs")) as http:
            job = http.json("POST", "/v2/generate", json=body)
            done = http.poll(lambda: http.json("GET", f"/v2/generate/{job['id']}"), read_state, call,
                             job_id=job["id"])
            out = http.download(done["outputUrl"], call.workdir / "lipsync.mp4")
        return rendered_video(out, f"sync-labs {self.config.model}",
                              VendorJob(provider="sync-labs", job_id=job["id"]))


def read_state(answer: dict[str, Any]) -> State:
    return State(PHASES.get(answer.get("status", ""), "running"),
                 message=answer.get("error") or answer.get("error_code"), code=answer.get("error_code"))

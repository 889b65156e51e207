"""A local Sync Labs (sync.so) API keeping the documented contract the `sync-labs` engine uses.

Sources: the API reference at https://docs.sync.so/api-reference/endpoint/generate/post-generate
(`POST /v2/generate`: `model`, `input` [{type: video|audio, url}], `options` with `sync_mode`,
`temperature`, `active_speaker_detection`; answer `{id, status: PENDING, ...}`) and
https://sync.so/docs/api-reference (base https://api.sync.so, `x-api-key` header, `GET
/v2/generate/{id}` with `status` PENDING -> PROCESSING -> COMPLETED | FAILED | REJECTED,
`outputUrl`, `error`, `error_code`; 60 POSTs a minute, 429 beyond). Error bodies follow its
`{"message", "statusCode"}` shape. Outputs: the first frame of the fetched video held still
over the fetched audio, behind a link that expires.
"""

from __future__ import annotations

import re

from tests.vendor_server import Answer, Request, VendorServer

MODELS = {"lipsync-2", "lipsync-2-pro", "lipsync-1.9.0-beta", "sync-3"}
SYNC_MODES = {"bounce", "loop", "cut_off", "silence", "remap"}


class SyncLabsServer(VendorServer):
    auth_header = "x-api-key"
    routes = [("POST", r"/v2/generate", "create"), ("GET", r"/v2/generate/([^/]+)", "get")]

    def __init__(self, api_key: str) -> None:
        self.outcome = "COMPLETED"
        """What the next generation ends as (FAILED or REJECTED to test failures)."""
        super().__init__(api_key)

    def error_body(self, status: int, message: str) -> dict:
        return {"message": message, "statusCode": status}

    def statuses(self, kind: str) -> list[str]:
        return ["PENDING", "PROCESSING", self.outcome]

    def create(self, request: Request, _: re.Match) -> Answer:
        body = request.body if isinstance(request.body, dict) else {}
        inputs = {i.get("type"): i.get("url") for i in body.get("input") or [] if isinstance(i, dict)}
        options = body.get("options") or {}
        if body.get("model") not in MODELS or set(inputs) != {"video", "audio"} \
                or options.get("sync_mode", "bounce") not in SYNC_MODES:
            return 422, self.error_body(422, "input must hold one video and one audio; model and "
                                             "options.sync_mode must be known values")
        job = self.new_job("gen", body=body)
        if self.outcome == "COMPLETED":
            video = self.fetch(inputs["video"], ".mp4")
            job.data["output"] = self.render(video, self.fetch(inputs["audio"], ".wav"))
        return 201, self.view(job)

    def get(self, _: Request, match: re.Match) -> Answer:
        job = self.poll(match[1])
        if job is None:
            return 404, self.error_body(404, "Generation not found")
        return 200, self.view(job)

    def view(self, job) -> dict:
        status = job.status
        return {"id": job.id, "status": status, "model": job.data["body"]["model"],
                "input": job.data["body"]["input"], "options": job.data["body"].get("options"),
                "outputUrl": self.publish(job.data["output"]) if status == "COMPLETED" else None,
                "error": "the face could not be tracked" if status in ("FAILED", "REJECTED") else None,
                "error_code": "face_not_found" if status in ("FAILED", "REJECTED") else None}

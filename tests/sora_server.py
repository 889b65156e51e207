"""A local server keeping the OpenAI Videos API (Sora 2) contract the `sora` engine uses, as
OpenAI-compatible servers do since OpenAI shut its own down (2026-09-24).

Sources: OpenAI's official Python SDK, openai/openai-python (August 2026): `videos.create`
posts multipart form data to `/videos` (`prompt`; `model` sora-2 | sora-2-pro; `seconds` "4" |
"8" | "12" and `size` "720x1280" | "1280x720" | "1024x1792" | "1792x1024", both strings;
`input_reference` a file) and answers a `Video` (`id`, `object: "video"`, `status` queued |
in_progress | completed | failed, `progress` 0-100, `seconds`, `size`, `error: {code, message}`);
`videos.retrieve` is `GET /videos/{id}`, `videos.download_content` `GET /videos/{id}/content`
(`variant` video by default, MP4 bytes), `videos.delete` `DELETE /videos/{id}` answering
`{id, object: "video.deleted", deleted: true}`. Auth `Authorization: Bearer`; errors as
`{"error": {"message", "type", "param", "code"}}`. Sora-2 renders 1280x720 and 720x1280 only;
the reference image must be the video's size. Outputs: the astronaut (or the reference) panning
at 30 fps.
"""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image

from tests.media import panning_video
from tests.vendor_server import Answer, Job, Request, VendorServer

SIZES = {"sora-2": {"720x1280", "1280x720"},
         "sora-2-pro": {"720x1280", "1280x720", "1024x1792", "1792x1024"}}


class SoraServer(VendorServer):
    auth_header = "authorization"
    auth_prefix = "Bearer "
    routes = [("POST", r"/v1/videos", "create"), ("GET", r"/v1/videos/([^/]+)", "get"),
              ("GET", r"/v1/videos/([^/]+)/content", "content"), ("DELETE", r"/v1/videos/([^/]+)", "delete")]

    def __init__(self, api_key: str) -> None:
        self.deleted: list[str] = []
        super().__init__(api_key)

    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"message": message, "type": "invalid_request_error", "param": None,
                          "code": None}}

    def statuses(self, kind: str) -> list[str]:
        return ["queued", "in_progress", "in_progress", "completed"]

    def create(self, request: Request, _: re.Match) -> Answer:
        form = request.body if isinstance(request.body, dict) else {}
        model = form.get("model", "sora-2")
        size, seconds = form.get("size", "720x1280"), form.get("seconds", "4")
        if not form.get("prompt") or size not in SIZES.get(model, set()) or seconds not in ("4", "8", "12"):
            return 400, self.error_body(400, "prompt is required; size and seconds must be allowed values "
                                             "for the model (as strings)")
        width, height = (int(side) for side in size.split("x"))
        picture = None
        if "input_reference" in form:
            reference = Image.open(io.BytesIO(form["input_reference"]))
            if reference.size != (width, height):
                return 400, self.error_body(400, "Inpaint image must match the requested width and height")
            picture = np.asarray(reference.convert("RGB"))
        job = self.new_job("video", form={k: v for k, v in form.items() if k != "input_reference"},
                           reference=picture is not None)
        if "FAIL" in form["prompt"]:
            job.statuses = ["queued", "failed"]
        else:
            job.data["output"] = panning_video(self.files / f"out-{job.id}.mp4", width, height,
                                               int(seconds), 30, picture)
        return 200, self.view(job)

    def get(self, _: Request, match: re.Match) -> Answer:
        job = self.poll(match[1])
        return (200, self.view(job)) if job else (404, self.error_body(404, "Video not found"))

    def content(self, _: Request, match: re.Match) -> Answer:
        job = self.jobs.get(match[1])
        if job is None or job.status != "completed":
            return 404, self.error_body(404, "Video is not ready")
        return 200, job.data["output"].read_bytes()

    def delete(self, _: Request, match: re.Match) -> Answer:
        job = self.jobs.pop(match[1], None)
        if job is None:
            return 404, self.error_body(404, "Video not found")
        job.canceled = True
        self.deleted.append(job.id)
        return 200, {"id": job.id, "object": "video.deleted", "deleted": True}

    def view(self, job: Job) -> dict:
        form = job.data["form"]
        view = {"id": job.id, "object": "video", "model": form.get("model", "sora-2"),
                "status": job.status, "progress": {"queued": 0, "in_progress": 40 + 20 * job.polls}.get(
                    job.status, 100), "seconds": form.get("seconds", "4"), "size": form.get("size", "720x1280"),
                "created_at": 1796300000, "prompt": form["prompt"], "error": None}
        if job.status == "failed":
            view["error"] = {"code": "moderation_blocked",
                             "message": "Your request was blocked by our moderation system."}
        return view

"""OpenAI Videos API (Sora 2), called with the owner's own key: provider `sora`.

OpenAI deprecated this API and shut it down on 2026-09-24. The adapter stays for servers that
keep its contract (set `base_url` to one); pointed at api.openai.com the engine reports itself
unavailable with that reason, so `GET /v1/providers` says so and `auto` passes it by.

`POST /v1/videos` as multipart form (`prompt`, `model`, `seconds` and `size` as strings from a
fixed menu, the first frame as the `input_reference` file, sized to the output) answers a video
object; `GET /v1/videos/{id}` goes queued -> in_progress (`progress` 0-100) -> completed |
failed (`error: {code, message}`); the MP4 is `GET /v1/videos/{id}/content` (authenticated);
`DELETE /v1/videos/{id}` removes a job our call abandoned. Key: `Authorization: Bearer`. Sora
takes no seed, no negative prompt (refused at submission) and picks its own frame rate. Facts
from OpenAI's official Python SDK (openai/openai-python, August 2026: `videos.create`,
`VideoSeconds`, `VideoSize`, `Video`).
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from deployments.text_to_video import first_frame
from deployments.vendor_http import (
    State,
    Vendor,
    VendorConfig,
    covering_seconds,
    generated_video,
    nearest_size,
    owner_key,
)
from reelcore.capabilities.byok import VendorJob
from reelcore.capabilities.generation import GeneratedVideo, GenerateInput, GenerateQuery
from reelcore.engine import Call, Engine, Support, Unavailable
from reelcore.errors import ProviderUnavailable
from reelcore.media import MediaRef

PHASES = {"queued": "running", "in_progress": "running", "completed": "done", "failed": "failed"}
RETIRED_HOSTS = {"api.openai.com"}
RETIRED = ("OpenAI shut down its Videos API (Sora 2) on 2026-09-24; point this engine's "
           "base_url at a server that keeps its contract")


class SoraConfig(VendorConfig):
    base_url: str = "https://api.openai.com"
    model: str = "sora-2"
    sizes: list[str] = Field(["1280x720", "720x1280"], description="What `model` renders (sora-2-pro "
                                                                 "adds 1792x1024 and 1024x1792).")
    seconds: list[int] = Field([4, 8, 12], description="Clip lengths `model` renders.")


class SoraEngine(Engine):
    Config = SoraConfig
    methods = {"generate": GenerateInput, "supports": GenerateQuery}
    quick = frozenset({"supports"})
    config: SoraConfig

    def load(self) -> None:
        if urlsplit(self.config.base_url).hostname in RETIRED_HOSTS:
            raise Unavailable(RETIRED)
        self.vendor = Vendor("Sora", self.config, auth=lambda key: {"Authorization": f"Bearer {key}"},
                             key_name="sora")

    def describe(self) -> dict[str, Any]:
        return {"vendor": "openai-compatible", "base_url": self.config.base_url, "model": self.config.model,
                "sizes": self.config.sizes, "seconds": self.config.seconds}

    def plan(self, query: GenerateQuery) -> tuple[tuple[int, int], int]:
        """(size, seconds) Sora renders for the request; ProviderUnavailable when it cannot."""
        if query.with_negative_prompt:
            raise ProviderUnavailable("Sora takes no negative prompt")
        sizes = [tuple(int(side) for side in size.split("x")) for size in self.config.sizes]
        return (nearest_size(query.width, query.height, sizes),  # type: ignore[arg-type]
                covering_seconds(query.duration_seconds, self.config.seconds, f"Sora {self.config.model}"))

    def supports(self, query: GenerateQuery, call: Call) -> Support:
        return Support.unless_refused(lambda: self.plan(query))

    def generate(self, request: GenerateInput, call: Call) -> GeneratedVideo:
        (width, height), seconds = self.plan(request.query())
        form = {"prompt": request.prompt, "model": self.config.model, "seconds": str(seconds),
                "size": f"{width}x{height}"}
        files: dict[str, Any] = {name: (None, value) for name, value in form.items()}  # multipart
        if request.image is not None:
            picture = reference_png(request.image, width, height)
            files["input_reference"] = ("first-frame.png", picture, "image/png")
        with self.vendor.session(owner_key(request.api_key, "sora")) as http:
            video_id = http.json("POST", "/v1/videos", files=files)["id"]
            path = f"/v1/videos/{video_id}"
            http.poll(lambda: http.json("GET", path), read_state, call,
                      cancel=lambda: http.request("DELETE", path), job_id=video_id)
            out = http.download(f"{path}/content", call.workdir / "generated.mp4", auth=True)
        return generated_video(out, f"sora {self.config.model}", request, None,
                               VendorJob(provider="sora", job_id=video_id), size=form["size"])


def reference_png(image: MediaRef, width: int, height: int) -> bytes:
    """The first frame as PNG at the output's size (Sora wants the reference at the video's size)."""
    buffer = io.BytesIO()
    first_frame(image.path, width, height).save(buffer, format="PNG")
    return buffer.getvalue()


def read_state(video: dict[str, Any]) -> State:
    error = video.get("error") or {}
    progress = video.get("progress")
    return State(PHASES.get(video.get("status", ""), "running"),
                 progress=progress / 100 if isinstance(progress, (int, float)) else None,
                 message=error.get("message"), code=error.get("code"))

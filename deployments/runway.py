"""Runway text-to-video and image-to-video, called with the owner's own key: provider `runway`.

`POST /v1/text_to_video` (`model`, `promptText`, `ratio` as "W:H" pixels, `duration` in seconds,
`seed`) or `POST /v1/image_to_video` (the same with `promptImage`, a link Runway fetches) answer a
task `id`; `GET /v1/tasks/{id}` goes PENDING/THROTTLED -> RUNNING (`progress` 0-1) -> SUCCEEDED
(`output`: links that expire within 24-48 h, fetched at once) | FAILED (`failure`, and a dotted
`failureCode` such as SAFETY.INPUT.TEXT) | CANCELLED. An abandoned or timed-out call cancels the
task (`DELETE /v1/tasks/{id}`). Every request carries `Authorization: Bearer <key>` and the
required `X-Runway-Version` header (base https://api.dev.runwayml.com; facts from Runway's
official Python SDK, runwayml/sdk-python, July 2026).

Runway renders a fixed menu per model: the request's size goes to the ratio nearest in shape,
its length up to the shortest duration that covers it (a longer one is refused at submission),
its frame rate is Runway's own; `render` says what was asked and what was rendered. The defaults
are gen4.5's menu; another model is one config change (`model`, `ratios`, `durations`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from deployments.vendor_http import (
    State,
    Vendor,
    VendorConfig,
    covering_seconds,
    generated_video,
    input_url,
    nearest_size,
    owner_key,
)
from reelcore.capabilities.byok import VendorJob
from reelcore.capabilities.generation import GeneratedVideo, GenerateInput, GenerateQuery
from reelcore.engine import Call, Engine, Support
from reelcore.errors import ProviderUnavailable

PHASES = {"PENDING": "running", "THROTTLED": "running", "RUNNING": "running",
          "SUCCEEDED": "done", "FAILED": "failed", "CANCELLED": "failed"}


class RunwayConfig(VendorConfig):
    base_url: str = "https://api.dev.runwayml.com"
    api_version: str = Field("2024-11-06", description="The X-Runway-Version header every request needs.")
    model: str = Field("gen4.5", description="Runway's model for both text- and image-to-video.")
    text_ratios: list[str] = Field(["1280:720", "720:1280"], description="What `model` renders from text.")
    image_ratios: list[str] = Field(["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"],
                                    description="What `model` renders from a first frame.")
    durations: list[int] = Field(list(range(2, 11)), description="Clip lengths `model` renders, in seconds.")
    negative_prompt: bool = Field(False, description="Whether `model` takes `negativePrompt` (veo3.1 does).")


class RunwayEngine(Engine):
    Config = RunwayConfig
    methods = {"generate": GenerateInput, "supports": GenerateQuery}
    quick = frozenset({"supports"})
    config: RunwayConfig

    def load(self) -> None:
        """Nothing to load: Runway renders, reached per call with the owner's key."""
        self.vendor = Vendor("Runway", self.config, auth=lambda key: {"Authorization": f"Bearer {key}"},
                             key_name="runway", headers={"X-Runway-Version": self.config.api_version})

    def describe(self) -> dict[str, Any]:
        return {"vendor": "runway", "model": self.config.model, "durations": self.config.durations,
                "text_ratios": self.config.text_ratios, "image_ratios": self.config.image_ratios}

    def plan(self, query: GenerateQuery) -> tuple[str, int]:
        """(ratio, duration) Runway renders for the request; ProviderUnavailable when it cannot."""
        if query.with_negative_prompt and not self.config.negative_prompt:
            raise ProviderUnavailable(f"Runway {self.config.model} takes no negative prompt")
        ratios = self.config.image_ratios if query.with_image else self.config.text_ratios
        sizes = [tuple(int(side) for side in ratio.split(":")) for ratio in ratios]
        width, height = nearest_size(query.width, query.height, sizes)  # type: ignore[arg-type]
        return f"{width}:{height}", covering_seconds(query.duration_seconds, self.config.durations,
                                                     f"Runway {self.config.model}")

    def supports(self, query: GenerateQuery, call: Call) -> Support:
        return Support.unless_refused(lambda: self.plan(query))

    def generate(self, request: GenerateInput, call: Call) -> GeneratedVideo:
        ratio, duration = self.plan(request.query())
        body: dict[str, Any] = {"model": self.config.model, "promptText": request.prompt,
                                "ratio": ratio, "duration": duration}
        if request.seed is not None:
            body["seed"] = request.seed
        if request.negative_prompt:
            body["negativePrompt"] = request.negative_prompt
        if request.image is not None:
            body["promptImage"] = input_url(request.image, self.config)
        endpoint = "/v1/image_to_video" if request.image is not None else "/v1/text_to_video"
        with self.vendor.session(owner_key(request.api_key, "runway")) as http:
            task_id = http.json("POST", endpoint, json=body)["id"]
            path = f"/v1/tasks/{task_id}"
            done = http.poll(lambda: http.json("GET", path), read_state, call,
                             cancel=lambda: http.request("DELETE", path), job_id=task_id)
            out = http.download(done["output"][0], call.workdir / "generated.mp4")
        return generated_video(out, f"runway {self.config.model}", request, request.seed,
                               VendorJob(provider="runway", job_id=task_id), ratio=ratio)


def read_state(task: dict[str, Any]) -> State:
    status = task.get("status", "")
    return State(PHASES.get(status, "running"), progress=task.get("progress"),
                 message=task.get("failure") or ("canceled at Runway" if status == "CANCELLED" else None),
                 code=task.get("failureCode"))

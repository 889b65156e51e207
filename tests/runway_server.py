"""A local Runway API keeping the documented contract the `runway` engine uses.

Sources: Runway's official Python SDK, runwayml/sdk-python (July 2026): base
https://api.dev.runwayml.com, `Authorization: Bearer <key>` and the required `X-Runway-Version:
2024-11-06` header (`_client.py`); `POST /v1/text_to_video` (`text_to_video_create_params.py`:
gen4.5 takes `promptText`, `ratio` 1280:720 | 720:1280, `duration` 2-10, `seed`) and
`POST /v1/image_to_video` (`image_to_video_create_params.py`: gen4.5 also takes `promptImage`, a
URL, and the ratios 1104:832, 960:960, 832:1104, 1584:672), each answering `{id}`;
`GET /v1/tasks/{id}` (`task_retrieve_response.py`: PENDING | THROTTLED | RUNNING with
`progress` 0-1 | SUCCEEDED with `output` URLs that expire | FAILED with `failure` and a dotted
`failureCode` | CANCELLED); `DELETE /v1/tasks/{id}` cancels (204). Errors are
`{"error": message}` (https://docs.dev.runwayml.com/errors/errors/). Outputs: the astronaut, or the
fetched first frame, panning for the asked duration at 24 fps.
"""

from __future__ import annotations

import re

import av

from tests.media import panning_video
from tests.vendor_server import Answer, Job, Request, VendorServer

VERSION = "2024-11-06"
TEXT_RATIOS = {"1280:720", "720:1280"}
IMAGE_RATIOS = TEXT_RATIOS | {"1104:832", "960:960", "832:1104", "1584:672"}


class RunwayServer(VendorServer):
    auth_header = "authorization"
    auth_prefix = "Bearer "
    routes = [("POST", r"/v1/text_to_video", "text_to_video"),
              ("POST", r"/v1/image_to_video", "image_to_video"),
              ("GET", r"/v1/tasks/([^/]+)", "get"), ("DELETE", r"/v1/tasks/([^/]+)", "cancel")]

    def statuses(self, kind: str) -> list[str]:
        return ["PENDING", "THROTTLED", "RUNNING", "RUNNING", "SUCCEEDED"]

    def text_to_video(self, request: Request, _: re.Match) -> Answer:
        return self.create(request, TEXT_RATIOS, image=False)

    def image_to_video(self, request: Request, _: re.Match) -> Answer:
        return self.create(request, IMAGE_RATIOS, image=True)

    def create(self, request: Request, ratios: set[str], image: bool) -> Answer:
        if request.headers.get("x-runway-version") != VERSION:
            return 400, {"error": "You must provide a valid X-Runway-Version header"}
        body = request.body if isinstance(request.body, dict) else {}
        duration = body.get("duration")
        problems = [
            *(["model must be gen4.5"] if body.get("model") != "gen4.5" else []),
            *(["promptText must be a non-empty string"] if not body.get("promptText") else []),
            *([f"ratio must be one of {sorted(ratios)}"] if body.get("ratio") not in ratios else []),
            *(["duration must be an integer from 2 to 10"]
              if not isinstance(duration, int) or not 2 <= duration <= 10 else []),
            *(["promptImage is required"] if image and not body.get("promptImage") else []),
            *(["negativePrompt is not accepted by gen4.5"] if "negativePrompt" in body else []),
        ]
        if problems:
            return 400, {"error": "Validation of body failed", "issues": problems}
        job = self.new_job("task", body=body)
        if "SAFETY" in body["promptText"]:  # moderation refuses it after it ran a while
            job.statuses = [*job.statuses[:-1], "FAILED"]
        if job.statuses[-1] == "SUCCEEDED":
            width, height = (int(side) for side in body["ratio"].split(":"))
            picture = None
            if image:
                with av.open(str(self.fetch(body["promptImage"], ".png"))) as container:
                    picture = next(container.decode(video=0)).to_ndarray(format="rgb24")
            job.data["output"] = panning_video(self.files / f"out-{job.id}.mp4", width, height,
                                               duration, 24, picture)
        return 200, {"id": job.id}

    def get(self, _: Request, match: re.Match) -> Answer:
        job = self.poll(match[1])
        if job is None:
            return 404, {"error": "Task not found"}
        return 200, self.view(job)

    def cancel(self, _: Request, match: re.Match) -> Answer:
        job = self.jobs.get(match[1])
        if job is None:
            return 404, {"error": "Task not found"}
        job.canceled = True
        job.statuses = ["CANCELLED"]
        return 204, b""

    def view(self, job: Job) -> dict:
        view = {"id": job.id, "createdAt": "2026-12-03T12:00:00.000Z", "status": job.status}
        if job.status == "RUNNING":
            view["progress"] = 0.5 if job.polls < 4 else 0.9
        if job.status == "SUCCEEDED":
            view["output"] = [self.publish(job.data["output"])]
        if job.status == "FAILED":
            view["failure"] = "The prompt was flagged by content moderation"
            view["failureCode"] = "SAFETY.INPUT.TEXT"
        return view

"""A local Twelve Labs API (v1.3) keeping the documented contract the `twelve-labs` engine uses.

Sources: the API reference at https://docs.twelvelabs.io/v1.3/api-reference (the `x-api-key`
header; errors as JSON `{"code", "message"}` with a 4xx/5xx status, 429 when rate-limited) and
the official Python SDK https://github.com/twelvelabs-io/twelvelabs-python (reference.md and
src/twelvelabs/, March 2026 and later): `POST /indexes` {`index_name`, `models`: [{`model_name`
marengo3.0 | marengo2.7 | pegasus1.2, `model_options` visual | audio}]} -> `{_id}`;
`DELETE /indexes/{id}` (the index and its videos); `POST /tasks` multipart `index_id` +
`video_url` -> `{_id, video_id}`; `GET /tasks/{id}` with `status` validating -> pending ->
queued -> indexing -> ready | failed; `GET /indexes/{index}/videos/{video}?transcription=true`
-> `system_metadata` and `transcription` [{start, end, value}]; `POST /analyze` {`video_id`,
`prompt`, `temperature`, `stream`, `response_format` {type: json_schema, json_schema}} ->
`{id, data, finish_reason}` (Pegasus: videos of 4 s to 1 h; a schema with `additionalProperties`,
`minLength`/`maxLength`, `uniqueItems` or `maxItems` is refused with 422); `POST /search`
multipart `index_id`, `query_text`, `search_options` (repeated), `page_limit` -> `data`
[{video_id, start, end, rank}]. `/summarize` is gone from v1.3 (removed from the SDK in March
2026). The error `code`s below are ours, in the documented shape.

Answers are derived from the video fetched: its duration and speech (the span where the audio is
loud) time the transcript, the chapters and the search match; the words said are what the test
registered for that file (`scripts`), since this server does not recognise speech.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from tests.vendor_server import Answer, Request, VendorServer

MODELS = {"marengo3.0": "search", "marengo2.7": "search", "pegasus1.2": "analysis"}
REFUSED_SCHEMA_WORDS = {"additionalProperties", "minLength", "maxLength", "uniqueItems", "maxItems"}
CODES = {400: "parameter_invalid", 401: "api_key_invalid", 402: "usage_limit_exceeded",
         403: "forbidden", 404: "resource_not_exists", 409: "resource_already_exists",
         422: "parameter_invalid", 429: "too_many_requests"}


@dataclass
class Video:
    id: str
    index_id: str
    path: Path
    duration: float
    speech: tuple[float, float] | None
    """Where the audio is loud: (start, end) in seconds."""
    said: str | None


class TwelveLabsServer(VendorServer):
    auth_header = "x-api-key"
    routes = [
        ("POST", r"/indexes", "create_index"), ("DELETE", r"/indexes/([^/]+)", "delete_index"),
        ("POST", r"/tasks", "create_task"), ("GET", r"/tasks/([^/]+)", "get_task"),
        ("GET", r"/indexes/([^/]+)/videos/([^/]+)", "get_video"),
        ("POST", r"/analyze", "analyze"), ("POST", r"/search", "search"),
    ]

    def __init__(self, api_key: str) -> None:
        self.indexes: dict[str, dict] = {}
        self.videos: dict[str, Video] = {}
        self.scripts: dict[str, str] = {}
        """sha256 of a video file -> the words said in it (set by the test)."""
        self.deleted: list[str] = []
        super().__init__(api_key)

    def error_body(self, status: int, message: str) -> dict:
        return {"code": CODES.get(status, "internal_error"), "message": message}

    def statuses(self, kind: str) -> list[str]:
        return ["validating", "pending", "queued", "indexing", "ready"]

    def say(self, path: Path, words: str) -> None:
        self.scripts[hashlib.sha256(path.read_bytes()).hexdigest()] = words

    def create_index(self, request: Request, _: re.Match) -> Answer:
        body = request.body or {}
        models = body.get("models") or []
        if not body.get("index_name") or not models:
            return 400, self.error_body(400, "index_name and models are required")
        for model in models:
            if model.get("model_name") not in MODELS or not model.get("model_options") or \
                    set(model["model_options"]) - {"visual", "audio"}:
                return 400, self.error_body(400, f"invalid model {model}")
        if any(i["index_name"] == body["index_name"] for i in self.indexes.values()):
            return 409, self.error_body(409, f"index {body['index_name']} already exists")
        index_id = f"idx{next(self.ids):06d}"
        self.indexes[index_id] = {"index_name": body["index_name"], "models": models}
        return 201, {"_id": index_id}

    def delete_index(self, request: Request, match: re.Match) -> Answer:
        if self.indexes.pop(match[1], None) is None:
            return 404, self.error_body(404, f"index {match[1]} does not exist")
        self.deleted.append(match[1])
        for video_id in [v.id for v in self.videos.values() if v.index_id == match[1]]:
            del self.videos[video_id]
        return 204, b""

    def create_task(self, request: Request, _: re.Match) -> Answer:
        form = request.body if isinstance(request.body, dict) else {}
        if form.get("index_id") not in self.indexes:
            return 404, self.error_body(404, f"index {form.get('index_id')} does not exist")
        if not isinstance(form.get("video_url"), str):
            return 400, self.error_body(400, "video_url or video_file is required")
        path = self.fetch(form["video_url"], ".mp4")
        duration, speech = measure(path)
        video = Video(f"vid{next(self.ids):06d}", form["index_id"], path, duration, speech,
                      self.scripts.get(hashlib.sha256(path.read_bytes()).hexdigest()))
        self.videos[video.id] = video
        job = self.new_job("task", video_id=video.id, index_id=video.index_id)
        if duration < 4:  # below Pegasus' minimum the platform fails the task at validation
            job.statuses = ["validating", "failed"]
        return 201, {"_id": job.id, "video_id": video.id}

    def get_task(self, request: Request, match: re.Match) -> Answer:
        job = self.poll(match[1])
        if job is None:
            return 404, self.error_body(404, f"task {match[1]} does not exist")
        return 200, {"_id": job.id, "index_id": job.data["index_id"], "video_id": job.data["video_id"],
                     "status": job.status}

    def get_video(self, request: Request, match: re.Match) -> Answer:
        video = self.ready(match[2])
        if video is None or video.index_id != match[1]:
            return 404, self.error_body(404, f"video {match[2]} does not exist in index {match[1]}")
        with av.open(str(video.path)) as container:
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
        answer = {"_id": video.id, "system_metadata": {
            "filename": video.path.name, "duration": video.duration, "width": width, "height": height}}
        if request.query.get("transcription") == "true":
            answer["transcription"] = [] if not (video.speech and video.said) else [
                {"start": video.speech[0], "end": video.speech[1], "value": video.said}]
        return 200, answer

    def analyze(self, request: Request, _: re.Match) -> Answer:
        body = request.body or {}
        video = self.ready(body.get("video_id", ""))
        if video is None:
            return 404, self.error_body(404, f"video {body.get('video_id')} does not exist")
        if not body.get("prompt") or not 0 <= body.get("temperature", 0.2) <= 1:
            return 400, self.error_body(400, "prompt is required and temperature is within [0, 1]")
        if not 4 <= video.duration <= 3600:
            return 400, self.error_body(400, "the video must last 4 s to 1 h")
        said = f" Someone says: \u201c{video.said}\u201d" if video.said else ""
        text = f"The video lasts {video.duration:.1f} seconds and shows one still picture.{said}"
        shape = body.get("response_format")
        if shape:
            if shape.get("type") != "json_schema" or not isinstance(shape.get("json_schema"), dict):
                return 400, self.error_body(400, "response_format supports only type json_schema")
            if refused := REFUSED_SCHEMA_WORDS & keys(shape["json_schema"]):
                return 422, self.error_body(422, f"unsupported schema keywords {sorted(refused)}")
            text = json.dumps({"chapters": self.chapters(video)})
        return 200, {"id": f"gen{next(self.ids):06d}", "data": text, "finish_reason": "stop",
                     "usage": {"output_tokens": len(text.split())}}

    def search(self, request: Request, _: re.Match) -> Answer:
        form = request.body if isinstance(request.body, dict) else {}
        index = self.indexes.get(form.get("index_id", ""))
        if index is None:
            return 404, self.error_body(404, f"index {form.get('index_id')} does not exist")
        options = form.get("search_options")
        options = [options] if isinstance(options, str) else options or []
        enabled = {o for m in index["models"] if MODELS[m["model_name"]] == "search"
                   for o in m["model_options"]}
        if not options or set(options) - enabled or not form.get("query_text"):
            return 400, self.error_body(400, f"query_text and search_options among {sorted(enabled)} "
                                             "are required")
        found = [v for v in self.videos.values() if v.index_id == form["index_id"] and v.speech]
        data = [{"video_id": v.id, "start": v.speech[0], "end": v.speech[1], "rank": rank}  # type: ignore[index]
                for rank, v in enumerate(found, 1)][:int(form.get("page_limit", 10))]
        return 200, {"data": data, "page_info": {"limit_per_page": 10, "total_results": len(data)},
                     "search_pool": {"total_count": len(found), "index_id": form["index_id"]}}

    def ready(self, video_id: str) -> Video | None:
        """The video, once its indexing task is ready."""
        video = self.videos.get(video_id)
        task = next((j for j in self.jobs.values() if j.data.get("video_id") == video_id), None)
        return video if task is not None and task.status == "ready" else None

    def chapters(self, video: Video) -> list[dict]:
        """Speech and what follows it, or the whole video when nothing is said."""
        cut = video.speech[1] if video.speech and video.speech[1] < video.duration - 0.5 else video.duration
        said = f" {video.said}" if video.said else ""
        chapters = [{"start": 0.0, "end": cut, "title": "Talking to camera",
                     "description": f"A still picture while someone speaks.{said}"}]
        if cut < video.duration:
            chapters.append({"start": cut, "end": video.duration, "title": "Silence",
                             "description": "The same picture, with nothing said."})
        return chapters


def measure(path: Path) -> tuple[float, tuple[float, float] | None]:
    """The video's duration, and where its audio is loud (20 ms windows over a tenth of the peak)."""
    with av.open(str(path)) as container:
        duration = float(container.duration or 0) / av.time_base
        if not container.streams.audio:
            return duration, None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        samples = np.concatenate([f.to_ndarray().ravel() for frame in container.decode(audio=0)
                                  for f in resampler.resample(frame)])
    windows = np.abs(samples[:len(samples) // 320 * 320]).reshape(-1, 320).max(axis=1)
    loud = np.flatnonzero(windows > windows.max() / 10) if windows.size and windows.max() > 0 else []
    return duration, (round(loud[0] * 0.02, 2), round((loud[-1] + 1) * 0.02, 2)) if len(loud) else None


def keys(schema: object) -> set[str]:
    """Every key used anywhere in a JSON schema."""
    if isinstance(schema, dict):
        return set(schema) | {k for value in schema.values() for k in keys(value)}
    if isinstance(schema, list):
        return {k for value in schema for k in keys(value)}
    return set()

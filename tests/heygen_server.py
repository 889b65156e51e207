"""A local HeyGen API (v3) keeping the documented contract the `heygen` engine uses.

Sources: https://developers.heygen.com/reference/create-video (`POST /v3/videos`, `type: image`
with `image: {type: url, url}` and one of `script` + `voice_id`, `audio_url`, `audio_asset_id`;
answer `{data: {video_id}}`; `GET /v3/videos/{video_id}` with `data.status` pending ->
processing -> completed | failed, `video_url`, `failure_message`),
https://developers.heygen.com/reference/create-lipsync (`POST /v3/lipsyncs`, `video`/`audio` as
`{type: url, url}`, `mode` speed | precision; `{data: {lipsync_id}}`; status pending -> running
-> completed | failed), https://developers.heygen.com/reference/create-video-translation
(`POST /v3/video-translations`, `output_languages` as names from
`GET /v3/video-translations/languages`; `{data: {video_translation_ids}}`), the `x-api-key`
header (https://developers.heygen.com/docs/quick-start), 429 with Retry-After beyond 10
concurrent jobs (https://developers.heygen.com/docs/usage-limits), and errors as
`{"error": {"code", "message"}}`. Each resource can be deleted. Outputs: the picture held
still over the fetched audio (a translation speaks a fixed Spanish line with espeak-ng, with
WebVTT captions), behind links that expire.
"""

from __future__ import annotations

import re

from tests.media import speech
from tests.vendor_server import Answer, Job, Request, VendorServer

LANGUAGES = ["English", "Spanish", "Spanish (Spain)", "Portuguese (Brazil)", "French", "German"]
SPOKEN = "Hola, esta es la versión doblada del vídeo."


class HeyGenServer(VendorServer):
    auth_header = "x-api-key"
    routes = [
        ("POST", r"/v3/videos", "create_video"), ("POST", r"/v3/lipsyncs", "create_lipsync"),
        ("POST", r"/v3/video-translations", "create_translation"),
        ("GET", r"/v3/video-translations/languages", "languages"),
        ("GET", r"/v3/(videos|lipsyncs|video-translations)/([^/]+)", "get"),
        ("DELETE", r"/v3/(videos|lipsyncs|video-translations)/([^/]+)", "delete"),
    ]

    def error_body(self, status: int, message: str) -> dict:
        codes = {401: "unauthorized", 402: "insufficient_credit", 404: "not_found",
                 422: "invalid_parameter", 429: "rate_limit_exceeded"}
        return {"error": {"code": codes.get(status, "internal_error"), "message": message}}

    def statuses(self, kind: str) -> list[str]:
        middle = "processing" if kind == "videos" else "running"
        return ["pending", middle, "completed"]

    def create_video(self, request: Request, _: re.Match) -> Answer:
        body = request.body or {}
        image = (body.get("image") or {}).get("url")
        if body.get("type") != "image" or not image or not body.get("audio_url"):
            return 400, self.error_body(400, "type image needs image {type: url, url} and audio_url")
        job = self.new_job("videos", output=self.render(self.fetch(image, ".png"),
                                                        self.fetch(body["audio_url"], ".wav")))
        return 200, {"data": {"video_id": job.id}}

    def create_lipsync(self, request: Request, _: re.Match) -> Answer:
        body = request.body or {}
        video, audio = (body.get("video") or {}).get("url"), (body.get("audio") or {}).get("url")
        if not (video and audio) or body.get("mode", "speed") not in ("speed", "precision"):
            return 400, self.error_body(400, "video and audio must be {type: url, url}")
        job = self.new_job("lipsyncs", output=self.render(self.fetch(video, ".mp4"), self.fetch(audio, ".wav")))
        return 200, {"data": {"lipsync_id": job.id}}

    def create_translation(self, request: Request, _: re.Match) -> Answer:
        body = request.body or {}
        languages, video = body.get("output_languages") or [], (body.get("video") or {}).get("url")
        if not video or not languages or set(languages) - set(LANGUAGES):
            return 400, self.error_body(400, f"output_languages must be among {LANGUAGES}")
        voice = speech(SPOKEN, self.files / f"voice-{len(self.jobs)}.wav", voice="es")
        captions = self.files / f"captions-{len(self.jobs)}.vtt"
        captions.write_text(f"WEBVTT\n\n00:00.000 --> 00:03.000\n{SPOKEN}\n")
        job = self.new_job("video-translations", output=self.render(self.fetch(video, ".mp4"), voice),
                           captions=captions, language=languages[0])
        return 200, {"data": {"video_translation_ids": [job.id]}}

    def languages(self, request: Request, _: re.Match) -> Answer:
        return 200, {"data": {"languages": LANGUAGES}}

    def get(self, request: Request, match: re.Match) -> Answer:
        job = self.poll(match[2])
        if job is None or job.kind != match[1]:
            return 404, self.error_body(404, f"{match[1]} {match[2]} not found")
        return 200, {"data": self.view(job)}

    def delete(self, request: Request, match: re.Match) -> Answer:
        job = self.jobs.get(match[2])
        if job is None:
            return 404, self.error_body(404, "not found")
        job.canceled = True
        return 200, {"data": {"id": job.id}}

    def view(self, job: Job) -> dict:
        done = job.status == "completed"
        view = {"id": job.id, "status": job.status, "failure_message": None,
                "video_url": self.publish(job.data["output"]) if done else None}
        if job.kind == "video-translations":
            view |= {"output_language": job.data["language"],
                     "caption_url": self.publish(job.data["captions"]) if done else None}
        return view

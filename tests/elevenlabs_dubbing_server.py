"""A local ElevenLabs dubbing API keeping the documented contract `elevenlabs-dub` uses (the
voices are tests/elevenlabs_server.py).

Sources: the Python SDK (github.com/elevenlabs/elevenlabs-python, `client.dubbing.create(file=
| source_url=, source_lang, target_lang, num_speakers, watermark)` -> `dubbing_id`,
`expected_duration_sec`; `dubbing.get` -> `status` dubbing | dubbed | failed, `error`,
`target_languages`; `dubbing.audio.get(dubbing_id, language_code)`;
`dubbing.transcript.get_transcript_for_dub(..., format_type=srt|webvtt)`; `dubbing.delete`),
the API reference for `POST /v1/dubbing` (multipart/form-data, `xi-api-key` header), and
errors as `{"detail": {"status", "message"}}`. The dubbed file is the source's first frame held
still over a fixed Spanish line spoken by espeak-ng.
"""

from __future__ import annotations

import re

from tests.media import speech
from tests.vendor_server import Answer, Request, VendorServer

SPOKEN = "Hola, esta es la versión doblada del vídeo."


class ElevenLabsDubbingServer(VendorServer):
    auth_header = "xi-api-key"
    routes = [("POST", r"/v1/dubbing", "create"), ("GET", r"/v1/dubbing/([^/]+)", "get"),
              ("DELETE", r"/v1/dubbing/([^/]+)", "delete"),
              ("GET", r"/v1/dubbing/([^/]+)/audio/([a-z]+)", "audio"),
              ("GET", r"/v1/dubbing/([^/]+)/transcript/([a-z]+)", "transcript")]

    def error_body(self, status: int, message: str) -> dict:
        return {"detail": {"status": {401: "invalid_api_key", 402: "quota_exceeded"}.get(status, "error"),
                           "message": message}}

    def statuses(self, kind: str) -> list[str]:
        return ["dubbing", "dubbing", "dubbed"]

    def create(self, request: Request, _: re.Match) -> Answer:
        form = request.body if isinstance(request.body, dict) else {}
        if not form.get("source_url") or not re.fullmatch(r"[a-z]{2,3}", str(form.get("target_lang", ""))):
            missing = {"loc": ["body", "target_lang"], "msg": "Field required", "type": "missing"}
            return 422, {"detail": [missing]}
        voice = speech(SPOKEN, self.files / f"voice-{len(self.jobs)}.wav", voice="es")
        job = self.new_job("dub", output=self.render(self.fetch(form["source_url"], ".mp4"), voice),
                           language=form["target_lang"], source=form.get("source_lang"))
        return 200, {"dubbing_id": job.id, "expected_duration_sec": 3}

    def get(self, request: Request, match: re.Match) -> Answer:
        job = self.poll(match[1])
        if job is None:
            return 404, self.error_body(404, "dubbing not found")
        return 200, {"dubbing_id": job.id, "name": "", "status": job.status, "error": None,
                     "target_languages": [job.data["language"]],
                     "source_language": None if job.data["source"] == "auto" else job.data["source"]}

    def delete(self, request: Request, match: re.Match) -> Answer:
        self.jobs[match[1]].canceled = True
        return 200, {"status": "ok"}

    def audio(self, request: Request, match: re.Match) -> Answer:
        job = self.jobs.get(match[1])
        if job is None or job.status != "dubbed" or match[2] != job.data["language"]:
            return 425, self.error_body(425, "Dubbing not ready or language not dubbed")
        return 200, job.data["output"].read_bytes()

    def transcript(self, request: Request, match: re.Match) -> Answer:
        if request.query.get("format_type") != "webvtt":
            return 422, self.error_body(422, "format_type must be srt or webvtt")
        return 200, f"WEBVTT\n\n00:00.000 --> 00:03.000\n{SPOKEN}\n".encode()

"""Twelve Labs (API v1.3), called with the owner's own key: analyze provider `twelve-labs`.

Twelve Labs only analyzes videos it has indexed, so one call runs:

1. `POST /indexes` with Marengo (search, transcription) and Pegasus (analysis), both on the
   `visual` and `audio` modalities -> `_id`;
2. `POST /tasks` (multipart: `index_id`, `video_url` our signed link, which Twelve Labs fetches)
   -> `_id`, `video_id`; `GET /tasks/{id}` over validating -> pending -> queued -> indexing ->
   ready | failed, shown as the job's progress;
3. for each task asked:
   - `transcribe`: `GET /indexes/{index}/videos/{video}?transcription=true` -> `transcription`,
     timed phrases `[{start, end, value}]` (no word timings, no language);
   - `scenes` and `chapters`: `POST /analyze` (Pegasus) asking for chapters under a `response_format`
     JSON schema: v1.3 dropped `/summarize` (the SDK removed it in March 2026), and structured
     analysis is how it now hands back timed segments;
   - `qa`: `POST /analyze` with the question as `prompt` -> `data`, Pegasus' answer; cited by
     `POST /search` (multipart: `index_id`, `query_text`, `search_options`) -> `data`, the
     matching clips `[{start, end, rank}]` of the video;
4. `DELETE /indexes/{id}`, always: when done, failed, abandoned (job canceled) or timed out.

Why an index per call: Twelve Labs keeps a video, its vectors and transcript in an index of
the key's account. Engines hold no state per owner, and a configured index id would belong to
one account while each owner brings their own key; so each call makes its own index and
deletes it, with the video, at the end: nothing of ours stays in the owner's account, at the
cost of indexing the video once per job (Twelve Labs bills indexing by the minute). A worker
lost mid-call leaves its index (named `reelserve-analyze-...`) for the owner to delete.

What it cannot give is named on the result (`not_given`); an `embed`-only request is refused.
The key travels in the `x-api-key` header only.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from pydantic import Field, ValidationError

from deployments.vendor_http import Session, State, Vendor, VendorConfig, input_url
from reelcore.capabilities.byok import (
    AnalyzeCheck,
    AnalyzeInput,
    VendorAnalysis,
    VendorAnswer,
    VendorCitation,
    VendorJob,
    VendorScene,
    VendorTranscript,
)
from reelcore.engine import Call, Engine, Support
from reelcore.errors import ProviderError, UnsupportedMedia
from reelcore.schemas import TranscriptSegment

PHASES: dict[str, Literal["done", "failed"]] = {"ready": "done", "failed": "failed"}
"""Every other documented status (validating, pending, queued, indexing) is still running."""

NOT_GIVEN = {
    "embed": "Twelve Labs' Marengo vectors live in its own space, not the one our collection search "
             "uses; ask provider `reelserve` for embeddings",
    "words": "Twelve Labs transcribes in timed phrases, without word timings",
    "language": "Twelve Labs does not report the spoken language",
    "scores": "Twelve Labs ranks its search matches but gives them no score",
}

CHAPTERS_PROMPT = ("Split this video into its chapters, in order, covering the whole video. For each give "
                   "its start and end in seconds from the beginning of the video, a short title, and a "
                   "description of what is shown and said in it.")
CHAPTERS_SCHEMA = {
    "type": "object",
    "properties": {"chapters": {"type": "array", "items": {
        "type": "object",
        "properties": {"start": {"type": "number"}, "end": {"type": "number"},
                       "title": {"type": "string"}, "description": {"type": "string"}},
        "required": ["start", "end", "title", "description"]}}},
    "required": ["chapters"],
}


class TwelveLabsConfig(VendorConfig):
    base_url: str = "https://api.twelvelabs.io/v1.3"
    marengo: str = Field("marengo3.0", description="The index's search and transcription model.")
    pegasus: str = Field("pegasus1.2", description="The index's analysis model (answers, chapters).")
    temperature: float = Field(0.2, ge=0, le=1)
    search_options: list[str] = Field(["visual", "audio"], description="Modalities the citations search.")
    citations: int = Field(3, ge=1, le=50, description="How many matching clips cite an answer.")
    min_seconds: float = Field(4, description="Pegasus' shortest video.")
    max_seconds: float = Field(3600, description="Pegasus' longest video (sync analysis).")


class TwelveLabsEngine(Engine):
    Config = TwelveLabsConfig
    methods = {"analyze": AnalyzeInput, "supports": AnalyzeCheck}
    quick = frozenset({"supports"})
    config: TwelveLabsConfig

    def load(self) -> None:
        """Nothing to load: Twelve Labs runs the models, reached per call with the owner's key."""
        self.vendor = Vendor("Twelve Labs", self.config, auth=lambda key: {"x-api-key": key},
                             key_name="twelve-labs")

    def describe(self) -> dict[str, Any]:
        return {"vendor": "twelvelabs.io", "api": "v1.3", "models": [self.config.marengo, self.config.pegasus]}

    def supports(self, request: AnalyzeCheck, call: Call) -> Support:
        if set(request.tasks) <= {"embed"}:
            return Support(ok=False, reason=f"twelve-labs gives no embeddings: {NOT_GIVEN['embed']}")
        return Support(ok=True)

    def analyze(self, request: AnalyzeInput, call: Call) -> VendorAnalysis:
        seconds = request.video.media.duration_seconds or 0.0
        if not self.config.min_seconds <= seconds <= self.config.max_seconds:
            raise UnsupportedMedia(f"Twelve Labs analyzes videos of {self.config.min_seconds:g} s to "
                                   f"{self.config.max_seconds:g} s; this one lasts {seconds:g} s")
        tasks = set(request.tasks)
        with self.vendor.session(request.api_key.get_secret_value()) as http:
            index_id = http.json("POST", "/indexes", json={
                "index_name": f"reelserve-analyze-{uuid.uuid4().hex[:12]}",
                "models": [{"model_name": model, "model_options": ["visual", "audio"]}
                           for model in (self.config.marengo, self.config.pegasus)]})["_id"]
            try:
                task = http.json("POST", "/tasks", files={
                    "index_id": (None, index_id), "video_url": (None, input_url(request.video, self.config))})
                http.poll(lambda: http.json("GET", f"/tasks/{task['_id']}"), read_state, call,
                          span=(0.05, 0.8), job_id=task["_id"])
                video_id = task["video_id"]
                result = VendorAnalysis(
                    vendor=VendorJob(provider="twelve-labs", job_id=video_id),
                    not_given={k: v for k, v in NOT_GIVEN.items() if k != "embed" or "embed" in tasks})
                if "transcribe" in tasks:
                    result.transcript = self.transcript(http, index_id, video_id, seconds)
                    call.report(0.85)
                if tasks & {"scenes", "chapters"}:  # Pegasus' chapters serve both
                    result.scenes = self.chapters(http, video_id)
                    call.report(0.9)
                if "qa" in tasks:
                    result.answer = self.answer(http, index_id, video_id, request.question or "")
            finally:
                http.cancel_quietly(lambda: http.request("DELETE", f"/indexes/{index_id}"))
        return result

    def transcript(self, http: Session, index_id: str, video_id: str, seconds: float) -> VendorTranscript:
        video = http.json("GET", f"/indexes/{index_id}/videos/{video_id}", params={"transcription": "true"})
        segments = [TranscriptSegment(start=p["start"], end=p["end"], text=p["value"].strip())
                    for p in video.get("transcription") or [] if (p.get("value") or "").strip()]
        return VendorTranscript(duration_seconds=seconds, text=" ".join(s.text for s in segments),
                                segments=segments, engine=f"twelve-labs {self.config.marengo}")

    def chapters(self, http: Session, video_id: str) -> list[VendorScene]:
        answer = self.generate(http, video_id, CHAPTERS_PROMPT, response_format={
            "type": "json_schema", "json_schema": CHAPTERS_SCHEMA})
        try:
            chapters = json.loads(answer)["chapters"]
            return sorted((VendorScene.model_validate(c) for c in chapters), key=lambda s: s.start)
        except (ValueError, KeyError, TypeError, ValidationError):
            raise ProviderError("Twelve Labs' chapters did not follow the JSON schema asked for",
                                {"provider": "twelve-labs", "vendor_message": answer[:300]}) from None

    def answer(self, http: Session, index_id: str, video_id: str, question: str) -> VendorAnswer:
        text = self.generate(http, video_id, question)
        form = [("index_id", index_id), ("query_text", question), ("page_limit", str(self.config.citations)),
                *(("search_options", option) for option in self.config.search_options)]
        found = http.json("POST", "/search", files=[(k, (None, v)) for k, v in form]).get("data") or []
        # Matches come best first; a match without its own rank is ranked by that order.
        citations = [VendorCitation(start=m["start"], end=m["end"], rank=m.get("rank") or place,
                                    text=m.get("transcription"))
                     for place, m in enumerate(found, 1)
                     if m.get("video_id", video_id) == video_id and m.get("start") is not None
                     and m.get("end") is not None]
        return VendorAnswer(answer=text, citations=citations[:self.config.citations],
                            method=f"generated by twelve-labs {self.config.pegasus}, cited by "
                                   f"{self.config.marengo} search")

    def generate(self, http: Session, video_id: str, prompt: str, **extra: Any) -> str:
        """Pegasus' text for `prompt` on the video; a cut-off answer is an error, not a result."""
        answer = http.json("POST", "/analyze", json={"video_id": video_id, "prompt": prompt,
                                                     "temperature": self.config.temperature,
                                                     "stream": False, **extra})
        if answer.get("finish_reason") == "length":
            raise ProviderError("Twelve Labs cut its answer off at its length limit",
                                {"provider": "twelve-labs", "vendor_message": str(answer.get("error"))})
        return str(answer.get("data") or "")


def read_state(task: dict[str, Any]) -> State:
    return State(PHASES.get(str(task.get("status", "")), "running"))

"""Analyze by Twelve Labs through the real service, against its local contract server
(tests/twelve_labs_server.py): the owner's key reaches Twelve Labs and nothing else, the video is
indexed in an index of its own that is deleted whatever happens, the vendor's transcript,
chapters and answer come back in our analyze result's shape with what it cannot give named,
and every vendor failure becomes a stable job error."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import VENDOR_KEYS, Owner, Service, upload, wait_for
from tests.media import speech, talking_video
from tests.servers import WebhookReceiver
from tests.twelve_labs_server import TwelveLabsServer

KEY = VENDOR_KEYS["twelve-labs"]
SAID = "The museum opens at ten and closes at six. Remember to water the plants while I am away."


@pytest.fixture(scope="module")
def server(vendors) -> TwelveLabsServer:
    return vendors["twelve-labs"]


@pytest.fixture(scope="module")
def owner(make_owner) -> Owner:
    owner: Owner = make_owner("twelve-labs-user")
    assert owner.api.put("/v1/account/provider-keys/twelve-labs", json={"api_key": KEY}).status_code == 204
    return owner


@pytest.fixture(scope="module")
def talk(media: Path, server: TwelveLabsServer) -> Path:
    """A still picture over two spoken sentences (Pegasus takes 4 s and more), its words told to
    the server, which does not recognise speech."""
    path = talking_video(media / "twelve-labs.mp4", speech(SAID, media / "twelve-labs.wav"))
    server.say(path, SAID)
    return path


def analyze(owner: Owner, video: Path, **body) -> dict:
    response = owner.api.post("/v1/video/analyze", json={
        "video_url": upload(owner, video)["url"], "provider": "twelve-labs", **body})
    assert response.status_code == 202, response.text
    return wait_for(owner, response.json()["id"])


def index_of(server: TwelveLabsServer, job: dict) -> str:
    """The index the job's video was indexed in (as the vendor recorded it)."""
    return next(j.data["index_id"] for j in server.jobs.values()
                if j.data.get("video_id") == job["result"]["vendor"]["job_id"])


def test_transcript_chapters_and_a_cited_answer_with_the_owners_key(owner: Owner, server, service: Service,
                                                                     talk: Path) -> None:
    receiver, before = WebhookReceiver(), len(server.requests)
    try:
        job = analyze(owner, talk, tasks=["transcribe", "scenes", "qa", "embed"],
                      question="What time does the museum open?", webhook_url=receiver.url("/hook"))
        delivered = receiver.wait_for(1)
    finally:
        receiver.close()
    assert job["status"] == "completed", job
    result = job["result"]
    from reelcore.media import probe

    duration = probe(talk).duration_seconds
    transcript = result["transcript"]
    assert transcript["text"] == SAID and transcript["language"] is None
    [segment] = transcript["segments"]
    assert 0 <= segment["start"] < 0.5 and duration - 1 < segment["end"] <= duration + 0.1
    assert result["scenes"][0]["start"] == 0 and abs(result["scenes"][-1]["end"] - duration) < 0.1
    assert all({"start", "end", "title", "description"} <= set(s) for s in result["scenes"])
    assert f"{duration:.1f} seconds" in result["answer"]["answer"], "derived from the video it fetched"
    assert result["answer"]["citations"] == [{"start": segment["start"], "end": segment["end"], "rank": 1,
                                              "text": None}]
    assert "pegasus1.2" in result["answer"]["method"]
    assert "embeddings" not in result
    assert {"embed", "words", "language", "scores"} <= set(result["not_given"])
    assert result["vendor"]["provider"] == "twelve-labs"

    index_id = index_of(server, job)
    assert index_id in server.deleted and index_id not in server.indexes, "nothing left in the account"
    sent = server.requests[before:]
    [made] = [r for r in sent if (r.method, r.path) == ("POST", "/indexes")]
    assert [m["model_name"] for m in made.body["models"]] == ["marengo3.0", "pegasus1.2"]
    [searched] = [r for r in sent if r.path == "/search"]
    assert searched.body["search_options"] == ["visual", "audio"]
    assert searched.headers["content-type"].startswith("multipart/form-data")
    assert [(r.method, r.path) for r in sent if r.path.startswith("/indexes/")] == [
        ("GET", f"/indexes/{index_id}/videos/{result['vendor']['job_id']}"), ("DELETE", f"/indexes/{index_id}")]
    assert all(r.headers["x-api-key"] == KEY for r in sent)

    assert KEY not in str(service.redis().hgetall(f"reelserve:job:{job['id']}"))
    assert KEY not in json.dumps(job)
    assert KEY not in b"".join(body for _, body, _ in delivered).decode()
    assert not server.key_seen()


def test_chapters_are_pegasus_chapters(owner: Owner, server, talk: Path) -> None:
    job = analyze(owner, talk, tasks=["chapters"])
    assert job["status"] == "completed", job
    result = job["result"]
    assert "scenes" not in result and result["engines"] == {"chapters": "twelve-labs chapters"}
    chapters = result["chapters"]
    assert [c["index"] for c in chapters] == list(range(len(chapters))) and chapters[0]["start"] == 0
    assert all(c["title"] and c["summary"] for c in chapters)


def test_twelve_labs_without_the_owners_key_is_refused_at_once(alice: Owner) -> None:
    response = alice.api.post("/v1/video/analyze", json={
        "video_url": "https://a.example.com/v.mp4", "tasks": ["transcribe"], "provider": "twelve-labs"})
    assert response.status_code == 409, response.text
    assert "PUT /v1/account/provider-keys/twelve-labs" in response.json()["error"]["message"]
    rows = {(r["operation"], r["name"]): r for r in alice.api.get("/v1/providers").json()["data"]}
    row = rows[("analyze", "twelve-labs")]
    assert row["kind"] == "byok" and not row["available"]
    assert row["needs"] == "your own twelve-labs key: PUT /v1/account/provider-keys/twelve-labs"


def test_embeddings_alone_are_refused_at_once(owner: Owner, talk: Path) -> None:
    response = owner.api.post("/v1/video/analyze", json={
        "video_url": upload(owner, talk)["url"], "tasks": ["embed"], "provider": "twelve-labs"})
    assert response.status_code == 409, response.text
    assert "twelve-labs gives no embeddings" in response.json()["error"]["message"]


def test_a_key_twelve_labs_refuses_fails_the_job_with_its_words(make_owner, server, service: Service,
                                                                talk: Path) -> None:
    wrong = "tlk_wrong_fedcba9876543210"
    owner: Owner = make_owner("twelve-labs-wrong-key")
    assert owner.api.put("/v1/account/provider-keys/twelve-labs", json={"api_key": wrong}).status_code == 204
    job = analyze(owner, talk, tasks=["transcribe"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "provider_key_rejected"
    assert "api_key_invalid: Invalid API key" in job["error"]["message"], "the vendor's code and words"
    assert wrong not in str(service.redis().hgetall(f"reelserve:job:{job['id']}"))


def test_rate_limits_and_server_errors_are_retried(owner: Owner, server, talk: Path) -> None:
    server.fail(429, times=1, retry_after=0.3, path="/indexes", message="Too many requests")
    server.fail(500, times=1, path="/analyze", message="Internal error")
    before = len(server.requests)
    job = analyze(owner, talk, tasks=["qa"], question="What does the video show?")
    assert job["status"] == "completed", job
    paths = [(r.method, r.path) for r in server.requests[before:]]
    assert paths.count(("POST", "/indexes")) == 2 and paths.count(("POST", "/analyze")) == 2


@pytest.mark.parametrize(("status", "path", "code"), [
    (402, "/tasks", "provider_quota_exceeded"),
    (403, "/search", "provider_key_rejected"),
    (404, "/indexes/[^/]+/videos/[^/]+", "invalid_request"),
    (422, "/analyze", "invalid_request"),
    (500, "/tasks/[^/]+", "provider_error"),
])
def test_vendor_errors_fail_the_job_with_our_code_and_still_delete_the_index(
        owner: Owner, server, talk: Path, status: int, path: str, code: str) -> None:
    server.fail(status, times=10, path=path, message=f"injected {status}")
    try:
        job = analyze(owner, talk, tasks=["transcribe", "scenes", "qa"], question="Who speaks?")
    finally:
        server.faults.clear()
    assert job["status"] == "failed" and job["error"]["code"] == code, job
    assert f"injected {status}" in job["error"]["message"]
    assert not server.indexes, "the job's index was deleted"


def test_a_video_twelve_labs_fails_to_index_fails_the_job(owner: Owner, server, talk: Path) -> None:
    server.statuses = lambda kind: ["validating", "pending", "failed"]
    try:
        job = analyze(owner, talk, tasks=["transcribe"])
    finally:
        del server.statuses
    assert job["status"] == "failed" and job["error"]["code"] == "provider_error"
    assert "Twelve Labs failed the job" in job["error"]["message"]
    assert not server.indexes


def test_a_video_shorter_than_pegasus_takes_is_refused_before_any_vendor_call(owner: Owner, server,
                                                                              media: Path) -> None:
    before = len(server.requests)
    job = analyze(owner, media / "silent.mp4", tasks=["scenes"])
    assert job["status"] == "failed" and job["error"]["code"] == "unsupported_media"
    assert "4 s" in job["error"]["message"]
    assert len(server.requests) == before


def test_canceling_the_job_deletes_its_index(owner: Owner, server, talk: Path) -> None:
    server.statuses = lambda kind: ["validating", "indexing"]  # never ready on its own
    try:
        job_id = owner.api.post("/v1/video/analyze", json={
            "video_url": upload(owner, talk)["url"], "tasks": ["transcribe"],
            "provider": "twelve-labs"}).json()["id"]
        deadline = time.monotonic() + 60
        while not any(j.polls for j in server.jobs.values() if j.status == "indexing"):
            assert time.monotonic() < deadline, "indexing never started"
            time.sleep(0.2)
        assert owner.api.post(f"/v1/video/{job_id}/cancel").status_code == 200
        while server.indexes:
            assert time.monotonic() < deadline, "the index was never deleted"
            time.sleep(0.2)
    finally:
        del server.statuses
    assert wait_for(owner, job_id)["status"] == "canceled"

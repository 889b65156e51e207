"""The job lifecycle through the real service: run, follow, list, cancel, idempotency, owners."""

from __future__ import annotations

import json
import threading

import httpx

from tests.conftest import Owner, Service, upload, wait_for


def analyze(owner: Owner, url: str, **extra) -> dict:
    response = owner.api.post("/v1/video/analyze",
                              json={"video_url": url, "tasks": ["transcribe"], **extra})
    assert response.status_code == 202, response.text
    return response.json()


def follow_events(service: Service, owner: Owner, job_id: str) -> list[dict]:
    """Every SSE event until the stream ends."""
    events = []
    with httpx.stream("GET", f"{service.base_url}/v1/video/{job_id}/events",
                      headers={"Authorization": f"Bearer {owner.api_key}"}, timeout=120) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:])["job"])
    return events


def test_analyze_transcribes_a_known_sentence_with_rising_progress(
    service: Service, alice: Owner, media
) -> None:
    uploaded = upload(alice, media / "sentence.mp4")
    assert uploaded["media"]["has_audio"] and uploaded["media"]["has_video"]
    job = analyze(alice, uploaded["url"])
    events = follow_events(service, alice, job["id"])

    statuses = [e["status"] for e in events]
    assert statuses[-1] == "completed"
    assert "processing" in statuses
    assert statuses.index("processing") < statuses.index("completed")
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress), "progress only rises"
    assert len(set(progress)) >= 3 and progress[-1] == 1.0

    done = alice.api.get(f"/v1/video/{job['id']}").json()
    assert done["completed_at"] and done["attempts"] == 1
    transcript = done["result"]["transcript"]
    assert transcript["engine"] == "faster-whisper/base" and transcript["language"] == "en"
    words = transcript["text"].lower()
    for word in ("please", "send", "weekly", "report", "finance", "team", "friday"):
        assert word in words, transcript["text"]
    segment = transcript["segments"][0]
    assert 0 <= segment["start"] < segment["end"] <= done["result"]["duration_seconds"] + 0.1
    assert segment["words"] and segment["words"][0]["start"] >= segment["start"] - 0.05


def test_analyze_fetches_http_inputs(alice: Owner, media_host) -> None:
    job = wait_for(alice, analyze(alice, media_host.url("/sentence.mp4"))["id"])
    assert job["status"] == "completed", job
    assert "weekly report" in job["result"]["transcript"]["text"].lower()


def test_video_without_audio_fails_with_unsupported_media(alice: Owner, media) -> None:
    job = wait_for(alice, analyze(alice, upload(alice, media / "silent.mp4")["url"])["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "unsupported_media"
    assert "audio" in job["error"]["message"]


def test_unreachable_input_fails_with_input_unreachable(alice: Owner, media_host) -> None:
    job = wait_for(alice, analyze(alice, media_host.url("/missing.mp4"))["id"])
    assert job["status"] == "failed"
    assert job["error"] == {"code": "input_unreachable",
                            "message": "video_url: the input URL answered HTTP 404",
                            "details": {"status_code": 404, "field": "video_url"}}


def test_non_media_input_fails_with_unsupported_media(alice: Owner, media_host) -> None:
    job = wait_for(alice, analyze(alice, media_host.url("/notes.txt"))["id"])
    assert job["error"]["code"] == "unsupported_media"


def test_list_is_newest_first_with_a_cursor_and_filters(make_owner, media_host) -> None:
    carol = make_owner("carol")
    ids = [analyze(carol, media_host.url(f"/missing-{i}.mp4"))["id"] for i in range(5)]
    for job_id in ids:
        wait_for(carol, job_id)
    seen, cursor = [], None
    while True:
        page = carol.api.get("/v1/video", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["data"]) <= 2
        seen += [job["id"] for job in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    failed = carol.api.get("/v1/video", params={"status": "failed", "type": "analyze"}).json()
    assert [j["id"] for j in failed["data"]] == list(reversed(ids))
    assert carol.api.get("/v1/video", params={"status": "completed"}).json()["data"] == []
    assert carol.api.get("/v1/video", params={"limit": 101}).status_code == 422


def test_idempotency_key_returns_the_same_job_and_refuses_another_body(alice: Owner, media_host) -> None:
    url = media_host.url("/missing-idem.mp4")
    headers = {"Idempotency-Key": "order-42"}
    first = alice.api.post("/v1/video/analyze", headers=headers,
                           json={"video_url": url, "tasks": ["transcribe"]})
    again = alice.api.post("/v1/video/analyze", headers=headers,
                           json={"video_url": url, "tasks": ["transcribe"]})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = alice.api.post("/v1/video/analyze", headers=headers,
                           json={"video_url": url + "?v=2", "tasks": ["transcribe"]})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert other.json()["error"]["details"]["job_id"] == first.json()["id"]


def test_idempotency_key_is_atomic_under_concurrent_submissions(alice: Owner, media_host) -> None:
    body = {"video_url": media_host.url("/missing-race.mp4"), "tasks": ["transcribe"]}
    ids: list[str] = []

    def submit() -> None:
        response = alice.api.post("/v1/video/analyze", json=body,
                                  headers={"Idempotency-Key": "race-1"})
        ids.append(response.json()["id"])

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1


def test_idempotency_keys_are_per_owner(alice: Owner, bob: Owner, media_host) -> None:
    body = {"video_url": media_host.url("/missing-owner.mp4"), "tasks": ["transcribe"]}
    a = alice.api.post("/v1/video/analyze", json=body, headers={"Idempotency-Key": "k"}).json()
    b = bob.api.post("/v1/video/analyze", json=body, headers={"Idempotency-Key": "k"}).json()
    assert a["id"] != b["id"] and b["owner_id"] == "bob"


def test_cancel_stops_a_running_job_and_it_stays_canceled(alice: Owner, media) -> None:
    job = analyze(alice, upload(alice, media / "long.mp4")["url"])
    canceled = alice.api.post(f"/v1/video/{job['id']}/cancel")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["error"]["code"] == "canceled"
    final = wait_for(alice, job["id"])
    assert final["status"] == "canceled" and final["result"] is None
    again = alice.api.post(f"/v1/video/{job['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_cancelable"


def test_owners_only_see_their_own_jobs_and_files(alice: Owner, bob: Owner, media) -> None:
    uploaded = upload(alice, media / "sentence.mp4")
    job = analyze(alice, uploaded["url"])
    for response in (
        bob.api.get(f"/v1/video/{job['id']}"),
        bob.api.post(f"/v1/video/{job['id']}/cancel"),
        bob.api.get(f"/v1/video/{job['id']}/events"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert job["id"] not in [j["id"] for j in bob.api.get("/v1/video").json()["data"]]
    stolen = wait_for(bob, analyze(bob, uploaded["url"])["id"])
    assert stolen["status"] == "failed" and stolen["error"]["code"] == "input_unreachable"
    assert alice.api.get("/v1/video/vj_01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404
    wait_for(alice, job["id"])


def test_inputs_longer_than_the_limit_fail_with_input_too_large(alice: Owner, media_host) -> None:
    job = wait_for(alice, analyze(alice, media_host.url("/eleven_minutes.m4a"))["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "input_too_large"
    assert "600" in job["error"]["message"]

"""Analyze through the real API on a video the tests make: three shots (a hard cut, a fade
through black), one known sentence spoken in each. Transcript, scenes (boundaries against the
truth, keyframes, descriptions), embeddings, answers and collection search; and bad inputs."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import numpy as np
import pytest

from deployments.speech_fit import write_wav
from tests.conftest import STORY, Owner, Service, upload, wait_for
from tests.media import cut_video, speech, talking_video
from tests.test_jobs import follow_events

FRAME = 1 / 25
CPU = {"provider": "reelserve"}
"""The embedded pipeline: `auto` would take the test app's tiny random Qwen2.5-VL for scenes and qa."""
SAID = [STORY[2], STORY[3], STORY[1]]  # the train, the market, the weather


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> tuple[Path, list[float]]:
    root = tmp_path_factory.mktemp("analyze")
    sentences = [speech(text, root / f"said{i}.wav", speed=175) for i, text in enumerate(SAID)]
    path = root / "three_shots.mp4"
    return path, cut_video(path, sentences)


@pytest.fixture(scope="module")
def analysed(service: Service, alice: Owner, footage) -> dict:
    response = alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, footage[0])["url"], "tasks": ["transcribe", "scenes", "embed"],
        **CPU})
    assert response.status_code == 202, response.text
    events = follow_events(service, alice, response.json()["id"])
    job = events[-1]
    assert job["status"] == "completed", job.get("error")
    return {"job": alice.api.get(f"/v1/video/{job['id']}").json(), "events": events}


def test_transcribe_and_scenes_run_as_parallel_branches(analysed) -> None:
    stages = [e["stage"] or "" for e in analysed["events"]]
    assert any("transcribe" in s and "scenes" in s for s in stages), stages
    progress = [e["progress"] for e in analysed["events"]]
    assert progress == sorted(progress)


def test_scenes_are_cut_where_the_shots_change(analysed, footage) -> None:
    scenes = analysed["job"]["result"]["scenes"]
    truth = footage[1]
    assert len(scenes) == 3, [(s["start"], s["end"]) for s in scenes]
    for scene, boundary in zip(scenes[1:], truth, strict=True):
        assert abs(scene["start"] - boundary) <= FRAME + 1e-6, (scene["start"], boundary)
    for scene, words in zip(scenes, ["train", "market", "weather"], strict=True):
        image = httpx.get(scene["thumbnail_url"])
        assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff", "a JPEG keyframe"
        assert words in scene["said"].lower() and scene["description"], scene


def test_embeddings_cover_segments_and_scenes_with_unit_vectors(analysed) -> None:
    result = analysed["job"]["result"]
    embeddings = result["embeddings"]
    assert embeddings["dimension"] == 384 and embeddings["model"]
    kinds = [i["kind"] for i in embeddings["items"]]
    assert kinds.count("scene") == 3 and kinds.count("segment") == len(result["transcript"]["segments"])
    vectors = np.array([i["vector"] for i in embeddings["items"]])
    assert vectors.shape[1] == 384 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)


def test_embeddings_are_deterministic(alice: Owner, analysed) -> None:
    """The same request again gives the same vectors, to the last digit. (A different batch of
    passages may differ in the sixth decimal: padding changes the arithmetic.)"""
    again = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": analysed["job"]["input"]["video_url"],
        "tasks": ["transcribe", "scenes", "embed"], **CPU}).json()["id"])
    assert again["status"] == "completed", again.get("error")
    first = {i["text"]: i["vector"] for i in analysed["job"]["result"]["embeddings"]["items"]}
    for item in again["result"]["embeddings"]["items"]:
        assert item["vector"] == first[item["text"]]


def test_a_question_is_answered_by_the_segment_that_says_it(alice: Owner, analysed) -> None:
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": analysed["job"]["input"]["video_url"], "tasks": ["qa"],
        "question": "When does our train depart?", **CPU}).json()["id"])
    assert job["status"] == "completed", job.get("error")
    answer = job["result"]["answer"]
    best = answer["citations"][0]
    assert "train" in best["text"].lower() and 0 <= best["start"] < 3.0, answer
    assert "train" in answer["answer"].lower()


def test_a_collection_finds_a_paraphrased_moment_first(alice: Owner, bob: Owner, analysed) -> None:
    collection = alice.api.post("/v1/collections", json={"name": "shots"}).json()
    job_id = analysed["job"]["id"]
    added = alice.api.post(f"/v1/collections/{collection['id']}/videos", json={"job_id": job_id})
    assert added.status_code == 200, added.text
    assert added.json()["videos"] == [job_id] and added.json()["vectors"] == len(
        analysed["job"]["result"]["embeddings"]["items"])
    found = alice.api.post(f"/v1/collections/{collection['id']}/search",
                           json={"query": "what time is the rail departure", "limit": 3})
    assert found.status_code == 200, found.text
    best = found.json()["data"][0]
    assert best["job_id"] == job_id and "train" in best["text"].lower(), found.json()
    assert bob.api.post(f"/v1/collections/{collection['id']}/search",
                        json={"query": "train"}).status_code == 404, "collections are per owner"


def test_only_analyze_jobs_with_embeddings_join_a_collection(alice: Owner, analysed) -> None:
    collection = alice.api.post("/v1/collections", json={"name": "strict"}).json()
    transcript_only = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": analysed["job"]["input"]["video_url"], "tasks": ["transcribe"]}).json()["id"])
    refused = alice.api.post(f"/v1/collections/{collection['id']}/videos",
                             json={"job_id": transcript_only["id"]})
    assert refused.status_code == 409 and "embed" in refused.json()["error"]["message"]
    assert refused.json()["error"]["code"] == "job_not_indexable"
    missing = alice.api.post(f"/v1/collections/{collection['id']}/videos", json={"job_id": "vj_nope"})
    assert missing.status_code == 409 and missing.json()["error"]["code"] == "job_not_indexable"
    nowhere = alice.api.post("/v1/collections/col_nope/videos", json={"job_id": transcript_only["id"]})
    assert nowhere.status_code == 404, "the path's collection is what is not found"


def test_scenes_of_an_audio_file_fail_clearly(alice: Owner, media: Path) -> None:
    response = alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, media / "sentence.wav")["url"], "tasks": ["scenes"]})
    assert response.status_code == 202, response.text
    job = wait_for(alice, response.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "unsupported_media", job


def test_silent_footage_gets_scenes_vectors_and_answers_and_says_what_was_skipped(
        alice: Owner, media: Path) -> None:
    response = alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, media / "silent.mp4")["url"], "tasks": ["scenes", "embed", "qa"],
        "question": "What is shown?", **CPU})
    assert response.status_code == 202, response.text
    job = wait_for(alice, response.json()["id"])
    assert job["status"] == "completed", job.get("error")
    result = job["result"]
    assert result["skipped"] == {"transcribe": "the video has no audio track"}
    assert "transcript" not in result and "transcribe" not in result["engines"]
    assert len(result["scenes"]) == 1 and result["scenes"][0]["said"] == ""
    assert [item["kind"] for item in result["embeddings"]["items"]] == ["scene"]
    assert result["answer"]["citations"][0]["kind"] == "scene"


def test_transcribing_silent_footage_alone_fails_clearly(alice: Owner, media: Path) -> None:
    response = alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, media / "silent.mp4")["url"], "tasks": ["transcribe"], **CPU})
    assert response.status_code == 202, response.text
    job = wait_for(alice, response.json()["id"])
    assert job["status"] == "failed" and job["error"] == {
        "code": "unsupported_media",
        "message": "the transcribe task cannot run: the video has no audio track", "details": None}, job


def test_openapi_documents_what_an_analysis_skipped(service: Service) -> None:
    spec = httpx.get(f"{service.base_url}/openapi.json").json()
    result = spec["components"]["schemas"]["VideoJob"]["properties"]["result"]
    skipped = result["properties"]["skipped"]
    assert skipped["additionalProperties"] == {"type": "string"} and "no audio track" in skipped["description"]
    assert set(skipped["propertyNames"]["enum"]) == {"transcribe", "scenes", "embed", "qa", "chapters"}
    chapter = result["properties"]["chapters"]["items"]
    assert chapter["required"] == ["index", "start", "end", "title"] and "summary" in chapter["properties"]


def test_chapters_tile_the_video_open_at_shot_changes_and_are_titled_in_its_words(
        alice: Owner, analysed, footage) -> None:
    """The test app's embedder makes chapters of 2 s or more (conftest), so the three shots,
    one topic each (a train, a market, the weather), may each be one."""
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": analysed["job"]["input"]["video_url"], "tasks": ["chapters"], **CPU}).json()["id"])
    assert job["status"] == "completed", job.get("error")
    result = job["result"]
    chapters = result["chapters"]
    assert not {"transcript", "scenes", "skipped"} & set(result), "only what was asked for"
    assert result["engines"]["chapters"] == "topic shifts (all-MiniLM-L6-v2)"
    assert [c["index"] for c in chapters] == list(range(len(chapters)))
    assert chapters[0]["start"] == 0 and abs(chapters[-1]["end"] - result["duration_seconds"]) < 0.01
    for before, after in itertools.pairwise(chapters):
        assert before["end"] == after["start"] > before["start"]
        assert min(abs(after["start"] - cut) for cut in footage[1]) <= FRAME + 1e-6, "at a shot change"
    said = " ".join(s["said"] for s in analysed["job"]["result"]["scenes"]).lower()
    for chapter in chapters:
        assert chapter["title"].strip() and chapter["summary"]
        assert all(w.strip(".,…'").lower() in said for w in chapter["title"].split()), chapter


def test_silent_footage_is_chaptered_from_its_shots(alice: Owner, media: Path) -> None:
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, media / "silent.mp4")["url"], "tasks": ["chapters"], **CPU}).json()["id"])
    assert job["status"] == "completed", job.get("error")
    result = job["result"]
    assert result["skipped"] == {"transcribe": "the video has no audio track"}
    assert len(result["chapters"]) == 1 and result["chapters"][0]["start"] == 0
    assert abs(result["chapters"][0]["end"] - result["duration_seconds"]) < 0.01
    assert result["chapters"][0]["title"].strip()


def test_chapters_of_an_audio_file_come_from_its_speech(alice: Owner, media: Path) -> None:
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, media / "sentence.wav")["url"], "tasks": ["chapters"], **CPU}).json()["id"])
    assert job["status"] == "completed", job.get("error")
    result = job["result"]
    assert result["skipped"] == {"scenes": "the input has no video stream"}
    assert [c["start"] for c in result["chapters"]] == [0]
    assert "report" in result["chapters"][0]["summary"].lower()


def test_a_video_with_nothing_said_is_one_chapter_named_from_its_shot(alice: Owner, tmp_path) -> None:
    """A hum and one still shot: the shot's measured description is all there is to go on."""
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, hum_video(tmp_path))["url"], "tasks": ["chapters"], **CPU}).json()["id"])
    assert job["status"] == "completed", job.get("error")
    assert len(job["result"]["chapters"]) == 1


def hum_video(folder: Path) -> Path:
    """A talking-head video whose only sound is a 110 Hz hum."""
    t = np.arange(16000 * 3) / 16000
    hum = write_wav(folder / "hum.wav", 0.05 * np.sin(2 * np.pi * 110 * t), 16000)
    return talking_video(folder / "hum.mp4", hum)


def test_a_question_about_a_video_without_speech_fails_clearly(alice: Owner, tmp_path) -> None:
    response = alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, hum_video(tmp_path))["url"],
        "tasks": ["qa"], "question": "What is said?", **CPU})
    assert response.status_code == 202, response.text
    job = wait_for(alice, response.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "no_speech_detected", job


def test_a_vlm_answers_about_a_video_without_speech_from_its_frames(alice: Owner, tmp_path) -> None:
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, hum_video(tmp_path))["url"], "tasks": ["qa"],
        "question": "What is shown?", "provider": "qwen2.5-vl"}).json()["id"])
    assert job["status"] == "completed", job.get("error")
    answer = job["result"]["answer"]
    assert answer["method"] == "generated by tiny-qwen2.5-vl from the frames alone"
    assert answer["answer"].strip() and answer["citations"] == [] and answer["retrieved"] is None


def test_a_vlm_provider_describes_each_shot_from_its_frames_and_writes_the_answer(
        alice: Owner, analysed) -> None:
    """qwen2.5-vl here is a tiny random model: its words are noise, but they are its own, made
    from each shot's frames; boundaries, what is said and the cited passages are the CPU's."""
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": analysed["job"]["input"]["video_url"], "tasks": ["scenes", "qa"],
        "question": "When does our train depart?", "provider": "qwen2.5-vl"}).json()["id"])
    assert job["status"] == "completed" and job["provider"] == "qwen2.5-vl", job.get("error")
    result, cpu = job["result"], analysed["job"]["result"]
    assert [(s["start"], s["end"]) for s in result["scenes"]] == [(s["start"], s["end"]) for s in cpu["scenes"]]
    for scene, measured in zip(result["scenes"], cpu["scenes"], strict=True):
        assert scene["measured"] == measured["description"] and scene["description"].strip()
        assert scene["description"] != scene["measured"]
    assert result["engines"]["describe"] == "tiny-qwen2.5-vl"
    answer = result["answer"]
    assert answer["method"] == "generated by tiny-qwen2.5-vl from retrieval (minilm)"
    assert answer["answer"].strip() and answer["answer"] != answer["retrieved"]
    assert "train" in answer["citations"][0]["text"].lower() and "train" in answer["retrieved"].lower()


def test_a_vlm_provider_titles_the_chapters_found_on_cpu(alice: Owner, analysed) -> None:
    """The boundaries are the CPU's; the tiny model's titles are noise, but its own."""
    url = analysed["job"]["input"]["video_url"]
    cpu = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": url, "tasks": ["chapters"], **CPU}).json()["id"])
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": url, "tasks": ["chapters"], "provider": "qwen2.5-vl"}).json()["id"])
    assert job["status"] == "completed" and cpu["status"] == "completed", job.get("error")
    chapters, slots = job["result"]["chapters"], [(c["start"], c["end"]) for c in cpu["result"]["chapters"]]
    assert [(c["start"], c["end"]) for c in chapters] == slots
    assert job["result"]["engines"]["chapters"] == "topic shifts (all-MiniLM-L6-v2), titled by tiny-qwen2.5-vl"
    for chapter, extracted in zip(chapters, cpu["result"]["chapters"], strict=True):
        assert chapter.get("extracted_title", chapter["title"]) == extracted["title"]


def test_auto_takes_the_vlm_for_scenes_and_the_plain_pipeline_for_a_transcript(alice: Owner, analysed) -> None:
    url = analysed["job"]["input"]["video_url"]
    scenes = alice.api.post("/v1/video/analyze", json={"video_url": url, "tasks": ["scenes"]}).json()
    transcript = alice.api.post("/v1/video/analyze", json={"video_url": url, "tasks": ["transcribe"]}).json()
    assert (scenes["provider"], transcript["provider"]) == ("qwen2.5-vl", "reelserve")
    for job in (scenes, transcript):
        assert wait_for(alice, job["id"])["status"] == "completed"


def test_a_vlm_provider_without_weights_is_refused_with_the_reason(alice: Owner, analysed) -> None:
    response = alice.api.post("/v1/video/analyze", json={
        "video_url": analysed["job"]["input"]["video_url"], "tasks": ["scenes"], "provider": "qwen3-vl"})
    assert response.status_code == 409, response.text
    assert "set model_path" in response.json()["error"]["message"]
    listed = {(p["operation"], p["name"]): p for p in alice.api.get("/v1/providers").json()["data"]}
    assert not listed[("analyze", "qwen3-vl")]["available"]
    assert "set model_path" in listed[("analyze", "qwen3-vl")]["reason"]


def test_a_vlm_provider_answers_about_an_audio_file_by_retrieval(alice: Owner, media: Path) -> None:
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json={
        "video_url": upload(alice, media / "sentence.wav")["url"], "tasks": ["qa"],
        "question": "What goes to the finance team?", "provider": "qwen2.5-vl"}).json()["id"])
    assert job["status"] == "completed", job.get("error")
    answer = job["result"]["answer"]
    assert answer["method"] == "retrieval (minilm)" and "report" in answer["answer"].lower(), answer

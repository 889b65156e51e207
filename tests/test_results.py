"""Stored results reach callers with fresh signed URLs in place of storage keys."""

from __future__ import annotations

import httpx

from reelcore.schemas import JobStatus, JobType, VideoJob
from reelcore.storage import LocalStorage
from serve_app.clock import utcnow
from serve_app.results import present


def test_media_references_become_signed_urls_and_the_video_sets_the_size(tmp_path) -> None:
    storage = LocalStorage(tmp_path, b"k", "http://files.test", 60)
    for key in ("owners/a/jobs/vj_1/lipsync/out.mp4", "t.jpg"):
        storage.path(key).parent.mkdir(parents=True, exist_ok=True)
        storage.path(key).write_bytes(b"x")
    video = {"key": "owners/a/jobs/vj_1/lipsync/out.mp4",
             "media": {"format": "mp4", "duration_seconds": 9.6, "has_video": True,
                       "has_audio": True, "width": 512, "height": 512, "fps": 25.0,
                       "is_image": False}}
    job = VideoJob(id="vj_1", type=JobType.lipsync, status=JobStatus.completed,
                   provider="musetalk", progress=1.0, created_at=utcnow(), owner_id="a", input={},
                   result={"provider": "musetalk", "video": video,
                           "scenes": [{"start": 0, "thumbnail": {**video, "key": "t.jpg"}}]})
    shown = present(job, storage).result
    assert storage.key_from_url(shown["video_url"]) == video["key"]
    assert "video" not in shown
    assert (shown["duration_seconds"], shown["width"], shown["height"], shown["fps"]) == (
        9.6, 512, 512, 25.0)
    assert shown["scenes"][0]["thumbnail_url"].startswith("http://files.test/v1/files/t.jpg?")
    assert job.result["video"] == video, "the stored result keeps its key"
    assert httpx.URL(shown["video_url"]).params["expires"]

"""Turning stored results into what callers see: media references become signed URLs.

Results keep storage keys (`{"key", "media"}`), never URLs, because signed URLs expire; each
read, event and webhook signs afresh. `video: {key, media}` becomes `video_url` plus, for the
main output, its duration and size at the top of the result as the contract asks.
"""

from __future__ import annotations

from typing import Any

from reelcore.schemas import VideoJob
from reelcore.storage import Storage


def is_media_ref(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == {"key", "media"}


def _sign(value: Any, storage: Storage) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            if is_media_ref(item):
                out[f"{name}_url"] = storage.signed_url(item["key"])
            else:
                out[name] = _sign(item, storage)
        return out
    if isinstance(value, list):
        return [_sign(item, storage) for item in value]
    return value


def present(job: VideoJob, storage: Storage) -> VideoJob:
    if not job.result:
        return job
    result = _sign(job.result, storage)
    video = job.result.get("video")
    if is_media_ref(video):
        media = video["media"]
        result.update(duration_seconds=media["duration_seconds"], width=media["width"],
                      height=media["height"], fps=media["fps"])
    return job.model_copy(update={"result": result})

"""Turning a job's `*_url` fields into stored, probed media references.

Our own signed URLs (uploads, earlier results) resolve straight to their storage key, if the
job's owner owns them; other URLs are fetched under the SSRF guard and limits, probed, and
stored under the job, so every later stage, on any node, reads them from storage.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from reelcore.errors import InputTooLarge, InputUnreachable, ReelserveError
from reelcore.media import MediaRef, probe
from reelcore.schemas import MediaInfo
from reelcore.settings import Settings
from reelcore.storage import Storage, key_owner, owner_key
from serve_app.fetch import fetch_to_file


def media_fields(request: dict[str, Any]) -> dict[str, str]:
    return {
        name: url for name, url in request.items()
        if name.endswith("_url") and name != "webhook_url" and url
    }


def probe_stored(storage: Storage, key: str, max_pixels: int) -> MediaInfo:
    """Probe a stored object; with S3 this downloads it, so it runs in a thread."""
    with storage.local_copy(key) as path:
        return probe(path, max_pixels)


async def ingest(
    field: str, url: str, owner_id: str, job_id: str, storage: Storage, settings: Settings
) -> MediaRef:
    """The input stored and probed; any failure names the field, in its message (all a failed
    job keeps) and its details."""
    try:
        return await _ingest(field, url, owner_id, job_id, storage, settings)
    except ReelserveError as exc:
        raise type(exc)(f"{field}: {exc.message}", {**exc.details, "field": field}) from exc


async def _ingest(
    field: str, url: str, owner_id: str, job_id: str, storage: Storage, settings: Settings
) -> MediaRef:
    max_pixels = settings.max_video_pixels
    try:
        key = await asyncio.to_thread(storage.key_from_url, url)
    except ReelserveError as exc:
        raise InputUnreachable(exc.message) from exc
    if key is not None:
        if key_owner(key) != owner_id:
            raise InputUnreachable("no such file")
        media = await asyncio.to_thread(probe_stored, storage, key, max_pixels)
    else:
        with tempfile.TemporaryDirectory(prefix="reelserve-in-") as tmp:
            path = Path(tmp) / field
            await fetch_to_file(url, path, settings)
            media = await asyncio.to_thread(probe, path, max_pixels)
            key = owner_key(owner_id, "jobs", job_id, "inputs", f"{field}.{media.format.split(',')[0]}")
            await asyncio.to_thread(storage.put_file, key, path, "application/octet-stream")
    duration = media.duration_seconds or 0
    if duration > settings.max_media_duration_seconds:
        raise InputTooLarge(
            f"it lasts {duration:.0f} s; the limit is {settings.max_media_duration_seconds:.0f} s")
    return MediaRef(key=key, media=media)


async def ingest_all(
    request: dict[str, Any], owner_id: str, job_id: str, storage: Storage, settings: Settings
) -> dict[str, MediaRef]:
    fields = media_fields(request)
    refs = await asyncio.gather(
        *(ingest(f, u, owner_id, job_id, storage, settings) for f, u in fields.items())
    )
    return dict(zip(fields, refs, strict=True))

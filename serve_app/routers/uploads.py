"""/v1/uploads: put an input file in storage and get a signed URL usable as any `*_url`."""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, UploadFile
from ulid import ULID

from reelcore.errors import PayloadTooLarge
from reelcore.media import probe
from reelcore.schemas import ErrorResponse, Upload
from reelcore.storage import owner_key
from serve_app.clock import utcnow
from serve_app.deps import OwnerDep, ServicesDep

router = APIRouter(prefix="/v1/uploads", tags=["uploads"],
                   responses={c: {"model": ErrorResponse} for c in (401, 413, 415, 422)})


def safe_name(name: str | None) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "upload").name).strip("._")
    return cleaned[:100] or "upload"


@router.post("", status_code=201, operation_id="upload")
async def upload(file: UploadFile, owner: OwnerDep, services: ServicesDep) -> Upload:
    """Store a media file after probing its content (the extension is not trusted): not media
    is `415 unsupported_media`, over the byte limit `413 payload_too_large`, a picture or frame over
    the pixel limit `413 input_too_large`."""
    limit = services.settings.upload_max_bytes
    with tempfile.TemporaryDirectory(prefix="reelserve-up-") as tmp:
        path = Path(tmp) / "upload"
        size = 0
        with path.open("wb") as out:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"uploads are limited to {limit} bytes")
                await asyncio.to_thread(out.write, chunk)  # never block the ingress loop
        media = await asyncio.to_thread(probe, path, services.settings.max_video_pixels)
        upload_id = f"up_{ULID()}"
        filename = safe_name(file.filename)
        key = owner_key(owner, "uploads", upload_id, filename)
        content_type = file.content_type or "application/octet-stream"
        await asyncio.to_thread(services.storage.put_file, key, path, content_type)
    ttl = services.settings.file_url_ttl_seconds
    return Upload(
        id=upload_id, url=services.storage.signed_url(key), filename=filename, size_bytes=size,
        content_type=content_type, media=media, expires_at=utcnow() + timedelta(seconds=ttl),
    )

"""/v1/files: files of the local storage backend, behind HMAC-signed, expiring URLs."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from reelcore.errors import NotFound
from reelcore.schemas import ErrorResponse
from reelcore.storage import LocalStorage
from serve_app.deps import ServicesDep

router = APIRouter(prefix="/v1/files", tags=["files"],
                   responses={c: {"model": ErrorResponse} for c in (403, 404)})


@router.get("/{key:path}", operation_id="get_file", response_class=FileResponse)
async def get_file(key: str, expires: str, signature: str, services: ServicesDep) -> FileResponse:
    """The link itself is the credential: no API key needed, so it can be shared until it expires."""
    if not isinstance(services.storage, LocalStorage):
        raise NotFound("files are served by the object store; use the presigned URL")
    path = services.storage.verify(key, expires, signature)
    return FileResponse(path, filename=path.name)

"""/v1/collections: search across analysed videos in natural language (ours)."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Response

from reelcore.capabilities.embedding import Embeddings, EmbedRequest
from reelcore.errors import JobNotIndexable, NotFound, ProviderUnavailable
from reelcore.schemas import (
    Collection,
    CollectionIn,
    CollectionList,
    CollectionVideoIn,
    ErrorResponse,
    SearchRequest,
    SearchResult,
)
from serve_app.deps import OwnerDep, ServicesDep

router = APIRouter(prefix="/v1/collections", tags=["collections"],
                   responses={c: {"model": ErrorResponse} for c in (401, 404, 409, 422)})


@router.post("", status_code=201, operation_id="create_collection")
async def create_collection(body: CollectionIn, owner: OwnerDep, services: ServicesDep) -> Collection:
    return await services.collections.create(owner, body.name)


@router.get("", operation_id="list_collections")
async def list_collections(owner: OwnerDep, services: ServicesDep) -> CollectionList:
    return CollectionList(data=await services.collections.list(owner))


@router.get("/{collection_id}", operation_id="get_collection")
async def get_collection(collection_id: str, owner: OwnerDep, services: ServicesDep) -> Collection:
    return await services.collections.get(owner, collection_id)


@router.delete("/{collection_id}", status_code=204, operation_id="delete_collection")
async def delete_collection(collection_id: str, owner: OwnerDep, services: ServicesDep) -> Response:
    await services.collections.delete(owner, collection_id)
    return Response(status_code=204)


@router.post("/{collection_id}/videos", operation_id="add_to_collection")
async def add_video(collection_id: str, body: CollectionVideoIn, owner: OwnerDep,
                    services: ServicesDep) -> Collection:
    """Add a completed analyze job of yours that ran the `embed` task: its transcript segments
    and scene descriptions become searchable moments. 404 names a missing collection (the path);
    a job it cannot take, missing included, is a 409 `job_not_indexable`."""
    await services.collections.get(owner, collection_id)
    try:
        job = await services.jobs.get(body.job_id, owner)
    except NotFound:
        raise JobNotIndexable(f"you have no job {body.job_id!r} to add") from None
    return await services.collections.add(owner, collection_id, job)


@router.post("/{collection_id}/search", operation_id="search_collection")
async def search(collection_id: str, body: SearchRequest, owner: OwnerDep,
                 services: ServicesDep) -> SearchResult:
    """The moments that best match the query, best first (exact cosine search)."""
    await services.collections.get(owner, collection_id)
    engines = await services.providers.engines_offering("embed")
    if not engines:
        raise ProviderUnavailable("no available engine embeds text for search")
    found = await engines[0].ask("embed", EmbedRequest(texts=[body.query], kind="query"), Embeddings)
    vector = np.asarray(found.vectors[0], dtype=np.float32)
    return await services.collections.search(owner, collection_id, vector, found.model, body.limit)

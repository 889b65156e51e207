"""/v1/video: submit the five operations, read, list, cancel and follow jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sse_starlette.sse import EventSourceResponse

from reelcore.schemas import (
    AnalyzeRequest,
    AvatarRequest,
    DubRequest,
    ErrorResponse,
    GenerateRequest,
    JobEvent,
    JobList,
    JobStatus,
    JobType,
    LipsyncRequest,
    VideoJob,
)
from serve_app.deps import IdempotencyKey, OwnerDep, ServicesDep
from serve_app.results import present

ERRORS = {code: {"model": ErrorResponse} for code in (401, 404, 409, 422, 503)}
JOB_LINKS = {name: {"operationId": name, "parameters": {"job_id": "$response.body#/id"}}
             for name in ("get_job", "cancel_job", "job_events")}
"""What a client (or a stateful fuzzer) can do next with the job a submission made."""
SUBMIT_ERRORS = {429: {"model": ErrorResponse, "description": "Past the caller's rate or queue "
                       "bound (`rate_limited`, `queue_full`): retry after `Retry-After` seconds."},
                 202: {"links": JOB_LINKS}}
router = APIRouter(prefix="/v1/video", tags=["video"], responses=ERRORS)


async def submit(
    job_type: JobType, body: BaseModel, owner: str, services: ServicesDep, key: str | None,
    response: Response,
) -> VideoJob:
    """The job, as `GET /v1/video/{id}` shows it; a repeated Idempotency-Key answers with the job
    it created before any limit is counted, provider chosen or engine asked."""
    replayed = key and await services.jobs.replay(owner, job_type, body, key)
    if replayed:
        return shown(replayed, services)
    limits = await services.admission.limits(owner)
    window = await services.admission.take_submission(owner, limits)
    response.headers.update(window.headers())
    owner_keys = await services.provider_keys.providers(owner)
    provider = await services.providers.choose(job_type, body, owner_keys)
    job, _ = await services.jobs.create(
        owner_id=owner, job_type=job_type, provider=provider, request=body, idempotency_key=key,
        max_active=limits.max_active_jobs, max_queued=services.settings.max_queued_jobs,
    )
    return shown(job, services)


@router.post("/generate", status_code=202, operation_id="generate", responses=SUBMIT_ERRORS)
async def generate(body: GenerateRequest, response: Response, owner: OwnerDep,
                   services: ServicesDep, idempotency_key: IdempotencyKey = None) -> VideoJob:
    """Text -> video."""
    return await submit(JobType.generate, body, owner, services, idempotency_key, response)


@router.post("/avatar", status_code=202, operation_id="avatar", responses=SUBMIT_ERRORS)
async def avatar(body: AvatarRequest, response: Response, owner: OwnerDep,
                 services: ServicesDep, idempotency_key: IdempotencyKey = None) -> VideoJob:
    """Still image + audio (or text + voice) -> talking-head video."""
    return await submit(JobType.avatar, body, owner, services, idempotency_key, response)


@router.post("/lipsync", status_code=202, operation_id="lipsync", responses=SUBMIT_ERRORS)
async def lipsync(body: LipsyncRequest, response: Response, owner: OwnerDep,
                  services: ServicesDep, idempotency_key: IdempotencyKey = None) -> VideoJob:
    """Video + audio -> the video with its lips re-aligned to the audio."""
    return await submit(JobType.lipsync, body, owner, services, idempotency_key, response)


@router.post("/dub", status_code=202, operation_id="dub", responses=SUBMIT_ERRORS)
async def dub(body: DubRequest, response: Response, owner: OwnerDep,
              services: ServicesDep, idempotency_key: IdempotencyKey = None) -> VideoJob:
    """Video -> the same video in another language, lips re-synced."""
    return await submit(JobType.dub, body, owner, services, idempotency_key, response)


@router.post("/analyze", status_code=202, operation_id="analyze", responses=SUBMIT_ERRORS)
async def analyze(body: AnalyzeRequest, response: Response, owner: OwnerDep,
                  services: ServicesDep, idempotency_key: IdempotencyKey = None) -> VideoJob:
    """Video -> transcript, scenes, embeddings, answers."""
    return await submit(JobType.analyze, body, owner, services, idempotency_key, response)


def shown(job: VideoJob, services: ServicesDep) -> VideoJob:
    return present(job, services.storage)


@router.get("", operation_id="list_jobs")
async def list_jobs(
    owner: OwnerDep,
    services: ServicesDep,
    status: JobStatus | None = None,
    type: JobType | None = None,  # the contract names this parameter `type`
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JobList:
    """The caller's jobs, newest first."""
    page = await services.jobs.list(owner, limit=limit, cursor=cursor, status=status,
                                     job_type=type)
    return page.model_copy(update={"data": [shown(job, services) for job in page.data]})


@router.get("/{job_id}", operation_id="get_job")
async def get_job(job_id: str, owner: OwnerDep, services: ServicesDep) -> VideoJob:
    return shown(await services.jobs.get(job_id, owner), services)


@router.post("/{job_id}/cancel", operation_id="cancel_job")
async def cancel_job(job_id: str, owner: OwnerDep, services: ServicesDep) -> VideoJob:
    """Cancel a pending or processing job; a running job stops before its next stage."""
    return shown(await services.jobs.cancel(job_id, owner), services)


@router.get("/{job_id}/events", operation_id="job_events",
            response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`job.updated` events carrying a JobEvent."}})
async def job_events(job_id: str, owner: OwnerDep, services: ServicesDep) -> EventSourceResponse:
    """Server-sent events: the job now, then after each status or progress change, until it ends."""
    await services.jobs.get(job_id, owner)
    pubsub = services.redis.pubsub()
    await pubsub.subscribe(services.keys.events(job_id))

    async def stream():
        try:
            job = await services.jobs.get(job_id, owner)  # read after subscribing: no gap
            messages = _messages(pubsub)
            while True:
                yield {"event": "job.updated",
                       "data": JobEvent(job=shown(job, services)).model_dump_json()}
                if job.status.terminal:
                    return
                job = JobEvent.model_validate_json(await anext(messages)).job
        finally:
            await pubsub.aclose()

    return EventSourceResponse(stream(), ping=15)


async def _messages(pubsub):
    async for message in pubsub.listen():
        if message["type"] == "message":
            yield message["data"]

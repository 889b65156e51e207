"""The FastAPI app behind `@serve.ingress`: routers, one error handler, and the services."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray import serve
from ray.serve.handle import DeploymentHandle
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException

from reelcore.engine_client import engine_clients
from reelcore.errors import InvalidRequest, ReelserveError, ServiceUnavailable
from reelcore.schemas import ErrorResponse, JobType
from reelcore.settings import get_settings
from reelcore.storage import get_storage
from serve_app.admission import Admission
from serve_app.auth import Accounts
from serve_app.collections import Collections
from serve_app.config import PipelineSpec
from serve_app.connections import connect
from serve_app.deps import Services, install
from serve_app.jobs import JobStore
from serve_app.keys import Keys
from serve_app.provider_keys import ProviderKeys
from serve_app.providers import ProviderRegistry
from serve_app.routers import account, collections, files, system, uploads, video, voices

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

log = logging.getLogger("ray.serve")
REDIS_RETRY_SECONDS = 2
"""What a 503 during a Redis outage asks callers to wait (a restart takes about that)."""

app = FastAPI(
    title="reelserve",
    version="0.1.0",
    description="Video AI behind one job API: every POST answers 202 with a VideoJob.",
    responses={503: {"model": ErrorResponse, "description": "`service_unavailable`: the job store "
                     "is not answering; retry after `Retry-After` seconds."}},
)
for router in (video.router, uploads.router, files.router, voices.router, collections.router,
               account.router, system.router):
    app.include_router(router)


def _error(exc: ReelserveError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.status,
                        headers={**exc.headers(), **(headers or {})})


@app.exception_handler(ReelserveError)
async def on_reelserve_error(_: Request, exc: ReelserveError) -> JSONResponse:
    return _error(exc)


@app.exception_handler(RequestValidationError)
async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    fields = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if p not in ("body", "query", "path", "header")]
        fields.append({"field": ".".join(loc) or None, "message": err["msg"], "type": err["type"]})
    first = fields[0]
    where = f"{first['field']}: " if first["field"] else ""
    return _error(InvalidRequest(f"{where}{first['message']}", {"fields": fields}))


@app.exception_handler(HTTPException)
async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 400:  # a body that is not even JSON: a request error like any other
        return _error(InvalidRequest(f"the body cannot be parsed: {exc.detail}"))
    err = ReelserveError(str(exc.detail))
    err.code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    err.status = exc.status_code
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request, headers.get("Allow", ""))
    return _error(err, headers)


def _allowed(request: Request, first: str) -> str:
    """Every method of the path, from the OpenAPI document's paths (Starlette names only the
    `first` route's methods, and FastAPI's included routers hide the rest from `app.routes`); a
    literal path (`/v1/video/analyze`) hides the templates it also matches (`/v1/video/{id}`)."""
    paths = request.app.openapi()["paths"]
    found = [template for template in paths
             if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), request.url.path)]
    found = [t for t in found if "{" not in t] or found
    methods = {m.upper() for t in found for m in paths[t] if m.upper() in HTTP_METHODS}
    return ", ".join(sorted(methods | {m.strip() for m in first.split(",") if m.strip()} - {"HEAD"}))


@app.exception_handler(RedisConnectionError)
@app.exception_handler(RedisTimeoutError)
async def on_redis_down(_: Request, exc: Exception) -> JSONResponse:
    log.error("redis is not answering: %s", exc)
    return _error(ServiceUnavailable("the job store is not answering; retry shortly",
                                     {"retry_after_seconds": REDIS_RETRY_SECONDS}))


@app.exception_handler(Exception)
async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error")
    return _error(ReelserveError("internal error; it has been logged"))


@serve.deployment(max_ongoing_requests=200, ray_actor_options={"num_cpus": 0.2})
@serve.ingress(app)
class Ingress:
    def __init__(
        self,
        pipelines: dict[str, dict[str, dict[str, Any]]],
        engines: dict[str, DeploymentHandle],
        dispatcher: DeploymentHandle,
        auto_order: dict[str, list[str]] | None = None,
    ) -> None:
        settings = get_settings()
        redis = connect(settings.redis_url)
        keys = Keys(settings.key_prefix)
        storage = get_storage()
        specs = {
            JobType(t): {p: PipelineSpec.model_validate(s) for p, s in providers.items()}
            for t, providers in pipelines.items()
        }
        install(Services(
            settings=settings,
            redis=redis,
            keys=keys,
            jobs=JobStore(redis, keys, settings.job_ttl_seconds),
            accounts=Accounts(redis, keys),
            provider_keys=ProviderKeys(redis, keys, settings.provider_key_material()),
            storage=storage,
            providers=ProviderRegistry(specs, engine_clients(engines), settings.provider_status_ttl_seconds,
                                       {JobType(t): order for t, order in (auto_order or {}).items()}),
            dispatcher=dispatcher,
            collections=Collections(settings.redis_url, keys, storage, settings.collection_cache_vectors),
            admission=Admission(redis, keys, settings),
        ))

"""Liveness, metrics, providers and the caller's account."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from reelcore.errors import ServiceUnavailable
from reelcore.schemas import ErrorResponse, ProviderList
from serve_app.deps import OwnerDep, ServicesDep

router = APIRouter(tags=["system"])


@router.get("/healthz", operation_id="healthz")
async def healthz(services: ServicesDep) -> dict[str, str]:
    """200 when Redis answers and a dispatcher is consuming jobs."""
    await services.redis.ping()
    try:
        await asyncio.wait_for(services.dispatcher.ready.remote(), timeout=5)
    except TimeoutError as exc:
        raise ServiceUnavailable("no dispatcher is answering", {"retry_after_seconds": 5}) from exc
    return {"status": "ok"}


@router.get("/v1/providers", operation_id="list_providers",
            responses={401: {"model": ErrorResponse}})
async def list_providers(owner: OwnerDep, services: ServicesDep) -> ProviderList:
    """Every engine of every operation, with its availability for the caller (BYOK ones need
    the caller's own key) and, if unavailable, why."""
    keys = await services.provider_keys.providers(owner)
    return ProviderList(data=await services.providers.list(keys))


@router.get("/metrics", operation_id="metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text: cluster-wide job counters (from Redis), queue depth, engine availability."""
    counters = await services.redis.hgetall(services.keys.stats)
    jobs = CounterMetricFamily("reelserve_jobs", "Jobs by type and outcome.",
                               labels=["type", "event"])
    for field, value in sorted(counters.items()):
        event, _, job_type = field.partition(":")
        jobs.add_metric([job_type, event], float(value))
    queue = GaugeMetricFamily("reelserve_queue_length", "Jobs accepted and not finished, all owners.")
    queue.add_metric([], float(await services.redis.hget(services.keys.active_jobs, "*") or 0))
    available = GaugeMetricFamily("reelserve_provider_available", "1 if the provider can serve.",
                                  labels=["operation", "provider"])
    for provider in await services.providers.list():
        available.add_metric([provider.operation.value, provider.name], float(provider.available))
    registry = CollectorRegistry()
    for family in (jobs, queue, available):
        registry.register(_Static(family))
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")


class _Static:
    def __init__(self, family) -> None:
        self.family = family

    def collect(self):
        yield self.family

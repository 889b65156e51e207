"""The dispatcher deployment: runs queued jobs through their graphs, and sends webhooks.

Every replica consumes the job stream and the webhook stream in consumer groups (see
`streams.StreamWorker`), so jobs spread over replicas, and a job whose replica dies is taken
over by another after its lease expires. A job started `job_max_attempts` times without
finishing fails with `worker_lost`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from pydantic_core import to_jsonable_python
from ray import serve
from ray.serve.handle import DeploymentHandle
from redis.exceptions import RedisError

from reelcore.engine_client import engine_clients
from reelcore.errors import (
    Canceled,
    InternalError,
    NotFound,
    ProviderTimeout,
    ProviderUnavailable,
    ReelserveError,
    WorkerLost,
)
from reelcore.imports import import_string
from reelcore.media import MediaRef
from reelcore.schemas import REQUEST_MODELS, JobType
from reelcore.settings import get_settings
from reelcore.storage import get_storage
from serve_app.admission import Admission
from serve_app.auth import Accounts
from serve_app.config import PipelineSpec
from serve_app.connections import connect
from serve_app.fair_queue import FairQueueWorker
from serve_app.inputs import ingest_all
from serve_app.jobs import JobRecord, JobStore
from serve_app.keys import QUEUE_GROUP, WEBHOOK_GROUP, Keys
from serve_app.provider_keys import ProviderKeys
from serve_app.running_job import RunningJob
from serve_app.streams import StreamWorker
from serve_app.webhooks import WebhookSender

log = logging.getLogger("ray.serve")

CAP_CACHE_SECONDS = 10.0


@serve.deployment(max_ongoing_requests=16, ray_actor_options={"num_cpus": 0.2})
class Dispatcher:
    async def __init__(
        self,
        pipelines: dict[str, dict[str, dict[str, Any]]],
        engines: dict[str, DeploymentHandle],
    ) -> None:
        self.settings = get_settings()
        self.redis = connect(self.settings.redis_url)
        keys = Keys(self.settings.key_prefix)
        self.jobs = JobStore(self.redis, keys, self.settings.job_ttl_seconds)
        self.storage = get_storage()
        self.provider_keys = ProviderKeys(self.redis, keys, self.settings.provider_key_material())
        self.graphs = {}
        clients = engine_clients(engines)
        for job_type, providers in pipelines.items():
            for provider, raw in providers.items():
                spec = PipelineSpec.model_validate(raw)
                graph = import_string(spec.graph)
                roles = {role: clients[name] for role, name in spec.engines.items()}
                self.graphs[(JobType(job_type), provider)] = graph(roles, key=spec.key)
        self.admission = Admission(self.redis, keys, self.settings)
        self.caps: dict[str, tuple[float, int]] = {}
        context = serve.get_replica_context()
        consumer = f"{context.replica_id.unique_id}-{os.getpid()}"
        sender = WebhookSender(self.jobs, Accounts(self.redis, keys), self.storage, self.settings)
        self.workers = [
            FairQueueWorker(self.redis, keys, QUEUE_GROUP, consumer, self._run_job,
                            self.settings.job_lease_seconds, self.settings.runner_concurrency,
                            running_cap=self._running_cap),
            StreamWorker(self.redis, keys.webhooks, WEBHOOK_GROUP, consumer,
                         lambda fields: sender.deliver(fields["job_id"]),
                         self.settings.job_lease_seconds, concurrency=16),
        ]
        for worker in self.workers:
            await worker.ensure_group()
        self.tasks = [asyncio.create_task(worker.run()) for worker in self.workers]

    async def _running_cap(self, owner_id: str) -> int:
        """How many of the owner's jobs this replica runs at once (their limits, cached a while)."""
        cached = self.caps.get(owner_id)
        if cached is None or cached[0] < time.monotonic():
            limits = await self.admission.limits(owner_id)
            cached = self.caps[owner_id] = (time.monotonic() + CAP_CACHE_SECONDS, limits.max_running_jobs)
        return cached[1]

    async def check_health(self) -> None:
        for task in self.tasks:
            if task.done():
                raise RuntimeError(f"a stream consumer stopped: {task.exception()!r}")
        await self.redis.ping()

    async def ready(self) -> bool:
        """Answered once the consumers run; the ingress uses it for /healthz."""
        await self.check_health()
        return True

    async def _run_job(self, fields: dict[str, str]) -> None:
        job_id = fields["job_id"]
        try:
            job = await self.jobs.record(job_id)
        except NotFound:
            return  # expired or deleted while queued
        if job.status.terminal:
            return
        if job.attempts >= self.settings.job_max_attempts:
            await self.jobs.fail(job_id, WorkerLost(
                f"the runner was lost {job.attempts} times; giving up"))
            return
        started = await self.jobs.start(job_id)
        if started is None:
            return
        try:
            async with asyncio.timeout(self.settings.job_timeout_seconds):
                result = await self._execute(started)
            await self.jobs.complete(job_id, result)
        except (Canceled, WorkerLost) as exc:
            log.info("job %s stopped: %s", job_id, exc.message)
        except TimeoutError:
            await self.jobs.fail(job_id, ProviderTimeout(
                f"the job took longer than {self.settings.job_timeout_seconds:g} s"))
        except ReelserveError as exc:
            await self.jobs.fail(job_id, exc)
        except RedisError:
            raise  # Redis went away mid-job: the job is taken over after its lease and resumes
        except Exception:
            log.exception("job %s failed unexpectedly", job_id)
            await self.jobs.fail(job_id, InternalError("the job failed unexpectedly"))

    async def _execute(self, job: JobRecord) -> dict[str, Any]:
        graph = self.graphs.get((job.type, job.provider))
        if graph is None:
            raise ProviderUnavailable(f"{job.provider} is not configured on this dispatcher")
        ctx = RunningJob(self.jobs, self.provider_keys, job, await self.jobs.checkpoints(job.id),
                         self.settings.progress_writes_per_second)
        try:
            request = REQUEST_MODELS[job.type].model_validate(job.input)
            if "inputs" in ctx.checkpoints:
                inputs = {k: MediaRef.model_validate(v) for k, v in ctx.checkpoints["inputs"].items()}
            else:
                await ctx.progress(0.0, "fetching inputs")
                inputs = await ingest_all(job.input, job.owner_id, job.id, self.storage, self.settings)
                await ctx.checkpoint("inputs", {k: v.model_dump(mode="json") for k, v in inputs.items()})
            result = await graph.run(request, inputs, ctx)
        finally:
            ctx.close()
        return to_jsonable_python({"provider": job.provider, **result})

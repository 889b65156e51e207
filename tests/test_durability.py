"""A runner killed mid-job: the job is taken over after its lease and still completes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import Owner, Service, wait_for

DISPATCHER = "ServeReplica:reelserve:Dispatcher"


def actor_pid(class_name: str) -> int:
    """The process of this session's live actor of `class_name` (Ray's own record of it)."""
    from ray.util.state import list_actors

    found = list_actors(filters=[("class_name", "=", class_name), ("state", "=", "ALIVE")])
    assert found, f"no live {class_name}"
    return found[0].pid


def dispatcher_pids(service: Service) -> list[int]:
    """Our dispatcher replicas: named by Ray's process title, told apart by their REDIS_URL."""
    found = subprocess.run(["pgrep", "-f", DISPATCHER], capture_output=True, text=True)
    ours = f"REDIS_URL={service.redis_url}".encode()
    pids = []
    for pid in map(int, found.stdout.split()):
        try:
            if ours in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                pids.append(pid)
        except OSError:
            continue
    return pids


def test_sigkilled_runner_loses_nothing_and_the_job_completes(
    alice: Owner, service: Service, media
) -> None:
    with open(media / "long.mp4", "rb") as file:
        url = alice.api.post("/v1/uploads", files={"file": ("long.mp4", file)}).json()["url"]
    job_id = alice.api.post("/v1/video/analyze",
                            json={"video_url": url, "tasks": ["transcribe"]}).json()["id"]
    deadline = time.monotonic() + 60
    while not (alice.api.get(f"/v1/video/{job_id}").json()["stage"] or "").startswith("transcribe"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pids = dispatcher_pids(service)
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGKILL)
    pid = pids[0]
    killed_at = alice.api.get(f"/v1/video/{job_id}").json()
    assert killed_at["status"] == "processing", killed_at

    job = wait_for(alice, job_id, timeout=240)
    assert job["status"] == "completed", job
    assert job["attempts"] == 2, "a second runner took the job over"
    text = job["result"]["transcript"]["text"].lower()
    assert text.count("weekly report") == 3 and text.count("castle") == 3, text
    assert dispatcher_pids(service) not in ([], [pid]), "Serve replaced the replica"


def test_a_job_lost_on_its_last_attempt_fails_with_worker_lost(
    alice: Owner, service: Service, media_host
) -> None:
    """A runner that took the job on its last allowed attempt and died: the job is processing,
    and its queue entry is held by a consumer that never renews its lease."""
    from reelcore.schemas import JobStatus, JobType
    from serve_app.clock import utcnow
    from serve_app.jobs import JobRecord

    now = utcnow()
    job = JobRecord(
        id="vj_01J0000000000000000000LOST", type=JobType.analyze, status=JobStatus.processing,
        provider="reelserve", created_at=now, updated_at=now, started_at=now, owner_id="alice",
        attempts=3, input={"video_url": media_host.url("/sentence.mp4"), "tasks": ["transcribe"]},
    )
    redis = service.redis()
    queue = "reelserve:queue:alice"
    with redis.pipeline(transaction=True) as pipe:  # the ghost claims it before anyone else can
        pipe.hset(f"reelserve:job:{job.id}", mapping=job.fields())
        pipe.xgroup_create(queue, "dispatchers", id="0", mkstream=True)
        pipe.xadd(queue, {"job_id": job.id, "type": "analyze"})
        pipe.sadd("reelserve:queue-owners", "alice")
        pipe.xreadgroup("dispatchers", "ghost-runner", {queue: ">"}, count=1)
        *_, claimed = pipe.execute(raise_on_error=False)
    assert claimed[0][1][0][1] == {"job_id": job.id, "type": "analyze"}

    lost = wait_for(alice, job.id, timeout=60)
    assert lost["status"] == "failed"
    assert lost["error"]["code"] == "worker_lost"
    assert lost["attempts"] == 3
    assert redis.xpending(queue, "dispatchers")["pending"] == 0, "entry acknowledged"


def test_killed_ingress_and_proxy_during_an_sdk_burst_lose_and_duplicate_nothing(
    make_owner, service: Service, media_host
) -> None:
    """SIGKILL of the Ingress replica, then of the HTTP proxy, while the SDK submits: every
    submission ends with one job (retries reuse its Idempotency-Key), and every job completes."""
    from concurrent.futures import ThreadPoolExecutor

    from reelserve import Client

    owner = make_owner("burst")
    sdk = Client(service.base_url, owner.api_key, timeout=30, max_retries=12, backoff_seconds=0.5)
    body = {"video_url": media_host.url("/sentence.mp4"), "tasks": ["transcribe"]}

    def submit(n: int) -> str:
        return sdk.analyze(idempotency_key=f"burst-{n}", **body).id

    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(submit, range(8)))
        for start, actor in ((8, "ServeReplica:reelserve:Ingress"), (16, "ProxyActor")):
            later = pool.map(submit, range(start, start + 8))
            os.kill(actor_pid(actor), signal.SIGKILL)
            first += list(later)
    assert len(first) == len(set(first)) == 24, "one job per submission"
    listed = {j.id for j in sdk.list_jobs(limit=100).data}
    assert listed == set(first), "no job made twice, none lost"
    for job_id in first:
        assert wait_for(owner, job_id, timeout=300)["status"] == "completed"

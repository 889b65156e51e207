"""reelserve client SDK: one method per operation, `wait_for_job`, and a webhook verifier.

    from reelserve import Client
    client = Client("http://127.0.0.1:8000", api_key="rs_...")
    job = client.analyze(client.upload("talk.mp4").url, tasks=["transcribe"])
    done = client.wait_for_job(job.id, timeout=300)
    print(done.result["transcript"]["text"])

Installs without Ray: it needs only pydantic, httpx and standardwebhooks.
"""

from reelcore.errors import ReelserveError
from reelcore.schemas import JobStatus, JobType, VideoJob
from reelserve.client import Client, JobTimeout
from reelserve.webhooks import verify_webhook

__all__ = [
    "Client",
    "JobStatus",
    "JobTimeout",
    "JobType",
    "ReelserveError",
    "VideoJob",
    "verify_webhook",
]

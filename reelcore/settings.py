"""Service settings, read from the environment (`REELSERVE_*`, plus `REDIS_URL`).

Every replica reads its own copy at start, so the same values must reach every node: the
launcher exports them before `ray start`, or a Serve config sets them in `runtime_env.env_vars`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SIGNING_SECRET = "dev-only-signing-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELSERVE_", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development", description="`production` refuses development defaults for secrets."
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6390/0",
        validation_alias=AliasChoices("REELSERVE_REDIS_URL", "REDIS_URL"),
        description="Where jobs, queues, API keys and events live.",
    )
    key_prefix: str = Field("reelserve", description="Prefix of every Redis key the service owns.")
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="Base of URLs handed to callers (signed file links)."
    )
    signing_secret: SecretStr = Field(
        SecretStr(DEV_SIGNING_SECRET), description="HMAC key for signed file URLs."
    )
    provider_key_secret: SecretStr | None = Field(
        None, description="Encrypts owners' own vendor keys (BYOK) at rest. Unset: derived from "
                          "signing_secret, so rotating that makes the stored keys unreadable; set "
                          "it apart in production to rotate the two independently.")

    def provider_key_material(self) -> bytes:
        """The secret BYOK keys are encrypted with (see `provider_key_secret`)."""
        return (self.provider_key_secret or self.signing_secret).get_secret_value().encode()

    storage_backend: Literal["local", "s3"] = Field("local", description="Where media is kept.")
    storage_dir: Path = Field(
        Path(".reelserve/storage"),
        description="Local backend root; must be shared by all nodes (or use s3).",
    )
    s3_bucket: str | None = Field(None, description="Bucket for the s3 backend.")
    s3_prefix: str = Field("reelserve/", description="Key prefix inside the bucket.")
    s3_endpoint_url: str | None = Field(None, description="Custom S3 endpoint (MinIO, tests).")
    s3_region: str = Field("us-east-1", description="Region of the bucket.")
    file_url_ttl_seconds: int = Field(24 * 3600, gt=0, description="Lifetime of signed URLs.")

    upload_max_bytes: int = Field(2 * 1024**3, gt=0, description="Largest accepted upload.")
    fetch_max_bytes: int = Field(2 * 1024**3, gt=0, description="Largest input fetched by URL.")
    engine_idle_timeout_seconds: float = Field(
        900.0, gt=0, description="Longest an engine call may go without a progress report before "
                                 "it ends in provider_timeout (a hung replica).")
    engine_quick_timeout_seconds: float = Field(
        30.0, gt=0, description="Time limit of quick engine calls: status, supports, voice lists.")
    fetch_timeout_seconds: float = Field(120.0, gt=0, description="Whole-download time limit.")
    fetch_max_redirects: int = Field(5, ge=0, description="Redirects followed per fetch.")
    allow_private_urls: bool = Field(
        False, description="Let inputs and webhooks reach private, loopback and link-local hosts."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts (name or IP, optional :port) reachable even when private; for internal "
        "media servers and tests.",
    )
    max_video_pixels: int = Field(
        4096 * 4096, gt=0, description="Largest picture or video frame (width x height) accepted; "
        "larger ones (8K video, decompression-bomb images) fail with input_too_large before any "
        "decoding. Bounds decoding memory: one RGB frame is at most 3 bytes a pixel (48 MiB).")
    max_media_duration_seconds: float = Field(
        3 * 3600, gt=0, description="Longer inputs fail with input_too_large."
    )

    job_lease_seconds: float = Field(
        30.0, gt=0, description="A runner that stops renewing its lease this long loses the job."
    )
    job_max_attempts: int = Field(
        3, ge=1, description="Runs per job before it fails with worker_lost."
    )
    job_ttl_seconds: int = Field(30 * 24 * 3600, gt=0, description="How long finished jobs are kept.")
    progress_writes_per_second: float = Field(
        4.0, gt=0, description="Most progress writes per job per second (the last always lands).")
    runner_concurrency: int = Field(
        32, ge=1, description="Jobs one dispatcher replica runs at once, all owners together: a "
                              "job waiting for a busy engine only holds a coroutine.")
    max_running_jobs_per_owner: int = Field(
        8, ge=1, description="Jobs of one owner a dispatcher replica runs at once (fairness).")
    max_active_jobs_per_owner: int = Field(
        1000, ge=1, description="Unfinished (queued or running) jobs an owner may have; past it 429.")
    max_queued_jobs: int = Field(
        20_000, ge=1, description="Unfinished jobs of all owners together; past it 429.")
    submissions_per_minute: int = Field(
        600, ge=1, description="Submissions an owner may make per minute; past it 429.")
    job_timeout_seconds: float = Field(
        6 * 3600.0, gt=0, description="Longest one attempt of a job may run (provider_timeout)."
    )

    webhook_max_attempts: int = Field(6, ge=1, description="Deliveries tried per event.")
    webhook_backoff_seconds: float = Field(
        2.0, gt=0, description="First retry delay; doubles each attempt."
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="Per-attempt HTTP timeout.")

    collection_cache_vectors: int = Field(
        200_000, ge=0, description="Vectors each ingress replica keeps in memory for search, over all "
        "collections (about 1.5 KiB each at 384 dimensions); the least recently searched go first.")
    provider_status_ttl_seconds: float = Field(
        10.0, ge=0, description="How long the ingress caches engine availability."
    )

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            if self.signing_secret.get_secret_value() == DEV_SIGNING_SECRET:
                raise ValueError("set REELSERVE_SIGNING_SECRET in production")
            if self.storage_backend == "s3" and not self.s3_bucket:
                raise ValueError("set REELSERVE_S3_BUCKET for the s3 backend")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()

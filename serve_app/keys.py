"""Every Redis key, stream and channel the service uses, in one place."""

from __future__ import annotations

from dataclasses import dataclass

QUEUE_GROUP = "dispatchers"
WEBHOOK_GROUP = "webhook-senders"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Keys:
    prefix: str

    def job(self, job_id: str) -> str:
        """Hash of a job: `record` (JSON of the job record but its progress), `progress` and
        `stage`, so a progress report rewrites only those two fields."""
        return f"{self.prefix}:job:{job_id}"

    def checkpoints(self, job_id: str) -> str:
        """Hash stage -> JSON output of each stage an attempt finished; dropped when the job ends."""
        return f"{self.prefix}:job:{job_id}:checkpoints"

    def owner_jobs(self, owner_id: str) -> str:
        """Sorted set of an owner's job ids; all scores 0, so ids (ULIDs) order by time."""
        return f"{self.prefix}:owner:{owner_id}:jobs"

    def owner(self, owner_id: str) -> str:
        """Hash of an owner's settings: webhook_secret, created_at."""
        return f"{self.prefix}:owner:{owner_id}"

    def provider_keys(self, owner_id: str) -> str:
        """Hash provider -> the owner's own key for it, Fernet-encrypted (BYOK)."""
        return f"{self.prefix}:owner:{owner_id}:provider-keys"

    def api_key(self, key_hash: str) -> str:
        """Hash for one API key, addressed by its SHA-256: owner_id, name, created_at."""
        return f"{self.prefix}:apikey:{key_hash}"

    def idempotency(self, owner_id: str, key: str) -> str:
        """JSON {job_id, body_hash} for an Idempotency-Key, kept one day."""
        return f"{self.prefix}:idem:{owner_id}:{key}"

    def collection(self, collection_id: str) -> str:
        """JSON of a collection (public fields plus owner_id)."""
        return f"{self.prefix}:col:{collection_id}"

    def collection_items(self, collection_id: str) -> str:
        """List of JSON moments {job_id, start, end, text, kind}; item i goes with vector i."""
        return f"{self.prefix}:col:{collection_id}:items"

    def collection_vectors(self, collection_id: str) -> str:
        """Binary string: the collection's unit vectors, float32, row after row."""
        return f"{self.prefix}:col:{collection_id}:vectors"

    def owner_collections(self, owner_id: str) -> str:
        """Sorted set of an owner's collection ids (scores 0: ULIDs order by time)."""
        return f"{self.prefix}:owner:{owner_id}:collections"

    def events(self, job_id: str) -> str:
        """Pub/sub channel carrying the job after each status or progress change."""
        return f"{self.prefix}:events:{job_id}"

    def owner_queue(self, owner_id: str) -> str:
        """Stream of an owner's accepted jobs ({job_id, type}), consumed in QUEUE_GROUP; an entry
        is deleted once its job has run (see fair_queue.py)."""
        return f"{self.prefix}:queue:{owner_id}"

    def owner_of_queue(self, stream: str) -> str:
        return stream.removeprefix(f"{self.prefix}:queue:")

    @property
    def queue_owners(self) -> str:
        """Set of owners whose queue stream may hold jobs: what dispatchers read in turn."""
        return f"{self.prefix}:queue-owners"

    @property
    def active_jobs(self) -> str:
        """Hash owner -> jobs accepted and not yet finished ('*': all owners), for queue bounds."""
        return f"{self.prefix}:active-jobs"

    def submissions(self, owner_id: str, window: int) -> str:
        """Counter of an owner's submissions in one minute (`window` = epoch minute); expires."""
        return f"{self.prefix}:rate:{owner_id}:{window}"

    @property
    def webhooks(self) -> str:
        """Stream of webhook deliveries due, consumed in WEBHOOK_GROUP."""
        return f"{self.prefix}:webhooks"

    @property
    def stats(self) -> str:
        """Hash of counters behind /metrics, e.g. `created:analyze`, `completed:analyze`."""
        return f"{self.prefix}:stats"

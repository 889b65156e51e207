"""One error hierarchy for requests, jobs and the SDK.

Every class carries a stable `code` (the API's `error.code`) and the HTTP status it maps to.
The ingress turns any `ReelserveError` into `{"error": {"code", "message", "details"}}`; a job
that fails stores the same `{code, message}`; the SDK maps `code` back to the class and
re-raises it, so callers catch `NotFound` on both sides of the wire.

This module imports nothing beyond the standard library: the SDK installs without Ray.
"""

from __future__ import annotations

import math
from typing import Any


class ReelserveError(Exception):
    code = "internal_error"
    status = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the error response (`Retry-After` for "not now")."""
        wait = self.details.get("retry_after_seconds")
        return {"Retry-After": str(math.ceil(wait))} if wait is not None else {}


# --- request errors (answered synchronously, 4xx) -------------------------------------------


class InvalidRequest(ReelserveError):
    code, status = "invalid_request", 422


class Unauthorized(ReelserveError):
    code, status = "unauthorized", 401


class NotFound(ReelserveError):
    code, status = "not_found", 404


class IdempotencyConflict(ReelserveError):
    code, status = "idempotency_conflict", 409


class JobNotCancelable(ReelserveError):
    code, status = "job_not_cancelable", 409


class JobNotIndexable(ReelserveError):
    """A collection cannot take the named job: no job of yours by that id, not a completed analyze
    job, or no embeddings in its space. The body is well formed; the job's state is the conflict."""

    code, status = "job_not_indexable", 409


class PayloadTooLarge(ReelserveError):
    code, status = "payload_too_large", 413


class InvalidSignature(ReelserveError):
    code, status = "invalid_signature", 403


class ServiceUnavailable(ReelserveError):
    """A backing service (Redis) does not answer; retry later."""

    code, status = "service_unavailable", 503


class RateLimited(ReelserveError):
    """Too many submissions this minute for the caller's limit; `details` says when to retry."""

    code, status = "rate_limited", 429

    def headers(self) -> dict[str, str]:
        limit = self.details.get("limit")
        window = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": "0",
                  "RateLimit-Reset": str(math.ceil(self.details.get("retry_after_seconds", 0)))}
        return {**super().headers(), **(window if limit is not None else {})}


class QueueFull(ReelserveError):
    """The caller's (or the whole service's) queue of unfinished jobs is at its bound."""

    code, status = "queue_full", 429


# --- job errors (stored on a failed job; some also refuse a request at once) ----------------


class ProviderUnavailable(ReelserveError):
    """No engine can serve the request; refused at submission with 409, never left pending."""

    code, status = "provider_unavailable", 409


class InputUnreachable(ReelserveError):
    code, status = "input_unreachable", 422


class InputTooLarge(ReelserveError):
    code, status = "input_too_large", 413


class UnsupportedMedia(ReelserveError):
    code, status = "unsupported_media", 415


class NoSpeechDetected(ReelserveError):
    code, status = "no_speech_detected", 422


class NoFaceDetected(ReelserveError):
    code, status = "no_face_detected", 422


class VoiceNotFound(ReelserveError):
    code, status = "voice_not_found", 422


class ProviderError(ReelserveError):
    code, status = "provider_error", 502


class ProviderTimeout(ReelserveError):
    code, status = "provider_timeout", 504


class ProviderKeyRejected(ProviderError):
    """A commercial vendor refused the owner's own key (401/403): set a valid one."""

    code, status = "provider_key_rejected", 502


class ProviderQuotaExceeded(ProviderError):
    """The vendor account behind the owner's key has no credit or quota left (402)."""

    code, status = "provider_quota_exceeded", 502


class ProviderRateLimited(ProviderError):
    """The vendor kept answering 429 after our retries; retry the job later."""

    code, status = "provider_rate_limited", 502


class WorkerLost(ReelserveError):
    code, status = "worker_lost", 500


class Canceled(ReelserveError):
    code, status = "canceled", 409


class InternalError(ReelserveError):
    code, status = "internal_error", 500


def _all_subclasses(cls: type[ReelserveError]) -> list[type[ReelserveError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


ERRORS_BY_CODE: dict[str, type[ReelserveError]] = {
    cls.code: cls for cls in [ReelserveError, *_all_subclasses(ReelserveError)]
}
ERRORS_BY_CODE["internal_error"] = InternalError


def error_from_dict(body: dict[str, Any]) -> ReelserveError:
    """Rebuild the exception a server-side `to_dict()` described (used by the SDK)."""
    cls = ERRORS_BY_CODE.get(body.get("code", ""), ReelserveError)
    err = cls(body.get("message", ""), body.get("details"))
    if cls is ReelserveError:
        err.code = body.get("code", "internal_error")
    return err

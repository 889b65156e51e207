"""The one HTTP layer every commercial (bring-your-own-key) engine talks through.

A vendor engine holds a `Vendor` (its base URL, how its key travels, how its errors read) and
opens a `Session` per engine call with the owner's key. The session gives every adapter the
same behaviour:

- retries on 429, 5xx and dropped connections, waiting what `Retry-After` asks (seconds or an
  HTTP date), else doubling backoff;
- one total deadline for the whole call (requests, retries, polling): past it,
  `provider_timeout`, and the vendor's job is canceled where its API can;
- vendor answers mapped onto our stable codes, the vendor's status, code and message kept in
  `details`: 401/403 `provider_key_rejected`, 402 `provider_quota_exceeded`, 400/404/409/413/
  415/422 `invalid_request`, 429 after the retries `provider_rate_limited`, others
  `provider_error`;
- `poll` follows the vendor's status endpoint, reporting progress through `Call.report`; when
  our call is abandoned (the job was canceled) `report` raises, and the vendor's cancel is
  called before the error goes on;
- `download` fetches an output at once into the call's workdir (vendor links expire);
- the key goes only into the request's auth header: messages are scrubbed of it and
  transport errors are reported by type, unchained (some quote the request's headers).

    vendor = Vendor("Sync Labs", config, auth=lambda key: {"x-api-key": key}, key_name="sync-labs")
    with vendor.session(api_key) as http:
        job = http.json("POST", "/v2/generate", json=body)
        done = http.poll(lambda: http.json("GET", f"/v2/generate/{job['id']}"), read_state, call)
        http.download(done["outputUrl"], call.workdir / "out.mp4")
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field, SecretStr

from reelcore.capabilities.byok import VendorJob
from reelcore.capabilities.face import RenderedVideo
from reelcore.capabilities.generation import GeneratedVideo, GenerateInput, VideoShape
from reelcore.engine import Call, OutputFile
from reelcore.errors import (
    InvalidRequest,
    ProviderError,
    ProviderKeyRejected,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    ReelserveError,
)
from reelcore.media import MediaRef, probe
from reelcore.storage import get_storage

RETRIED = frozenset({429, 500, 502, 503, 504})
INVALID = frozenset({400, 404, 409, 413, 415, 422})


class VendorConfig(BaseModel):
    """How one vendor is reached; every adapter's config includes these."""

    base_url: str = Field(..., description="The vendor API's root (a compatible server's, or a test's).")
    request_timeout_s: float = Field(30, gt=0, description="One HTTP request's limit.")
    deadline_s: float = Field(3600, gt=0, description="A whole engine call's limit, polling included.")
    poll_interval_s: float = Field(5, gt=0, description="Time between two status checks.")
    max_retries: int = Field(4, ge=0, description="Retries of a request answered 429/5xx or dropped.")
    backoff_s: float = Field(1, ge=0, description="First wait between retries without Retry-After; doubles.")
    input_url_ttl_s: int = Field(6 * 3600, gt=0, description="Life of the signed input links vendors fetch.")


@dataclass
class State:
    """A vendor job's state as read from one status answer."""

    phase: Literal["running", "done", "failed"]
    progress: float | None = None
    """The vendor's own fraction done, when it gives one."""
    message: str | None = None
    """Why it failed, in the vendor's words."""
    code: str | None = None
    """The vendor's machine-readable failure code, when it gives one."""


def problem(response: httpx.Response) -> tuple[str | None, str]:
    """(vendor error code, message) from the usual JSON error shapes: `{"error": "..."}`,
    `{"error": {"code", "message"}}`, `{"detail": ...}`, `{"message", "code"}`."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:300] or response.reason_phrase
    if not isinstance(body, dict):
        return None, str(body)[:300]
    inner = body.get("error") if isinstance(body.get("error"), dict) else \
        body.get("detail") if isinstance(body.get("detail"), dict) else body
    code = inner.get("code") or inner.get("status") or inner.get("type") or body.get("failureCode")
    message = inner.get("message") or body.get("error") or body.get("detail") or body.get("message")
    if isinstance(message, list):  # FastAPI-style field errors
        message = "; ".join(str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in message)
    return (str(code) if code else None), str(message or response.reason_phrase)


class Vendor:
    def __init__(self, name: str, config: VendorConfig, auth: Callable[[str], dict[str, str]],
                 key_name: str, headers: dict[str, str] | None = None,
                 read_problem: Callable[[httpx.Response], tuple[str | None, str]] = problem) -> None:
        self.name, self.config, self.auth, self.key_name = name, config, auth, key_name
        self.headers = headers or {}
        self.read_problem = read_problem

    def session(self, api_key: str) -> Session:
        return Session(self, api_key)


class Session:
    """One engine call's requests: one key, one deadline, one connection pool."""

    def __init__(self, vendor: Vendor, api_key: str) -> None:
        self.vendor, self.api_key = vendor, api_key
        self.deadline = time.monotonic() + vendor.config.deadline_s
        self.client = httpx.Client(base_url=vendor.config.base_url.rstrip("/"),
                                   headers=vendor.headers, follow_redirects=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def timeout(self, doing: str) -> ProviderTimeout:
        return ProviderTimeout(f"{self.vendor.name} did not finish {doing} within "
                               f"{self.vendor.config.deadline_s:g} s",
                               {"provider": self.vendor.key_name})

    def request(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        """`method path` with retries inside the deadline; a non-2xx answer raises our error."""
        config = self.vendor.config
        headers = {**kwargs.pop("headers", {}), **(self.vendor.auth(self.api_key) if auth else {})}
        for attempt in range(config.max_retries + 1):
            if self.left() <= 0:
                raise self.timeout(f"{method} {path}")
            try:
                response = self.client.request(method, path, headers=headers,
                                               timeout=min(config.request_timeout_s, self.left()), **kwargs)
            except httpx.TimeoutException:
                if attempt == config.max_retries or self.left() <= 0:
                    raise self.timeout(f"{method} {path}") from None
                wait = config.backoff_s * 2 ** attempt
            except httpx.TransportError as exc:  # by type, unchained: its text may quote headers
                if attempt == config.max_retries:
                    raise ProviderError(f"could not reach {self.vendor.name} ({type(exc).__name__})",
                                        {"provider": self.vendor.key_name}) from None
                wait = config.backoff_s * 2 ** attempt
            else:
                if response.is_success:
                    return response
                if response.status_code not in RETRIED or attempt == config.max_retries:
                    raise self.error(response)
                wait = retry_after(response) or config.backoff_s * 2 ** attempt
            if wait >= self.left():
                raise self.timeout(f"{method} {path} (it asked to retry after {wait:g} s)")
            time.sleep(wait)
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def error(self, response: httpx.Response) -> ReelserveError:
        """Our error for a vendor's non-2xx answer, its own words in the message and details."""
        code, message = self.vendor.read_problem(response)
        message = message.replace(self.api_key, "***") if self.api_key else message
        status, name = response.status_code, self.vendor.name
        said = f"{status}{f' {code}' if code else ''}: {message}"
        details = {"provider": self.vendor.key_name, "vendor_status": status,
                   "vendor_code": code, "vendor_message": message}
        if status in (401, 403):
            return ProviderKeyRejected(
                f"{name} refused your API key ({said}); check it and set it again with "
                f"PUT /v1/account/provider-keys/{self.vendor.key_name}", details)
        if status == 402:
            return ProviderQuotaExceeded(f"{name} says your account is out of credit ({said})", details)
        if status in INVALID:
            return InvalidRequest(f"{name} refused the request ({said})", details)
        if status == 429:
            return ProviderRateLimited(f"{name} kept rate-limiting the request ({said}); retry later",
                                       details)
        return ProviderError(f"{name} failed ({said})", details)

    def poll(self, fetch: Callable[[], Any], read: Callable[[Any], State], call: Call,
             cancel: Callable[[], object] | None = None, span: tuple[float, float] = (0.05, 0.9),
             job_id: str | None = None) -> Any:
        """Fetch the vendor job's status until it is done (its last answer returned) or failed
        (raised, the vendor's `job_id`, code and message in the details), reporting progress into
        `span`; cancel upstream when our call is abandoned or the deadline passes."""
        low, high = span
        shown = low
        while True:
            answer = fetch()
            state = read(answer)
            if state.phase == "done":
                return answer
            if state.phase == "failed":
                details = {"provider": self.vendor.key_name, "vendor_job_id": job_id,
                           "vendor_code": state.code, "vendor_message": state.message}
                raise ProviderError(f"{self.vendor.name} failed the job: {state.message or 'no reason given'}"
                                    f"{f' ({state.code})' if state.code else ''}",
                                    {k: v for k, v in details.items() if v is not None})
            # Without the vendor's own fraction, creep a third of the way left at each check.
            fraction = low + (high - low) * state.progress if state.progress is not None \
                else shown + (high - shown) / 3
            shown = max(shown, min(fraction, high))
            try:
                call.report(shown)
            except Exception:
                self.cancel_quietly(cancel)
                raise
            if self.left() <= self.vendor.config.poll_interval_s:
                self.cancel_quietly(cancel)
                raise self.timeout("the job")
            time.sleep(self.vendor.config.poll_interval_s)

    def cancel_quietly(self, cancel: Callable[[], object] | None) -> None:
        """Ask the vendor to stop its job; our call is ending either way, so its failure is moot."""
        if cancel is None:
            return
        self.deadline = max(self.deadline, time.monotonic() + self.vendor.config.request_timeout_s)
        try:
            cancel()
        except ReelserveError:
            pass

    def download(self, url: str, out: Path, auth: bool = False) -> Path:
        """The output at `url` (a vendor link, often signed and short-lived; or an API path with
        `auth`) saved to `out`."""
        headers = self.vendor.auth(self.api_key) if auth else {}
        with self.client.stream("GET", url, headers=headers, timeout=min(
                self.vendor.config.request_timeout_s, max(self.left(), 1))) as response:
            if not response.is_success:
                response.read()
                raise ProviderError(f"{self.vendor.name}'s output link answered {response.status_code} "
                                    "(it may have expired before it was fetched)",
                                    {"provider": self.vendor.key_name, "vendor_status": response.status_code})
            with open(out, "wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
        return out


def retry_after(response: httpx.Response) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds (it may be a number or a date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(email.utils.parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def rendered_video(path: Path, method: str, job: VendorJob) -> RenderedVideo:
    """A face engine's result from a vendor's downloaded video; the vendor's job rides in `render`."""
    media = probe(path)
    return RenderedVideo(video=OutputFile(path=path, content_type="video/mp4"),
                         duration_seconds=media.duration_seconds or 0.0, width=media.width or 0,
                         height=media.height or 0, fps=media.fps or 0.0,
                         render={"method": method, "vendor": job.model_dump()})


def generated_video(path: Path, model: str, request: GenerateInput, seed: int | None, job: VendorJob,
                    **render: Any) -> GeneratedVideo:
    """A generation engine's result from a vendor's downloaded video, as decoded (the vendor
    picks its own frame rate); `render` says how the request was fitted to the vendor's menu."""
    media = probe(path)
    if not media.has_video or not media.duration_seconds:
        raise ProviderError("the vendor's output is not a playable video", {"provider": job.provider})
    fps = media.fps or 0.0
    return GeneratedVideo(
        video=OutputFile(path=path, content_type="video/mp4"), width=media.width or 0,
        height=media.height or 0, fps=fps, frames=round(media.duration_seconds * fps),
        duration_seconds=media.duration_seconds, seed=seed, model=model, vendor=job,
        render={"mode": "image-to-video" if request.image else "text-to-video", **render,
                "asked": request.model_dump(include=set(VideoShape.model_fields))})


def nearest_size(width: int, height: int, sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """Of the sizes a vendor renders, the one closest in shape (aspect ratio), then in area."""
    return min(sizes, key=lambda s: (round(abs(math.log(s[0] / s[1] * height / width)), 3),
                                     abs(math.log(s[0] * s[1] / (width * height)))))


def covering_seconds(duration: float, allowed: list[int], vendor: str) -> int:
    """The shortest duration a vendor renders that lasts at least `duration` seconds;
    ProviderUnavailable, naming the longest, when none does."""
    fits = [s for s in sorted(allowed) if s >= duration - 1e-6]
    if not fits:
        raise ProviderUnavailable(f"{vendor} renders at most {max(allowed)} s in one task; "
                                  f"{duration:g} s was asked", {"max_seconds": max(allowed)})
    return fits[0]


def input_url(media: MediaRef, config: VendorConfig) -> str:
    """A signed link to a stored input that the vendor fetches itself (the public base URL,
    or S3, must be reachable from the vendor)."""
    return get_storage().signed_url(media.key, config.input_url_ttl_s)


def owner_key(api_key: SecretStr | None, vendor: str) -> str:
    """The owner's key the graph handed over; a pipeline configured without one cannot call."""
    if api_key is None:
        raise ProviderUnavailable(f"{vendor} needs the owner's own key: set `key: {vendor}` on "
                                  "its pipeline in the config")
    return api_key.get_secret_value()

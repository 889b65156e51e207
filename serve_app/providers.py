"""Which provider serves a request: availability from the engines themselves, `auto` resolved.

A provider is available for a request when a pipeline is configured for it and every engine
the request needs reports itself loaded. Requests nobody can serve are refused at submission
with `provider_unavailable` (409), naming each candidate's reason; never queued to hang.
"""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel

from reelcore.engine import EngineStatus, alternatives
from reelcore.engine_client import EngineClient, first_supporting
from reelcore.errors import ProviderUnavailable
from reelcore.imports import import_string
from reelcore.schemas import (
    BYOK_PROVIDERS,
    EMBEDDED_PROVIDERS,
    PROVIDERS,
    JobType,
    ProviderInfo,
)
from serve_app.config import PipelineSpec


class ProviderRegistry:
    def __init__(
        self,
        pipelines: dict[JobType, dict[str, PipelineSpec]],
        engines: dict[str, EngineClient],
        ttl_seconds: float,
        auto_order: dict[JobType, list[str]] | None = None,
    ) -> None:
        self.pipelines = pipelines
        self.auto_order = auto_order or {}
        self.engines = engines
        self.ttl_seconds = ttl_seconds
        self._cache: tuple[float, dict[str, EngineStatus]] | None = None
        self._known: dict[str, EngineStatus] = {}

    async def _engine_status(self) -> dict[str, EngineStatus]:
        if self._cache and time.monotonic() - self._cache[0] < self.ttl_seconds:
            return self._cache[1]
        names = list(self.engines)
        found = await asyncio.gather(*(self.engines[n].status() for n in names))
        status = {}
        for name, said in zip(names, found, strict=True):
            if said.answered:
                self._known[name] = said
            # One too busy (or briefly away) to answer is taken at its last word: a busy engine
            # is no reason to refuse work. One never heard from is unavailable, and asked again.
            status[name] = said if said.answered else self._known.get(name, said)
        if all(s.answered for s in status.values()):
            self._cache = (time.monotonic(), status)
        return status

    async def engines_offering(self, method: str) -> list[EngineClient]:
        """Available engines that have `method` (e.g. every TTS engine for `voices`)."""
        status = await self._engine_status()
        return [self.engines[name] for name, s in status.items() if s.available and method in s.methods]

    def _unconfigured(self, provider: str) -> str:
        if provider in BYOK_PROVIDERS:
            return f"{provider} (bring your own key) has no adapter configured in this deployment"
        return f"no engine is configured for {provider!r} in this deployment"

    async def reason_unavailable(
        self, job_type: JobType, provider: str, request: BaseModel | None = None,
        owner_keys: set[str] | frozenset[str] = frozenset(),
    ) -> str | None:
        """Why `provider` cannot serve `request` (any request, when None) for an owner holding
        `owner_keys`; None if it can."""
        spec = self.pipelines.get(job_type, {}).get(provider)
        if spec is None:
            return self._unconfigured(provider)
        graph = import_string(spec.graph)
        needed = {**graph.required_roles(request), **{
            role: why for role, why in graph.provider_roles(request).items() if role in spec.engines
        }} if request is not None else {role: f"role {role!r}" for role in spec.engines}
        status = await self._engine_status()
        for role, why in needed.items():
            engine = spec.engines.get(role)
            if engine is None:
                return (f"{why} needs a {role!r} engine ({graph.roles[role.split('/', 1)[0]]}); "
                        "none is configured")
            if not status[engine].available:
                return f"engine {engine!r}: {status[engine].reason}"
        if request is not None:
            for role, check in graph.required_checks(request).items():
                names = [spec.engines[alternative] for alternative in alternatives(spec.engines, role)]
                try:  # any one of them will do
                    await first_supporting(
                        [self.engines[n] for n in names if status[n].available], check,
                        refusals=[f"engine {n!r}: {status[n].reason}" for n in names
                                  if not status[n].available])
                except ProviderUnavailable as exc:
                    return exc.message
            keys = {**({spec.key: f"provider {provider!r}"} if spec.key else {}),
                    **graph.required_keys(request)}
            for key, why in keys.items():
                if key not in owner_keys:
                    return (f"{why} needs your own {key} key: "
                            f"PUT /v1/account/provider-keys/{key}")
        return None

    async def choose(self, job_type: JobType, request: BaseModel, owner_keys: set[str]) -> str:
        """The requested provider; for `auto`, the first available one, trying first those whose
        named roles the request uses (a VLM pipeline for scenes, the plain one for a transcript)."""
        wanted = getattr(request, "provider", "auto")
        candidates = sorted(self.auto_candidates(job_type),
                            key=lambda p: self._has_idle_roles(job_type, p, request)) \
            if wanted == "auto" else (wanted,)
        reasons: dict[str, str] = {}
        for provider in candidates:
            reason = await self.reason_unavailable(job_type, provider, request, owner_keys)
            if reason is None:
                return provider
            reasons[provider] = reason
        # Name what stopped the configured providers (a language pair, a missing key...).
        configured = [f"{p}: {r}" for p, r in reasons.items() if p in self.pipelines.get(job_type, {})]
        summary = reasons[wanted] if wanted != "auto" else (
            "; ".join(configured) or "no available provider can serve it")
        raise ProviderUnavailable(
            f"cannot {job_type.value} this request: {summary}", {"providers": reasons}
        )

    def auto_candidates(self, job_type: JobType) -> list[str]:
        """The providers `auto` tries: the configured order first, then the rest as listed."""
        first = self.auto_order.get(job_type, [])
        return first + [p for p in PROVIDERS[job_type] if p not in first]

    def _has_idle_roles(self, job_type: JobType, provider: str, request: BaseModel) -> bool:
        """Whether the provider's pipeline has a named role this request would not use (a VLM for
        a transcript): `auto` tries such providers after those that fit the request."""
        spec = self.pipelines.get(job_type, {}).get(provider)
        if spec is None:
            return False
        graph = import_string(spec.graph)
        return bool(graph.named_roles & set(spec.engines) - set(graph.provider_roles(request)))

    async def list(self, owner_keys: set[str] | None = None) -> list[ProviderInfo]:
        """Every provider; with `owner_keys` (a caller's view) a BYOK one whose key the owner
        has not set is unavailable, saying so."""
        rows = []
        for job_type, names in PROVIDERS.items():
            for name in names:
                reason = await self.reason_unavailable(job_type, name)
                spec = self.pipelines.get(job_type, {}).get(name)
                key = spec.key if spec else None
                needs = f"your own {key} key: PUT /v1/account/provider-keys/{key}" if key else None
                if reason is None and needs and owner_keys is not None and key not in owner_keys:
                    reason = f"needs {needs}"
                kind = (
                    "byok" if name in BYOK_PROVIDERS
                    else "embedded" if name in EMBEDDED_PROVIDERS else "self-hosted"
                )
                rows.append(ProviderInfo(
                    name=name, operation=job_type, available=reason is None, reason=reason,
                    deployment=", ".join(sorted(set(spec.engines.values()))) if spec else None,
                    kind=kind, needs=needs,
                ))
        return rows

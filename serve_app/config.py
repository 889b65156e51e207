"""The application's arguments, as written under `args:` in a Serve config YAML.

    engines:          # name -> engine class and its config; one Serve deployment each
      faster-whisper: {engine: deployments.faster_whisper:FasterWhisperEngine, config: {}}
    pipelines:        # operation -> provider -> graph and the engine filling each role
      analyze:
        reelserve: {graph: graphs.analyze:AnalyzeGraph, engines: {asr: faster-whisper}}

Resources, replicas and autoscaling of each deployment are set in the YAML's `deployments:`
list by deployment name (the engine's name), not here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from reelcore.imports import import_string
from reelcore.schemas import BYOK_PROVIDERS, PROVIDERS, JobType


class EngineSpec(BaseModel):
    engine: str = Field(..., description="Import path of the Engine class, module:Class.")
    config: dict[str, Any] = Field(default_factory=dict, description="The engine's Config.")
    concurrency: int = Field(1, ge=1, description="Engine calls one replica runs at once.")


class PipelineSpec(BaseModel):
    graph: str = Field(..., description="Import path of the Graph class, module:Class.")
    engines: dict[str, str] = Field(default_factory=dict, description="Role -> engine name.")
    key: str | None = Field(None, description="The BYOK provider whose key (the owner's own) this "
                                              "pipeline's vendor engine is called with, e.g. heygen.")


class AppArgs(BaseModel):
    engines: dict[str, EngineSpec] = Field(default_factory=dict)
    pipelines: dict[JobType, dict[str, PipelineSpec]] = Field(default_factory=dict)
    auto_order: dict[JobType, list[str]] = Field(
        default_factory=dict, description="Providers `auto` tries first, in this order, per "
        "operation (the rest follow in their listed order). A BYOK one is taken only for owners "
        "holding its key.")

    @model_validator(mode="after")
    def _references_resolve(self) -> AppArgs:
        for job_type, providers in self.pipelines.items():
            for provider, spec in providers.items():
                if provider not in PROVIDERS[job_type]:
                    raise ValueError(f"{provider!r} is not a {job_type.value} provider")
                roles = import_string(spec.graph).roles
                for role, engine in spec.engines.items():
                    # "role/<provider>": the engine for one named provider of that role
                    if role.split("/", 1)[0] not in roles:
                        raise ValueError(f"{spec.graph} has no role {role!r}")
                    if engine not in self.engines:
                        raise ValueError(f"{job_type.value}/{provider} uses unknown engine {engine!r}")
                if spec.key is not None and spec.key not in BYOK_PROVIDERS:
                    raise ValueError(f"{job_type.value}/{provider}: {spec.key!r} is not a BYOK provider")
        for job_type, order in self.auto_order.items():
            if unknown := set(order) - set(PROVIDERS[job_type]):
                raise ValueError(f"auto_order.{job_type.value} names unknown providers {sorted(unknown)}")
        return self

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
from reelcore.schemas import PROVIDERS, JobType


class EngineSpec(BaseModel):
    engine: str = Field(..., description="Import path of the Engine class, module:Class.")
    config: dict[str, Any] = Field(default_factory=dict, description="The engine's Config.")
    concurrency: int = Field(1, ge=1, description="Engine calls one replica runs at once.")


class PipelineSpec(BaseModel):
    graph: str = Field(..., description="Import path of the Graph class, module:Class.")
    engines: dict[str, str] = Field(default_factory=dict, description="Role -> engine name.")


class AppArgs(BaseModel):
    engines: dict[str, EngineSpec] = Field(default_factory=dict)
    pipelines: dict[JobType, dict[str, PipelineSpec]] = Field(default_factory=dict)

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
        return self

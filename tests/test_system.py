"""Providers, health, metrics, the OpenAPI document, and the Serve configs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from reelcore.schemas import PROVIDERS
from serve_app.config import AppArgs
from tests.conftest import ROOT, Owner, Service


def test_providers_list_every_engine_with_availability_and_reason(alice: Owner) -> None:
    rows = alice.api.get("/v1/providers").json()["data"]
    listed = {(r["operation"], r["name"]) for r in rows}
    assert listed == {(t.value, p) for t, names in PROVIDERS.items() for p in names}
    by_name = {(r["operation"], r["name"]): r for r in rows}
    ours = by_name[("analyze", "reelserve")]
    assert ours["available"] and ours["reason"] is None
    assert ours["deployment"] == "passage-qa, scene-detect, sentence-embed, whisper-base"
    assert ours["kind"] == "embedded"
    available = {(r["operation"], r["name"]) for r in rows if r["available"]}
    # the test app adds two predictor engines, a tiny Qwen2.5-VL and a tiny LTX-Video pipeline
    # (conftest) to local.yaml's engines
    assert available == {("analyze", "reelserve"), ("analyze", "qwen2.5-vl"), ("lipsync", "video-retalking"),
                         ("avatar", "v-express"), ("lipsync", "facemesh-lipsync"),
                         ("avatar", "facemesh-avatar"), ("dub", "reelserve"),
                         ("generate", "ltx-video")}
    assert all(r["reason"] for r in rows if not r["available"])
    assert by_name[("lipsync", "sync-labs")]["kind"] == "byok"
    assert by_name[("avatar", "hallo3")]["kind"] == "self-hosted"


def test_healthz_and_metrics(service: Service, alice: Owner) -> None:
    assert httpx.get(f"{service.base_url}/healthz").json() == {"status": "ok"}
    alice.api.post("/v1/video/analyze", json={"video_url": "https://x.example.com/a.mp4",
                                              "tasks": ["transcribe"]})
    text = httpx.get(f"{service.base_url}/metrics").text
    assert 'reelserve_jobs_total{event="created",type="analyze"}' in text
    assert 'reelserve_provider_available{operation="analyze",provider="reelserve"} 1.0' in text
    assert 'reelserve_provider_available{operation="generate",provider="cogvideox"} 0.0' in text
    assert "reelserve_queue_length" in text


def test_openapi_documents_every_operation(service: Service) -> None:
    spec = httpx.get(f"{service.base_url}/openapi.json").json()
    operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"generate", "avatar", "lipsync", "dub", "analyze", "get_job", "list_jobs",
            "cancel_job", "job_events", "upload", "list_providers"} <= operations
    generate = spec["components"]["schemas"]["GenerateRequest"]["properties"]
    assert generate["width"]["minimum"] == 256 and generate["width"]["maximum"] == 1920
    assert spec["paths"]["/v1/video/analyze"]["post"]["responses"].keys() >= {"202", "409", "422"}


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_serve_config_is_valid(path: Path) -> None:
    from ray.serve.schema import ServeDeploySchema

    from reelcore.imports import import_string

    config = ServeDeploySchema.model_validate(yaml.safe_load(path.read_text()))
    for app in config.applications:
        args = AppArgs.model_validate(app.args)
        named = {d.name for d in app.deployments}
        assert named >= {"Ingress", "Dispatcher", *args.engines}, "resources set for each"
        for spec in args.engines.values():
            import_string(spec.engine)(**spec.config)  # its own Config accepts it; nothing loads


def test_app_args_reject_dangling_references() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        AppArgs.model_validate({"pipelines": {"analyze": {"reelserve": {
            "graph": "graphs.analyze:AnalyzeGraph", "engines": {"asr": "nope"}}}}})
    with pytest.raises(ValueError, match="not a analyze provider"):
        AppArgs.model_validate({"pipelines": {"analyze": {"sora": {
            "graph": "graphs.analyze:AnalyzeGraph"}}}})
    with pytest.raises(ValueError, match="no role"):
        AppArgs.model_validate({"engines": {"w": {"engine": "x:y"}}, "pipelines": {"analyze": {
            "reelserve": {"graph": "graphs.analyze:AnalyzeGraph", "engines": {"tts": "w"}}}}})


def test_cluster_launcher_config_matches_rays_schema() -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(yaml.safe_load((ROOT / "cluster.yaml").read_text()))
    validate_config(config)
    assert config["head_node_type"] in config["available_node_types"]

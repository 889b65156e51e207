"""The Kubernetes manifest and the worker image, checked against the files they must not drift from.

Fast and in process: nothing starts (no Ray, no Redis, no Kubernetes). The worker groups are read
by Ray's own KubeRay autoscaler code, as the autoscaler reads them in the cluster, so a deployment
that no group could ever host fails here instead of waiting forever as infeasible.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from reelcore.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "deploy" / "kuberay" / "rayservice.yaml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
SERVE_CONFIG = ROOT / "configs" / "gpu.yaml"
CLUSTER = ROOT / "cluster.yaml"


class Machine(NamedTuple):
    cpus: int
    memory_gib: int
    gpus: int
    gpu_model: str | None


# AWS's published sizes of the instance types cluster.yaml names.
MACHINES = {
    "m6i.2xlarge": Machine(8, 32, 0, None),
    "g6.2xlarge": Machine(8, 32, 1, "L4"),
    "p5.48xlarge": Machine(192, 2048, 8, "H100"),
}
# A pod may leave this much of its machine to the kubelet and the daemon sets, no more.
HEADROOM = 0.15


def manifest() -> dict[str, dict[str, Any]]:
    """The manifest's objects by kind (one of each)."""
    objects = [o for o in yaml.safe_load_all(MANIFEST.read_text()) if o]
    by_kind = {o["kind"]: o for o in objects}
    assert len(by_kind) == len(objects), "one object of each kind"
    return by_kind


def cluster_spec() -> dict[str, Any]:
    return manifest()["RayService"]["spec"]["rayClusterConfig"]


def ray_containers() -> list[dict[str, Any]]:
    """The Ray container of the head and of each worker group (KubeRay's first container)."""
    spec = cluster_spec()
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    return [g["template"]["spec"]["containers"][0] for g in groups]


def serve_app() -> dict[str, Any]:
    (app,) = yaml.safe_load(SERVE_CONFIG.read_text())["applications"]
    return app


def gib(quantity: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(Gi|Mi)", quantity).groups()
    return float(number) / (1024 if unit == "Mi" else 1)


def test_serve_config_v2_is_gpu_yaml_verbatim() -> None:
    from ray.serve.schema import ServeDeploySchema

    text = manifest()["RayService"]["spec"]["serveConfigV2"]
    assert text == SERVE_CONFIG.read_text(), "run python deploy/kuberay/render.py"
    ServeDeploySchema.model_validate(yaml.safe_load(text))  # what KubeRay submits to Serve
    spec = importlib.util.spec_from_file_location("render", ROOT / "deploy" / "kuberay" / "render.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    assert render.main(["--check"]) == 0


def test_worker_groups_are_cluster_yaml_node_types() -> None:
    cluster = yaml.safe_load(CLUSTER.read_text())
    node_types = dict(cluster["available_node_types"])
    head = node_types.pop(cluster["head_node_type"])
    spec = cluster_spec()
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert set(groups) == {name.replace("_", "-") for name in node_types}
    for name, node_type in node_types.items():
        group = groups[name.replace("_", "-")]
        assert (group["minReplicas"], group["maxReplicas"]) == (node_type["min_workers"],
                                                                node_type["max_workers"])
        assert_pod_is_machine(group["template"], node_type["node_config"]["InstanceType"])
    assert_pod_is_machine(spec["headGroupSpec"]["template"], head["node_config"]["InstanceType"])
    assert sum(g["maxReplicas"] for g in groups.values()) <= cluster["max_workers"]
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] == cluster["idle_timeout_minutes"] * 60
    assert spec["enableInTreeAutoscaling"] is True


def assert_pod_is_machine(template: dict[str, Any], instance_type: str) -> None:
    """The pod lands on that instance type and takes nearly all of it, GPUs whole."""
    machine = MACHINES[instance_type]
    assert template["spec"]["nodeSelector"]["node.kubernetes.io/instance-type"] == instance_type
    resources = template["spec"]["containers"][0]["resources"]
    limits = resources["limits"]
    assert resources["requests"] == limits, "Guaranteed QoS: Ray sizes itself from the limits"
    assert (1 - HEADROOM) * machine.cpus <= float(limits["cpu"]) <= machine.cpus
    assert (1 - HEADROOM) * machine.memory_gib <= gib(limits["memory"]) <= machine.memory_gib
    assert int(limits.get("nvidia.com/gpu", 0)) == machine.gpus


def autoscaler_node_types() -> dict[str, dict[str, Any]]:
    """The node types Ray's autoscaler derives from the RayService's cluster, as in the cluster."""
    from ray.autoscaler._private.kuberay.autoscaling_config import _derive_autoscaling_config_from_ray_cr

    ray_cr = {"metadata": {"name": "reelserve", "namespace": "reelserve"}, "spec": cluster_spec()}
    return _derive_autoscaling_config_from_ray_cr(ray_cr)["available_node_types"]


def test_autoscaler_sees_each_gpu_group_with_its_gpu_model() -> None:
    groups = {g["groupName"]: g for g in cluster_spec()["workerGroupSpecs"]}
    for name, node_type in autoscaler_node_types().items():
        if name == "headgroup":
            continue
        instance = groups[name]["template"]["spec"]["nodeSelector"]["node.kubernetes.io/instance-type"]
        machine = MACHINES[instance]
        assert node_type["resources"]["GPU"] == machine.gpus
        assert node_type["resources"][f"accelerator_type:{machine.gpu_model}"] == 1


def test_every_deployment_fits_some_node_type() -> None:
    node_types = autoscaler_node_types()
    for deployment in serve_app()["deployments"]:
        options = deployment.get("ray_actor_options", {})
        need = {"CPU": options.get("num_cpus", 1), "GPU": options.get("num_gpus", 0)}
        if "accelerator_type" in options:
            need[f"accelerator_type:{options['accelerator_type']}"] = 0.001
        hosts = [name for name, t in node_types.items()
                 if all(t["resources"].get(k, 0) >= v for k, v in need.items() if v)]
        assert hosts, f"{deployment['name']} ({need}) fits no node type: it would never start"


def test_secrets_come_from_a_secret_and_settings_from_a_config_map() -> None:
    objects = manifest()
    assert "Secret" not in objects, "secrets are created by the operator, never checked in"
    config_map = objects["ConfigMap"]["metadata"]["name"]
    containers = ray_containers()
    for container in containers:
        env = {e["name"]: e for e in container["env"]}
        assert all("valueFrom" in e for e in env.values()), "no literal values beside secrets"
        for name, key in [("REELSERVE_SIGNING_SECRET", "signing-secret"), ("REELSERVE_REDIS_URL", "redis-url"),
                          ("REELSERVE_PROVIDER_KEY_SECRET", "provider-key-secret")]:
            assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "reelserve-secrets", "key": key}
        assert container["envFrom"] == [{"configMapRef": {"name": config_map}}]
    one = containers[0]
    for container in containers[1:]:  # every node runs any replica: the same code and settings
        for field in ("image", "env", "envFrom", "volumeMounts"):
            assert container[field] == one[field], field


def settings_env_names() -> set[str]:
    prefix = Settings.model_config["env_prefix"]
    names = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names |= set(alias.choices) if alias is not None else {f"{prefix}{field_name}".upper()}
    return names


def test_every_variable_is_a_setting_and_production_accepts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**serve_app()["runtime_env"]["env_vars"], **manifest()["ConfigMap"]["data"]}
    env |= {e["name"]: "from-the-secret" for e in ray_containers()[0]["env"]}
    assert set(env) <= settings_env_names()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # refuses development secrets and an s3 backend without a bucket
    assert (settings.environment, settings.storage_backend) == ("production", "s3")


def test_redis_is_an_external_service() -> None:
    objects = manifest()
    assert not {"Deployment", "StatefulSet", "Pod"} & set(objects), "Redis does not run in the cluster"
    redis = objects["Service"]
    assert redis["spec"]["type"] == "ExternalName"
    gcs = cluster_spec()["gcsFaultToleranceOptions"]
    assert gcs["redisAddress"].split(":")[0] == redis["metadata"]["name"]
    assert gcs["redisPassword"]["valueFrom"]["secretKeyRef"]["name"] == "reelserve-secrets"


def test_every_path_gpu_yaml_names_is_mounted_or_in_the_image() -> None:
    paths = [value for engine in serve_app()["args"]["engines"].values()
             for value in engine.get("config", {}).values()
             if isinstance(value, str) and value.startswith("/opt/reelserve/")]
    assert paths
    mounts = [m["mountPath"] for m in ray_containers()[0]["volumeMounts"]]
    made = re.search(r"mkdir -p ([^&\\]+)", DOCKERFILE.read_text()).group(1).split()
    for path in paths:
        assert any(path.startswith(f"{root}/") or path == root for root in mounts + made), path


def pip_lines(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [line for line in joined.splitlines() if "pip install" in line and not line.lstrip().startswith("#")]


def pins(text: str, *, no_deps: bool) -> set[str]:
    return {pin for line in pip_lines(text) if ("--no-deps" in line) == no_deps
            for pin in re.findall(r"[\w.-]+==[\w.]+", line)}


def extras(text: str) -> set[str]:
    found = [m for line in pip_lines(text) for m in re.findall(r"\[([\w,]+)\]", line)]
    assert len(found) == 1, found
    return set(found[0].split(","))


def test_image_installs_what_scripts_setup_installs() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    image = DOCKERFILE.read_text()
    assert pins(setup, no_deps=False) <= pins(image, no_deps=False)
    assert pins(setup, no_deps=True) == pins(image, no_deps=True)
    assert extras(image) == extras(setup) - {"test"}
    assert "espeak-ng" in image


def test_image_is_rays_gpu_image_for_our_ray_and_python() -> None:
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["server"]
    (ray_version,) = [r.split("==")[1] for r in server if r.startswith("ray[")]
    assert f"FROM rayproject/ray:{ray_version}-py311-gpu\n" in DOCKERFILE.read_text()
    assert cluster_spec()["rayVersion"] == ray_version


def test_the_cluster_at_its_largest_holds_every_deployment_at_its_largest() -> None:
    """Every replica that autoscaling may ask for has a place when each group is at maxReplicas:
    otherwise, at peak, Serve waits forever on replicas the autoscaler cannot add. Placed as Ray
    places them (whole resources per replica), largest first, first node that has room."""
    node_types = autoscaler_node_types()
    nodes = [dict(t["resources"]) for t in node_types.values() for _ in range(t["max_workers"] or 1)]
    replicas = []
    for deployment in serve_app()["deployments"]:
        options = deployment.get("ray_actor_options", {})
        scaling = deployment.get("autoscaling_config", {})
        need = {"CPU": options.get("num_cpus", 1), "GPU": options.get("num_gpus", 0)}
        if "accelerator_type" in options:
            need[f"accelerator_type:{options['accelerator_type']}"] = 0.001
        count = scaling.get("max_replicas", deployment.get("num_replicas", 1))
        replicas += [(deployment["name"], need)] * count
    replicas.sort(key=lambda r: (r[1]["GPU"], r[1]["CPU"]), reverse=True)
    homeless = []
    for name, need in replicas:
        node = next((n for n in nodes if all(n.get(k, 0) >= v - 1e-9 for k, v in need.items() if v)), None)
        if node is None:
            homeless.append(name)
            continue
        for k, v in need.items():
            node[k] = node.get(k, 0) - v
    assert not homeless, f"no room at peak for replicas of {sorted(set(homeless))}"

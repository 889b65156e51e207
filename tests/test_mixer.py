"""The dub mixer on real espeak-ng speech over a hum-and-hiss background: the original voice goes
down, the background stays, the new voice goes on top."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from deployments.mixer import MixerEngine, duck_depth
from deployments.speech_fit import write_wav
from reelcore.capabilities.mixing import MixRequest
from reelcore.engine import Call
from reelcore.media import MediaRef, probe
from tests.media import read_audio, speech, talking_video

RATE = 48000


@pytest.fixture(scope="module")
def mixer() -> MixerEngine:
    engine = MixerEngine()
    engine.load()
    return engine


def media(path: Path) -> MediaRef:
    return MediaRef(key=path.name, media=probe(path), path=path)


def voice(text: str, folder: Path, level: float) -> np.ndarray:
    samples = read_audio(speech(text, folder / f"{text.split()[0]}-{len(text)}.wav"), RATE)
    return samples / np.abs(samples).max() * level


def background(length: int) -> np.ndarray:
    """Stereo hum (110 Hz, below the speech band) and hiss (6 kHz, above it)."""
    t = np.arange(length) / RATE
    hum, hiss = np.sin(2 * np.pi * 110 * t), np.sin(2 * np.pi * 6000 * t)
    return np.stack([0.08 * hum + 0.02 * hiss, 0.05 * hum + 0.03 * hiss]).astype(np.float32)


def read_wav(path: Path) -> np.ndarray:
    """(channels, samples) float."""
    with wave.open(str(path)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
        return pcm.reshape(-1, wav.getnchannels()).T / 32768


def band_energy(samples: np.ndarray, low: float = 300, high: float = 3400) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.shape[-1]), axis=-1)) ** 2
    frequencies = np.fft.rfftfreq(samples.shape[-1], 1 / RATE)
    return float(spectrum[..., (frequencies >= low) & (frequencies <= high)].sum())


def db(ratio: float) -> float:
    return 10 * np.log10(ratio)


def test_the_original_voice_is_ducked_the_background_kept_the_new_voice_added(mixer, tmp_path) -> None:
    said = [voice("The weekly report goes to the finance team.", tmp_path, 0.3),
            voice("Please send it before Friday.", tmp_path, 0.3)]
    starts = [0.5, 0.5 + len(said[0]) / RATE + 1.0]
    intervals = [(s, s + len(v) / RATE) for s, v in zip(starts, said, strict=True)]
    length = round((intervals[-1][1] + 0.8) * RATE)
    original_speech = np.zeros(length, np.float32)
    for start, samples in zip(starts, said, strict=True):
        original_speech[round(start * RATE):round(start * RATE) + len(samples)] = samples
    bed = background(length)
    original = write_wav(tmp_path / "original.wav", bed + original_speech, RATE)
    dub = voice("Here is the new voice, speaking another language.", tmp_path, 0.3)
    new_speech = np.zeros(length, np.float32)
    new_speech[round(0.7 * RATE):round(0.7 * RATE) + len(dub)] = dub
    new = write_wav(tmp_path / "new.wav", new_speech, RATE)

    request = MixRequest(original=media(original), speech=media(new), speech_intervals=intervals,
                         new_intervals=[(0.7, 0.7 + len(dub) / RATE)])
    progress: list[float] = []
    result = mixer.mix(request, Call(progress.append, tmp_path))

    mixed = read_wav(result.audio.path)
    assert mixed.shape == (2, length) and result.duration_seconds == length / RATE
    assert result.gain == 1.0 and np.abs(mixed).max() <= 0.99
    rest = mixed - read_wav(new)[0]  # what is left of the original
    for start, end in intervals:
        inside = slice(round(start * RATE), round(end * RATE))
        before, after = band_energy((bed + original_speech)[:, inside]), band_energy(rest[:, inside])
        assert db(before / after) >= 12, (start, db(before / after))
    speaking = duck_depth(length, RATE, intervals, 0, 0) > 0
    kept = db(np.sum(rest[:, ~speaking] ** 2) / np.sum(bed[:, ~speaking] ** 2))
    assert abs(kept) < 1, kept
    for channel in range(2):  # hum and hiss go on under the speech too
        left, bare = rest[channel, speaking], bed[channel, speaking]
        hum = band_energy(left, 105, 115) / band_energy(bare, 105, 115)
        hiss = band_energy(left, 5950, 6050) / band_energy(bare, 5950, 6050)
        assert abs(db(hum)) < 1.5 and abs(db(hiss)) < 1, (db(hum), db(hiss))
    assert progress == sorted(progress)


def test_a_loud_video_soundtrack_is_read_and_the_mix_kept_under_full_scale(mixer, tmp_path) -> None:
    loud = voice("The weekly report goes to the finance team before Friday.", tmp_path, 0.9)
    soundtrack = write_wav(tmp_path / "soundtrack.wav", loud + background(len(loud))[0], RATE)
    video = talking_video(tmp_path / "talk.mp4", soundtrack)
    new = write_wav(tmp_path / "new.wav", loud, RATE)  # the same line again, on top: too loud
    seconds = len(loud) / RATE

    result = mixer.mix(MixRequest(original=media(video), speech=media(new), speech_intervals=[]),
                       Call(lambda _: None, tmp_path))

    mixed = read_wav(result.audio.path)
    assert mixed.shape[0] == 1  # a mono soundtrack stays mono
    assert result.gain < 1 and np.abs(mixed).max() <= 0.99 + 1 / 32768
    assert abs(result.duration_seconds - seconds) < 0.05
    assert mixed.shape[1] == round(result.duration_seconds * RATE)


def test_ducking_ramps_in_before_and_out_after_each_interval() -> None:
    depth = duck_depth(3 * RATE, RATE, [(1.0, 1.5), (1.55, 2.0)], attack_s=0.1, release_s=0.2)
    at = lambda seconds: depth[round(seconds * RATE)]  # noqa: E731
    assert at(0.85) == 0 and at(0.95) == pytest.approx(0.5, abs=0.01) and at(1.0) == 1
    assert depth[round(1.5 * RATE):round(1.55 * RATE)].min() > 0.8  # a short pause stays ducked
    assert at(2.1) == pytest.approx(0.5, abs=0.01) and at(2.25) == 0
    assert np.all(np.diff(depth[round(2.0 * RATE):]) <= 0)


def test_with_separated_stems_the_voice_is_removed_and_the_whole_background_kept(mixer, tmp_path) -> None:
    """A separator's stems (here exact: the test made the mix from them): under both voices the
    original voice is gone, and the background, speech band included, passes untouched."""
    said = voice("The weekly report goes to the finance team.", tmp_path, 0.3)
    length = len(said) + 2 * RATE
    original_voice = np.zeros(length, np.float32)
    original_voice[RATE // 2:RATE // 2 + len(said)] = said
    t = np.arange(length) / RATE
    bed = background(length) + 0.03 * np.sin(2 * np.pi * 1000 * t)  # music inside the speech band too
    stems = {"voice": media(write_wav(tmp_path / "voice.wav", np.stack([original_voice] * 2), RATE)),
             "background": media(write_wav(tmp_path / "background.wav", bed, RATE))}
    original = write_wav(tmp_path / "original.wav", bed + original_voice, RATE)
    dub = voice("Here is the new voice.", tmp_path, 0.3)
    new_speech = np.zeros(length, np.float32)
    new_speech[RATE // 2:RATE // 2 + len(dub)] = dub
    new = write_wav(tmp_path / "new.wav", new_speech, RATE)
    spoken = (0.5, 0.5 + len(said) / RATE)

    result = mixer.mix(MixRequest(original=media(original), speech=media(new), speech_intervals=[spoken],
                                  new_intervals=[(0.5, 0.5 + len(dub) / RATE)], **stems),
                       Call(lambda _: None, tmp_path))

    assert result.method == "separated"
    rest = read_wav(result.audio.path) - read_wav(new)[0]
    inside = slice(round(spoken[0] * RATE), round(spoken[1] * RATE))
    left_of_voice = rest[:, inside] - bed[:, inside]
    assert db(np.sum(original_voice[inside] ** 2) * 2 / np.sum(left_of_voice ** 2)) > 40
    tone = band_energy(rest[:, inside], 990, 1010) / band_energy(bed[:, inside], 990, 1010)
    assert abs(db(tone)) < 0.5  # the band-ducking mix would take 18 dB off this
    assert np.abs(rest - bed).max() < 0.01 + np.abs(original_voice).max() * 10 ** (-60 / 20) * 2


def test_stems_come_in_pairs(tmp_path) -> None:
    wav = media(write_wav(tmp_path / "a.wav", np.zeros(RATE, np.float32), RATE))
    with pytest.raises(ValueError, match="together"):
        MixRequest(original=wav, speech=wav, speech_intervals=[], voice=wav)

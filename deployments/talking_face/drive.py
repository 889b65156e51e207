"""How far the mouth opens, and how wide it is, at each video frame, from the target speech.

Where the words' timings are known (our TTS gives them, Whisper gives them for any speech),
the shapes come from their phonemes (talking_face.visemes): closed on p/b/m, rounded on o/u/w,
wide on ee, open in proportion to the vowel. Elsewhere loudness in the speech band says when
the mouth is open and roughly how far, and the balance of high to low speech frequencies
whether it is spread (ee, s) or rounded (oo, o). Pauses close it. The p/b/m closures come
from the visemes alone (their `shut` curve), inside words as well as at their onsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deployments.talking_face import visemes
from reelcore.errors import NoSpeechDetected
from reelcore.schemas import Word

RATE = 16000
HOP_S = 0.01
# Vowels open widest a little after the middle of their share of the word's time: measured on
# real footage with Whisper's timings (bench/reenact.py). Closures for p/b/m are not delayed.
VISEME_DELAY_S = 0.06
LOUDNESS_SHARE = 0.6  # of the loudness curve that holds within words (bench/reenact.py)
PAUSE_CLOSE_S = 0.3  # how quickly the lips settle once the sound stops inside a word's span


@dataclass
class MouthCurve:
    openness: np.ndarray  # [frames] in 0..1
    width: np.ndarray  # [frames] in -1 (rounded) .. 1 (spread)
    speech: np.ndarray  # [frames] bool: speech heard at this frame


def _band_db(samples: np.ndarray, low: float, high: float) -> np.ndarray:
    """Energy (dB) of `samples` between `low` and `high` Hz, every HOP_S seconds."""
    hop, win = int(RATE * HOP_S), int(RATE * 0.032)
    padded = np.pad(samples, (win // 2, win))
    count = max(1, (len(samples)) // hop)
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[::hop][:count]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(win), axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1 / RATE)
    band = spectrum[:, (freqs >= low) & (freqs < high)].sum(axis=1)
    return 10 * np.log10(band + 1e-10)


def _follow(x: np.ndarray, attack: float, release: float) -> np.ndarray:
    """One-pole envelope: rises with time constant `attack`, falls with `release` (in steps)."""
    out, level = np.empty_like(x), 0.0
    up, down = 1 - np.exp(-1 / max(attack, 1e-3)), 1 - np.exp(-1 / max(release, 1e-3))
    for i, v in enumerate(x):
        level += (v - level) * (up if v > level else down)
        out[i] = level
    return out


def speech_mask(db: np.ndarray, min_pause_s: float = 0.12) -> tuple[np.ndarray, float, float]:
    """Where speech is (bool per hop), with the noise floor and the speech peak in dB.

    Raises NoSpeechDetected when nothing rises clearly above the floor.
    """
    floor, peak = np.percentile(db, 10), np.percentile(db, 98)
    if peak - floor < 15 or peak < -60:
        raise NoSpeechDetected("the audio has no speech in it")
    mask = db > floor + 0.35 * (peak - floor)
    # Close gaps shorter than a pause; drop blips shorter than a syllable.
    mask = _fill_runs(mask, False, int(min_pause_s / HOP_S))
    mask = _fill_runs(mask, True, int(0.06 / HOP_S))
    if mask.sum() * HOP_S < 0.2:
        raise NoSpeechDetected("the audio has no speech in it")
    return mask, float(floor), float(peak)


def _fill_runs(mask: np.ndarray, value: bool, shorter_than: int) -> np.ndarray:
    """Flip interior runs of `value` shorter than `shorter_than` hops."""
    out = mask.copy()
    edges = np.flatnonzero(np.diff(np.r_[not value, mask == value, not value].astype(int)))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start < shorter_than and start > 0 and stop < len(mask):
            out[start:stop] = not value
    return out


def mouth_curve(samples: np.ndarray, fps: float, frames: int, words: list[Word] = (),
                language: str | None = None) -> MouthCurve:
    """The mouth's openness and width at each of `frames` video frames for 16 kHz `samples`
    whose words (if known) are in `language` (BCP-47; English when unknown)."""
    db = _band_db(samples, 250, 3500)
    speech, floor, peak = speech_mask(db)
    gate = floor + 0.3 * (peak - floor)
    level = np.clip((db - gate) / (peak - 3 - gate), 0, 1) ** 0.7 * speech
    level = _follow(level, attack=2.0, release=4.0)
    brightness = _band_db(samples, 2000, 4000) - _band_db(samples, 250, 1000)
    spread = np.clip((brightness - np.median(brightness[speech])) / 12, -1, 1) * speech
    hop_times = np.arange(len(db)) * HOP_S
    times = np.arange(frames) / fps
    openness = np.interp(times, hop_times, level, right=0.0)
    width = np.interp(times, hop_times, _follow(spread, 3.0, 3.0), right=0.0)
    phones = visemes.place(list(words), language)
    said, said_width, inside, shut = visemes.shape_curves(phones, times, VISEME_DELAY_S)
    # A word's span can run over a pause (Whisper's often do): the lips rest wherever it is
    # silent. Loudness keeps a loud vowel open whatever the phoneme split guessed.
    heard = np.interp(times, hop_times, _follow(speech.astype(float), 2.0, PAUSE_CLOSE_S / HOP_S), right=0.0)
    said = np.maximum(said * np.clip(heard * 1.5, 0, 1), LOUDNESS_SHARE * openness)
    # p/b/m shut the lips wherever their closure falls, also just before a word's delayed
    # vowel shapes begin (where the loudness would otherwise still speak).
    return MouthCurve(
        openness=np.where(shut, 0.0, np.where(inside, said, openness)),
        width=np.where(inside, said_width, width),
        speech=np.interp(times, hop_times, speech.astype(float), right=0.0) > 0.5,
    )


def blinks(frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Eyelid closure per frame: a blink every 2-5.5 s, shut in 80 ms, open again in 150 ms."""
    closure = np.zeros(frames)
    times = np.arange(frames) / fps
    at = rng.uniform(0.6, 2.5)
    while at < frames / fps:
        closing = np.clip((times - at) / 0.08 + 1, 0, 1)
        opening = np.clip(1 - (times - at - 0.04) / 0.15, 0, 1)
        closure = np.maximum(closure, np.minimum(closing, opening))
        at += rng.uniform(2.0, 5.5)
    return closure


@dataclass
class HeadPose:
    angle_deg: np.ndarray
    shift: np.ndarray  # [frames, 2], in eye distances
    zoom: np.ndarray


def head_sway(frames: int, fps: float, rng: np.random.Generator, openness: np.ndarray) -> HeadPose:
    """Slow, small head motion (a few overlapping slow sines) with a slight nod on stressed speech."""
    t = np.arange(frames) / fps

    def drift(amplitude: float) -> np.ndarray:
        freqs, phases = rng.uniform(0.08, 0.35, 3), rng.uniform(0, 2 * np.pi, 3)
        return amplitude * sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(freqs, phases, strict=True)) / 2

    nod = _follow(openness.astype(float), attack=fps * 0.15, release=fps * 0.4)
    shift = np.stack([drift(0.03), drift(0.02) + 0.05 * nod], axis=1)
    return HeadPose(angle_deg=drift(1.2), shift=shift, zoom=1.02 + drift(0.004))

"""Fit dubbed speech into the time slots of the speech it replaces.

A dub speaks each translated segment where the original one was spoken, so the new voice
starts when the lips do. Translations rarely last as long as their originals, so each clip is
placed on one mono track exactly as long as the source, by these rules, in this order:

- a clip that fits its slot starts at the slot's start, untouched;
- a longer one first takes the silence after its slot (up to 50 ms before the next slot), then
  the silence before it (down to 50 ms after the previous clip), and only then is sped up,
  pitch kept (FFmpeg's `atempo`), by 1.25x at most: faster sounds hurried;
- if even that is not enough, it is cut at its window's end with a 30 ms fade (`truncated`);
- a clip filling less than 70% of its slot is slowed (0.8x at most, slower sounds drawn out),
  just enough to fill 70%: less dead air while the lips still move, and no jump in tempo at
  the threshold.

Clips never overlap. Word timings of a clip follow it onto the track with `place_words`.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import av
import numpy as np

from reelcore.capabilities.speech import Placement
from reelcore.schemas import Word

GAP_S = 0.05
"""Silence always left between two clips when one borrows the other's gap."""
MAX_TEMPO = 1.25
MIN_TEMPO = 0.8
FILL = 0.7
"""A clip shorter than this share of its slot is slowed down (to MIN_TEMPO at most)."""
FADE_S = 0.03
SILENT_RATE = 24000
"""The rate of a track with nothing said at all."""


@dataclass
class Clip:
    """One segment's synthesized speech and the slot (seconds of the source) it replaces."""

    samples: np.ndarray
    """Mono float32; empty when the segment has nothing to say."""
    rate: int
    start: float
    end: float


@dataclass
class Fitted:
    track: np.ndarray
    """Mono float32, exactly round(total_seconds * rate) samples."""
    rate: int
    placements: list[Placement]
    """One per clip, in the clips' order."""


def fit(clips: list[Clip], total_seconds: float) -> Fitted:
    """Place every clip by the module's rules on one track at the clips' (highest) rate."""
    if any(b.start < a.start for a, b in pairwise(clips)):
        raise ValueError("clips must be sorted by their slot's start")
    rate = max((c.rate for c in clips if len(c.samples)), default=SILENT_RATE)
    track = np.zeros(round(total_seconds * rate), np.float32)
    placements: list[Placement] = []
    done = 0  # where the last placed clip ends (0: none yet)
    for i, clip in enumerate(clips):
        if not len(clip.samples):
            at = min(max(_sample(clip.start, rate, track), done), len(track)) / rate
            placements.append(Placement(start=at, end=at, tempo=1.0, truncated=False))
            continue
        samples = resample(clip.samples, clip.rate, rate)
        slot, window = _slot_and_window(clip, _next_start(clips, i), done, rate, track)
        start, tempo, truncated = _plan(len(samples), slot, window)
        placed = _cut(stretch(samples, rate, tempo) if tempo != 1 else samples, window[1] - start, rate)
        track[start:start + len(placed)] = placed
        done = start + len(placed)
        placements.append(Placement(start=start / rate, end=done / rate, tempo=tempo,
                                    truncated=truncated))
    return Fitted(track=track, rate=rate, placements=placements)


def _sample(seconds: float, rate: int, track: np.ndarray) -> int:
    return min(max(round(seconds * rate), 0), len(track))


def _next_start(clips: list[Clip], i: int) -> float | None:
    """The next slot that will hold speech: empty segments leave their time free to borrow."""
    return next((c.start for c in clips[i + 1:] if len(c.samples)), None)


def _slot_and_window(clip: Clip, next_start: float | None, done: int, rate: int,
                     track: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """The slot, and the widest span the clip may take by borrowing gaps, in samples."""
    gap = round(GAP_S * rate)
    start = max(_sample(clip.start, rate, track), done)
    end = max(_sample(clip.end, rate, track), start)
    latest = len(track)
    if next_start is not None:  # up to GAP_S before the next slot, never into it
        following = max(_sample(next_start, rate, track), start)
        latest = min(following, max(end, following - gap))
    earliest = min(start, done + gap) if done else 0
    return (start, min(end, latest)), (earliest, latest)


def _plan(length: int, slot: tuple[int, int], window: tuple[int, int]) -> tuple[int, float, bool]:
    """(start sample, tempo, truncated) for a clip of `length` samples: the rules, in order."""
    span = slot[1] - slot[0]
    if length <= span:
        tempo = max(MIN_TEMPO, length / (FILL * span)) if length < FILL * span else 1.0
        return slot[0], tempo, False
    if length <= window[1] - slot[0]:
        return slot[0], 1.0, False
    if length <= window[1] - window[0]:
        return window[1] - length, 1.0, False
    room = window[1] - window[0]
    return window[0], min(length / max(room, 1), MAX_TEMPO), length > MAX_TEMPO * room


def _cut(samples: np.ndarray, room: int, rate: int) -> np.ndarray:
    """At most `room` samples; a cut ends in a short fade so it does not click."""
    if len(samples) <= room:
        return samples
    cut = samples[:max(room, 0)].copy()
    fade = min(round(FADE_S * rate), len(cut))
    cut[len(cut) - fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return cut


def stretch(samples: np.ndarray, rate: int, tempo: float) -> np.ndarray:
    """`samples` played `tempo` times faster at the same pitch (FFmpeg's atempo, WSOLA)."""
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="flt", sample_rate=rate, layout="mono", time_base=f"1/{rate}")
    atempo = graph.add("atempo", f"{tempo:.6f}")
    sink = graph.add("abuffersink")
    source.link_to(atempo)
    atempo.link_to(sink)
    graph.configure()
    out: list[np.ndarray] = []
    for frame in [*_frames(samples, rate), None]:
        graph.push(frame)
        out += _drain(graph)
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _frames(samples: np.ndarray, rate: int, size: int = 8192) -> list[av.AudioFrame]:
    frames = []
    for start in range(0, len(samples), size):
        block = np.ascontiguousarray(samples[start:start + size], np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        frames.append(frame)
    return frames


def _drain(graph: av.filter.Graph) -> list[np.ndarray]:
    """Every frame the graph has ready now."""
    out = []
    while True:
        try:
            out.append(graph.pull().to_ndarray().reshape(-1))
        except (av.BlockingIOError, av.EOFError):
            return out


def resample(samples: np.ndarray, rate: int, to: int) -> np.ndarray:
    """Mono float32 `samples` at rate `to` (backends speak at 16, 22.05 or 24 kHz)."""
    if rate == to or not len(samples):
        return samples.astype(np.float32, copy=False)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to)
    frames = [out for frame in _frames(samples, rate) for out in resampler.resample(frame)]
    frames += resampler.resample(None)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


def place_words(words: list[Word], placement: Placement) -> list[Word]:
    """Clip-relative word timings on the track: shifted to the clip's start, scaled by its
    tempo; words a cut removed are dropped and one it went through ends at the cut."""
    placed = []
    for word in words:
        start = placement.start + word.start / placement.tempo
        if start >= placement.end:
            continue
        end = min(placement.start + word.end / placement.tempo, placement.end)
        placed.append(word.model_copy(update={"start": round(start, 3), "end": round(end, 3)}))
    return placed


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and rate of a 16-bit WAV file, as every voice backend writes."""
    with wave.open(str(path)) as wav:
        assert wav.getsampwidth() == 2, f"{path.name}: 16-bit PCM expected"
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
        samples = pcm.reshape(-1, wav.getnchannels()).mean(axis=1, dtype=np.float32) / 32768
        return samples, wav.getframerate()


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """A 16-bit WAV of float `samples`: mono (n,) or channels first (channels, n)."""
    channels = samples.reshape(-1, samples.shape[-1])
    pcm = (np.clip(channels, -1, 1) * 32767).round().astype(np.int16)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(len(channels))
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.T.tobytes())
    return path

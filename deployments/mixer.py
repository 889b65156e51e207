"""Mix a dub's new voice over the original soundtrack, with the original voice turned down.

Two ways, by what the request brings:

- separated (the dub graph ran a `separator`, e.g. demucs): the original is its `voice` stem
  plus its `background`; the background is kept whole, and the voice stem is turned down by
  `separated_duck_db` (silence, in effect) where either voice speaks;
- the original alone (no separator configured, or it was unavailable): its speech band is
  ducked, as below.

The original's speech band (200-4000 Hz by default) is split off with a linear-phase FIR
band-pass; the rest is the original minus that band, so the split changes nothing by itself.
Wherever the original speaker talks (and wherever the new voice does, when given), the band is
turned down by `duck_db`, ramping in over `attack_ms` before and back out over `release_ms`
after: music and ambience outside the band, and everything between the lines, pass untouched.
The new speech is added on top; the whole is scaled down only if its peak would pass 0.99.
Plain numpy and FFmpeg (PyAV): it runs anywhere, on CPU.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field, model_validator

from deployments.speech_fit import write_wav
from deployments.talking_face.video_io import read_channels
from reelcore.capabilities.mixing import Interval, Mix, MixRequest
from reelcore.engine import Call, Engine, OutputFile
from reelcore.errors import UnsupportedMedia
from reelcore.media import MediaRef

PEAK = 0.99
TRANSITION_HZ = 60
"""Width of the band-pass filter's edges; sets its length (Blackman window: 5.5 rate / taps)."""


class MixerConfig(BaseModel):
    duck_db: float = Field(-18, le=0, description="Gain of the original's speech band under speech.")
    separated_duck_db: float = Field(-60, le=0, description="Gain of a separated voice stem under speech.")
    attack_ms: float = Field(30, ge=0, description="Ramp down, ending where an interval starts.")
    release_ms: float = Field(150, ge=0, description="Ramp back up, starting where one ends.")
    band_hz: tuple[float, float] = Field((200, 4000), description="The speech band that is ducked.")
    sample_rate: int = Field(48000, ge=16000, le=96000, description="Of the mix.")

    @model_validator(mode="after")
    def _band_fits(self) -> MixerConfig:
        low, high = self.band_hz
        if not 0 < low < high < self.sample_rate / 2:
            raise ValueError(f"band_hz must be 0 < low < high < {self.sample_rate / 2:g}")
        return self


class MixerEngine(Engine):
    Config = MixerConfig
    methods = {"mix": MixRequest}
    config: MixerConfig

    def load(self) -> None:
        """Only the band-pass filter to design: numpy filters and FFmpeg decodes, on CPU."""
        rate = self.config.sample_rate
        self.kernel = band_pass(*self.config.band_hz, rate, int(5.5 * rate / TRANSITION_HZ) | 1)

    def describe(self) -> dict:
        return {"method": "voice stem removed when separated, else speech-band ducking",
                "duck_db": self.config.duck_db, "separated_duck_db": self.config.separated_duck_db,
                "band_hz": list(self.config.band_hz), "sample_rate": self.config.sample_rate}

    def mix(self, request: MixRequest, call: Call) -> Mix:
        rate = self.config.sample_rate
        original = decode(request.original, rate)
        length = original.shape[1]
        speech = fit_length(decode(request.speech, rate, layout="mono")[0], length)
        call.report(0.2)
        intervals = request.speech_intervals + (request.new_intervals or [])
        depth = duck_depth(length, rate, intervals, self.config.attack_ms / 1000,
                           self.config.release_ms / 1000)
        layout = "mono" if original.shape[0] == 1 else "stereo"
        if request.voice is not None and request.background is not None:
            gain = (10 ** (self.config.separated_duck_db * depth / 20)).astype(np.float32)
            voice = fit_length(decode(request.voice, rate, layout), length)
            background = fit_length(decode(request.background, rate, layout), length)
            mixed, method = background + gain * voice + speech, "separated"
        else:
            gain = (10 ** (self.config.duck_db * depth / 20)).astype(np.float32)
            mixed = np.stack([channel + (gain - 1) * filtered(channel, self.kernel) + speech
                              for channel in original])
            method = "speech band ducked"
        call.report(0.8)
        peak = float(np.abs(mixed).max(initial=0))
        scale = PEAK / peak if peak > PEAK else 1.0
        path = write_wav(call.workdir / "mix.wav", mixed * scale, rate)
        return Mix(audio=OutputFile(path=path, content_type="audio/wav"),
                   duration_seconds=length / rate, gain=scale, method=method)


def decode(media: MediaRef, rate: int, layout: str | None = None) -> np.ndarray:
    """The first audio stream as float32 (channels, samples), refusing an empty one."""
    samples = read_channels(media.path, rate, layout)
    if not samples.shape[1]:
        raise UnsupportedMedia(f"{media.key} has an empty audio stream")
    return samples


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """`samples` (last axis: time) cut or padded with silence to `length`."""
    samples = samples[..., :length]
    return np.pad(samples, [(0, 0)] * (samples.ndim - 1) + [(0, length - samples.shape[-1])])


def duck_depth(length: int, rate: int, intervals: list[Interval], attack_s: float,
               release_s: float) -> np.ndarray:
    """Per sample, how far to duck, 0..1: 1 inside every interval, ramping linearly from 0 over
    `attack_s` before it and back to 0 over `release_s` after it."""
    depth = np.zeros(length, np.float32)
    attack_s, release_s = max(attack_s, 1 / rate), max(release_s, 1 / rate)
    for start, end in intervals:
        lo, hi = max(int((start - attack_s) * rate), 0), min(int(np.ceil((end + release_s) * rate)), length)
        if lo >= hi:
            continue
        t = np.arange(lo, hi) / rate
        ramps = np.minimum((t - start + attack_s) / attack_s, (end + release_s - t) / release_s)
        np.maximum(depth[lo:hi], np.clip(ramps, 0, 1), out=depth[lo:hi])
    return depth


def band_pass(low: float, high: float, rate: int, taps: int) -> np.ndarray:
    """A linear-phase band-pass FIR (windowed sinc) of odd length, to be applied centred."""
    n = np.arange(taps) - taps // 2
    ideal = 2 * high / rate * np.sinc(2 * high / rate * n) - 2 * low / rate * np.sinc(2 * low / rate * n)
    return ideal * np.blackman(taps)


def filtered(signal: np.ndarray, kernel: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """`signal` through the centred `kernel` (zero phase, same length): FFT convolution block by
    block (overlap-save), so memory stays bounded on an hour-long soundtrack."""
    half = len(kernel) // 2
    padded = np.pad(signal, (half, half))
    size = 1 << int(np.ceil(np.log2(block + 2 * half)))
    response = np.fft.rfft(kernel, size)
    out = np.empty_like(signal)
    for start in range(0, len(signal), block):
        piece = np.fft.irfft(np.fft.rfft(padded[start:start + block + 2 * half], size) * response, size)
        out[start:start + block] = piece[2 * half:2 * half + min(block, len(signal) - start)]
    return out

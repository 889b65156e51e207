"""Decoding and encoding for the talking-face engines (PyAV, which bundles FFmpeg)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream

from reelcore.errors import UnsupportedMedia
from reelcore.media import clockwise, upright

AUDIO_RATE = 48000


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int


def video_info(path: Path) -> VideoInfo:
    """Size, frame rate and frame count as frames_rgb reads the clip: at a constant rate, turned
    upright by its display matrix (a phone's sideways frames)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UnsupportedMedia("the video has no video stream")
            stream = container.streams.video[0]
            fps = frame_rate(stream)
            frames = stream.frames
            if not frames or abs(fps - float(stream.average_rate or 0)) > 0.01 * fps:
                times = [float(p.pts * p.time_base) for p in container.demux(stream) if p.pts is not None]
                frames = round((max(times) - min(times)) * fps) + 1 if times else 0
            container.seek(0)
            first = next(container.decode(stream), None)
            if first is None or not frames:
                raise UnsupportedMedia("the video has no frames")
            width, height = first.width, first.height
            if clockwise(first) % 180:
                width, height = height, width
            return VideoInfo(width, height, fps, frames)
    except av.FFmpegError as exc:
        raise UnsupportedMedia(f"the video cannot be decoded: {exc}") from exc


def frame_rate(stream: VideoStream) -> float:
    """The constant rate a clip is read at. A variable-rate recording (a phone that drops
    frames when busy) has its frames on the grid of its base rate: that rate keeps every frame
    at its time. A base rate over 60 is a timestamp clock, not a frame grid: the average then."""
    base, average = float(stream.guessed_rate or 0), float(stream.average_rate or 0)
    return base if 0 < base <= 60 else average or 25.0


@contextmanager
def open_video(path: Path) -> Iterator[tuple[InputContainer, VideoStream]]:
    """The file and its first video stream, decoded frame-threaded; UnsupportedMedia when it has
    none, or when FFmpeg fails on it inside the block."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UnsupportedMedia(f"{path.name} has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            yield container, stream
    except av.FFmpegError as exc:
        raise UnsupportedMedia(f"the video cannot be decoded: {exc}") from exc


def frames_rgb(path: Path) -> Iterator[np.ndarray]:
    """The first video stream as RGB arrays at a constant rate (frame_rate): frame i is what
    shows at i / fps from the first frame, so a variable-rate clip has frames repeated where
    its source skipped some (and dropped where two fall on one slot), as every engine, and the
    sound, count time in frames. A frame without a timestamp is taken as it comes. Frames come
    as displayed: any pixel format (10-bit, 4:4:4) converted, a phone's turned upright."""
    with open_video(path) as (container, stream):
        fps = frame_rate(stream)
        start, shown, held = None, 0, None
        for frame in container.decode(stream):
            if frame.time is None:
                yield upright(frame)
                continue
            start = frame.time if start is None else start
            slot = round((frame.time - start) * fps)
            if held is not None and shown < slot:
                rgb = upright(held)
                for _ in range(slot - shown):
                    yield rgb
                shown = slot
            held = frame
        if held is not None:
            yield upright(held)


def read_audio(path: Path, rate: int = 16000) -> np.ndarray:
    """Mono float32 samples at `rate` from any audio or video file."""
    return read_channels(path, rate, "mono")[0]


def read_channels(path: Path, rate: int, layout: str | None = None) -> np.ndarray:
    """The first audio stream as float32 (channels, samples) at `rate`: mono stays mono, more
    channels become stereo, unless `layout` says."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise UnsupportedMedia(f"{path.name} has no audio stream")
            stream = container.streams.audio[0]
            layout = layout or ("mono" if stream.channels == 1 else "stereo")
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            frames = [out for frame in container.decode(stream) for out in resampler.resample(frame)]
            frames += resampler.resample(None)
    except av.FFmpegError as exc:
        raise UnsupportedMedia(f"the audio cannot be decoded: {exc}") from exc
    if not frames:
        return np.zeros((1 if layout == "mono" else 2, 0), np.float32)
    return np.concatenate([f.to_ndarray() for f in frames], axis=1)


class VideoWriter:
    """H.264 frames at a fixed rate, then the sound of `audio` (AAC), in one MP4.

    The sound is cut or padded to the video's length, so the two streams end together; a writer
    made `with_sound=False` writes a clip without a sound track (`finish()`).
    """

    def __init__(self, path: Path, width: int, height: int, fps: float,
                 preset: str = "veryfast", crf: int = 20, with_sound: bool = True) -> None:
        self.container = av.open(str(path), "w", options={"movflags": "+faststart"})
        self.rate = Fraction(fps).limit_denominator(1001)
        self.stream = self.container.add_stream("libx264", rate=self.rate)
        self.stream.width, self.stream.height = width - width % 2, height - height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"preset": preset, "crf": str(crf)}
        self.stream.thread_count = 1
        self.sound = self.container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if with_sound else None
        self.written = 0

    def write(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(rgb[: self.stream.height, : self.stream.width], format="rgb24")
        frame.pts, frame.time_base = self.written, 1 / self.rate
        self.container.mux(self.stream.encode(frame))
        self.written += 1

    def finish(self, audio: Path | None = None) -> None:
        """Flush the video and add the sound of `audio` (unless made without sound), trimmed or
        padded to the video's length."""
        self.container.mux(self.stream.encode())
        if self.sound is None:
            self.container.close()
            return
        assert audio is not None, "a writer with a sound track needs the audio to finish"
        samples = read_audio(audio, AUDIO_RATE)
        length = round(self.written / self.rate * AUDIO_RATE)
        samples = np.pad(samples[:length], (0, max(0, length - len(samples))))
        for start in range(0, len(samples), 1024):
            block = samples[start:start + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="flt", layout="mono")
            frame.sample_rate, frame.pts = AUDIO_RATE, start
            self.container.mux(self.sound.encode(frame))
        self.container.mux(self.sound.encode())
        self.container.close()

"""Rights-clean test media, made on the spot: espeak-ng speech and the astronaut photo."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from skimage.data import astronaut

from deployments.talking_face.video_io import read_audio


def speech(text: str, path: Path, voice: str = "en-us", speed: int = 150) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def talking_video(path: Path, audio: Path | None, seconds: float | None = None,
                  size: int | None = 256, fps: int = 25, repeat: int = 1,
                  image: np.ndarray | None = None) -> Path:
    """A still (the astronaut photo by default) as an H.264 video carrying `audio` (AAC)
    repeated `repeat` times; `size` x `size`, or the still's own size when None."""
    samples = np.tile(read_audio(audio), repeat) if audio else None
    duration = seconds or (len(samples) / 16000 if samples is not None else 2.0)
    image = np.ascontiguousarray((astronaut() if image is None else image)[:, :, :3])
    width, height = (size, size) if size else (image.shape[1], image.shape[0])
    frame_image = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(width, height)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if samples is not None:
            sound = out.add_stream("aac", rate=16000, layout="mono")
        for i in range(int(duration * fps)):
            frame = frame_image.reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if samples is not None:
            for start in range(0, len(samples), 1024):
                block = samples[start:start + 1024].reshape(1, -1).astype(np.float32)
                frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
                frame.sample_rate, frame.pts = 16000, start
                out.mux(sound.encode(frame))
            out.mux(sound.encode())
    return path


def silence(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A silent AAC track `seconds` long: tiny on disk, long by the clock."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        block = np.zeros((1, 1024), dtype=np.float32)
        for start in range(0, int(seconds * rate), 1024):
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path

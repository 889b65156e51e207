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


def cut_video(path: Path, sentences: list[Path], fps: int = 25,
              size: tuple[int, int] = (320, 180)) -> list[float]:
    """Three shots, each speaking one of `sentences` (espeak-ng WAVs), slowly panning:
    the astronaut, then a hard cut to a coffee cup, which fades to black and back in on a cat.

    Returns the true scene boundaries in seconds: the hard cut's first new frame, and the fade's
    first fade-in frame."""
    import cv2
    from skimage.data import chelsea, coffee

    width, height = size
    shots = [(astronaut(), 75), (coffee(), 87), (chelsea(), 88)]  # frames per shot
    fade_out, black, fade_in = 12, 6, 12
    frames, starts = [], []
    for shot, (image, count) in enumerate(shots):
        starts.append(len(frames))
        big = cv2.resize(image[:, :, :3], (width + count, height + count // 2))
        for i in range(count):
            frame = big[i // 2:i // 2 + height, i:i + width].astype(np.float32)
            if shot == 1 and i >= count - fade_out - black:  # the coffee fades out, then black
                frame *= max(0.0, 1 - (i - (count - fade_out - black) + 1) / fade_out)
            if shot == 2 and i < fade_in:
                frame *= (i + 1) / fade_in
            frames.append(frame.astype(np.uint8))
    voice = np.zeros(int(len(frames) / fps * 16000), np.float32)
    for start, sentence in zip(starts, sentences, strict=True):
        samples = read_audio(sentence)[: int(2.8 * 16000)]
        at = int((start / fps + 0.2) * 16000)
        voice[at:at + len(samples)] = samples
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=16000, layout="mono")
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        for start in range(0, len(voice), 1024):
            block = voice[start:start + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="flt", layout="mono")
            frame.sample_rate, frame.pts = 16000, start
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
    return [starts[1] / fps, starts[2] / fps]


def panning_video(path: Path, width: int, height: int, seconds: float, fps: int,
                  image: np.ndarray | None = None) -> Path:
    """A silent H.264 clip of `image` (the astronaut photo by default) covering the frame and
    panning sideways a few pixels a frame: every frame differs, as a generated clip's do."""
    image = np.ascontiguousarray((astronaut() if image is None else image)[:, :, :3])
    scale = max(width / image.shape[1], height / image.shape[0])
    still = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
        round(image.shape[1] * scale), round(image.shape[0] * scale)).to_ndarray(format="rgb24")
    still = still[:height, :width]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(still, 4 * i, axis=1)),
                                               format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
    return path

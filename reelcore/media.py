"""Media references passed between deployments, and probing files by their content."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import av
import numpy as np
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, Field

from reelcore.errors import InputTooLarge, UnsupportedMedia
from reelcore.schemas import MediaInfo

IMAGE_FORMATS = {"png_pipe", "jpeg_pipe", "image2", "webp_pipe", "bmp_pipe"}


class MediaRef(BaseModel):
    """A stored input or output: the storage key plus what probing found (None for documents:
    subtitles, vector files).

    Inside an engine call the host also sets `path`, a local copy valid during the call; it
    never leaves the replica (excluded from every dump).
    """

    key: str
    media: MediaInfo | None = None
    path: Path | None = Field(None, exclude=True)


def probe(path: Path, max_pixels: int | None = None) -> MediaInfo:
    """Open the file with FFmpeg (PyAV) and describe it; never trusts the file name.

    With `max_pixels`, a picture or video frame larger than that fails with `InputTooLarge`
    before anything decodes it: a picture is measured from its header alone (Pillow reads no
    more), so a decompression bomb (a small PNG declaring 16,000 x 16,000 pixels) never reaches a
    decoder; a video is measured from its stream header, before its first frame is decoded to
    learn how it is turned for display (phones record upright video sideways).
    """
    _measure_picture(path, max_pixels)
    try:
        with av.open(str(path)) as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            fmt = container.format.name
            is_image = fmt in IMAGE_FORMATS
            width = height = None
            rotation = 0
            if video is not None:
                width, height = video.codec_context.width, video.codec_context.height
                _check_pixels(width, height, max_pixels)
            if video is not None and not is_image:
                first = next(container.decode(video), None)
                if first is None:  # a video stream without a single frame shows nothing
                    video = width = height = None
                else:
                    rotation = clockwise(first)
                    if rotation % 180:
                        width, height = height, width
            if video is None and audio is None:
                raise UnsupportedMedia("the file has neither pictures nor sound")
            duration = None
            if container.duration is not None and not is_image:
                duration = container.duration / av.time_base
            elif audio is not None and audio.duration is not None and audio.time_base:
                duration = float(audio.duration * audio.time_base)
            fps = float(video.average_rate) if video is not None and video.average_rate else None
            return MediaInfo(
                format=fmt,
                duration_seconds=round(duration, 3) if duration is not None else None,
                has_video=video is not None and not is_image,
                has_audio=audio is not None,
                width=width,
                height=height,
                fps=None if is_image else fps,
                is_image=is_image,
                rotation=rotation,
            )
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedMedia("the file is not a media file FFmpeg can read") from exc


def clockwise(frame: av.VideoFrame) -> int:
    """How far the frame is turned clockwise for display (0, 90, 180 or 270), from its display
    matrix (FFmpeg gives the angle counter-clockwise)."""
    return round(-frame.rotation / 90) % 4 * 90


def upright(frame: av.VideoFrame, format: str = "rgb24") -> np.ndarray:
    """The frame's pixels as displayed: turned by its display matrix."""
    pixels = frame.to_ndarray(format=format)
    turns = clockwise(frame) // 90
    return np.ascontiguousarray(np.rot90(pixels, -turns)) if turns else pixels


def _check_pixels(width: int, height: int, max_pixels: int | None) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise InputTooLarge(f"the picture is {width} x {height} pixels; the limit is "
                            f"{max_pixels:,} pixels a frame")


def _measure_picture(path: Path, max_pixels: int | None) -> None:
    """Refuse a picture whose header declares too many pixels; Pillow decodes nothing here.

    Files Pillow does not know as pictures (videos, sound) pass on to FFmpeg."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError as exc:
        raise InputTooLarge(f"the picture declares too many pixels to decode safely: {exc}") from exc
    except (UnidentifiedImageError, OSError, EOFError, ValueError, struct.error):
        return
    _check_pixels(width, height, max_pixels)

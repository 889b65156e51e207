"""Media references passed between deployments, and probing files by their content."""

from __future__ import annotations

from pathlib import Path

import av
from pydantic import BaseModel, Field

from reelcore.errors import UnsupportedMedia
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


def probe(path: Path) -> MediaInfo:
    """Open the file with FFmpeg (PyAV) and describe it; never trusts the file name."""
    try:
        with av.open(str(path)) as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            if video is None and audio is None:
                raise UnsupportedMedia("the file has neither a video nor an audio stream")
            fmt = container.format.name
            is_image = fmt in IMAGE_FORMATS
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
                width=video.codec_context.width if video is not None else None,
                height=video.codec_context.height if video is not None else None,
                fps=None if is_image else fps,
                is_image=is_image,
            )
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedMedia("the file is not a media file FFmpeg can read") from exc

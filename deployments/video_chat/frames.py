"""Frames at chosen times from a video, decoded by PyAV and scaled by FFmpeg for a vision model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deployments.talking_face.video_io import open_video
from reelcore.errors import UnsupportedMedia

SEEK_AHEAD_SECONDS = 2.0
"""A wanted time this far past the decoder's position is reached by seeking, not by decoding."""


def spread(start: float, end: float, count: int) -> list[float]:
    """`count` times evenly inside [start, end], each in the middle of its share of the span."""
    step = (end - start) / count
    return [start + step * (i + 0.5) for i in range(count)]


def scaled_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """The size with its longer side at most `longest` (never upscaled), both sides even."""
    scale = min(1.0, longest / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def frames_at(path: Path, times: list[float], longest_side: int) -> np.ndarray:
    """RGB frames (n, height, width, 3), the first shown at or after each of `times`, in their
    order (the last frame for a time past the end). One pass in time order: near times are
    decoded forward, far-apart ones reached by seeking."""
    with open_video(path) as (container, stream):
        size = scaled_size(stream.codec_context.width, stream.codec_context.height, longest_side)
        picked: list[np.ndarray] = [np.empty(0)] * len(times)
        decoded = container.decode(stream)
        last, position = None, 0.0
        for at in sorted(range(len(times)), key=times.__getitem__):
            wanted = times[at]
            if wanted - position > SEEK_AHEAD_SECONDS:
                container.seek(int(max(wanted - 0.5, 0) / stream.time_base), stream=stream)
                decoded = container.decode(stream)
            for frame in decoded:
                last, position = frame, float(frame.time or 0.0)
                if position + 1e-3 >= wanted:
                    break
            if last is None:
                raise UnsupportedMedia(f"{path.name} has no decodable frame")
            picked[at] = last.to_ndarray(width=size[0], height=size[1], format="rgb24")
    return np.stack(picked)

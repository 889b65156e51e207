"""WebVTT subtitles from timed text segments (any translator or transcriber can write them)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def _timestamp(seconds: float) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def write_webvtt(cues: Iterable[tuple[float, float, str]], path: Path) -> Path:
    """One cue per (start, end, text); blank texts are skipped."""
    lines = ["WEBVTT", ""]
    for start, end, text in cues:
        if text.strip():
            lines += [f"{_timestamp(start)} --> {_timestamp(end)}", " ".join(text.split()), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

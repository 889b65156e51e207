"""Timed text: the model, WebVTT subtitles from segments (any translator or transcriber can write them),
and the short clock form people read timestamps in."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def timestamp(seconds: float) -> str:
    """75.4 -> 1:15; 3725 -> 1:02:05."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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

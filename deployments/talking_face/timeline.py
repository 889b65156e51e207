"""Which source frame each output frame shows when audio and video lengths differ.

The modes carry Sync Labs' names and behaviour (their `options.sync_mode`):

| mode | audio longer | video longer | output lasts |
|---|---|---|---|
| bounce | forwards, then backwards, repeated | video trimmed | the audio |
| loop | video restarts | video trimmed | the audio |
| cut_off | audio clipped | video trimmed | the shorter |
| silence | as bounce | audio padded with silence | the longer |
| remap | video slowed down | video sped up | the audio |
"""

from __future__ import annotations

from itertools import pairwise

from reelcore.schemas import SyncMode


def output_frames(mode: SyncMode, audio_frames: int, video_frames: int) -> int:
    if mode == "cut_off":
        return max(1, min(audio_frames, video_frames))
    if mode == "silence":
        return max(audio_frames, video_frames, 1)
    return max(1, audio_frames)


def playback_order(mode: SyncMode, frames: int, available: int) -> list[int]:
    """The source frame (0..available-1) shown at each of `frames` output frames."""
    if available <= 1:
        return [0] * frames
    if mode == "remap":
        return [round(i * (available - 1) / max(frames - 1, 1)) for i in range(frames)]
    if mode == "loop":
        return [i % available for i in range(frames)]
    period = 2 * available - 2
    return [k if k < available else period - k for k in (i % period for i in range(frames))]


def plays_backwards(order: list[int]) -> bool:
    """Whether a source frame other than the first follows a later one (a decoder going forwards
    cannot serve that: the frames are kept)."""
    return any(0 < b < a for a, b in pairwise(order))

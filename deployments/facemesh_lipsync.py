"""facemesh-lipsync: the embedded CPU lipsync engine.

MediaPipe face mesh tracks the face through the whole clip (smoothed offline), the target
speech gives a mouth-openness curve (see talking_face.drive), and each frame's mouth is
re-rendered to that openness after neutralising its own motion (talking_face.render). Frames
where the face is lost or turned away pass through untouched, with the effect faded in and out
around them. The result keeps the video's size and frame rate, lasts as long as the new audio
(the clip plays forwards and backwards when the audio is longer) and carries the new audio.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from deployments.base import Call, Engine, OutputFile
from deployments.face import LipsyncInput, RenderedVideo
from deployments.talking_face import drive, render
from deployments.talking_face import tracking as tk
from deployments.talking_face.video_io import VideoWriter, frames_rgb, read_audio, video_info
from serve_app.errors import NoFaceDetected


class FaceMeshLipsyncConfig(BaseModel):
    max_gap: float = Field(0.18, description="Inner-lip gap at full openness, in eye distances.")
    max_yaw: float = Field(0.3, description="Beyond this nose offset (eye distances) a face is left as is.")
    preset: str = Field("veryfast", description="x264 preset of the output.")
    crf: int = 20
    max_cache_gb: float = Field(
        8.0, description="Disk for decoded frames when the audio outlasts the video (plays back "
                         "and forth); beyond it the clip loops forwards instead.")


class FaceMeshLipsyncEngine(Engine):
    Config = FaceMeshLipsyncConfig
    methods = {"lipsync": LipsyncInput}
    config: FaceMeshLipsyncConfig

    def load(self) -> None:
        tk.check_available()

    def describe(self) -> dict:
        return {"model": "mediapipe face mesh 478 + classical mouth re-render", "device": "cpu"}

    def lipsync(self, request: LipsyncInput, call: Call) -> RenderedVideo:
        info = video_info(request.video.path)
        samples = read_audio((request.voice or request.audio).path)
        frames = max(1, round(len(samples) / drive.RATE * info.fps))
        curve = drive.mouth_curve(samples, info.fps, frames, request.words)
        cache = self._cache(info, frames, call.workdir)
        count = info.frames if cache is not None else min(frames, info.frames)
        faces = self._track(request.video.path, count, info.fps, cache, call)
        strength = _strength(faces)
        rest = float(np.median([tk.mouth_half_width(p) / tk.eye_distance(p) for p in faces if p is not None]))
        order = _playback_order(frames, len(faces), back_and_forth=cache is not None)
        out = call.workdir / "lipsync.mp4"
        writer = VideoWriter(out, info.width, info.height, info.fps, self.config.preset, self.config.crf)
        for i, (k, rgb) in enumerate(zip(order, _frames_in_order(request.video.path, order, cache),
                                         strict=True)):
            pts = faces[k]
            if pts is not None:
                rgb, eye = rgb.copy(), tk.eye_distance(pts)
                render.render_mouth(rgb, pts, curve.openness[i] * self.config.max_gap * eye,
                                    half_width=(rest + 0.05 * curve.width[i]) * eye, strength=strength[k])
            writer.write(rgb)
            if i % 25 == 0:
                call.report(0.45 + 0.53 * i / frames)
        writer.finish(request.audio.path)
        return RenderedVideo(video=OutputFile(path=out, content_type="video/mp4"),
                             duration_seconds=round(frames / info.fps, 3),
                             width=info.width - info.width % 2, height=info.height - info.height % 2,
                             fps=info.fps)

    def _cache(self, info, frames: int, workdir: Path) -> np.ndarray | None:
        """A disk-backed frame store, when the clip must play backwards and it fits."""
        size = info.frames * info.height * info.width * 3
        if frames <= info.frames or size > self.config.max_cache_gb * 2**30:
            return None
        return np.lib.format.open_memmap(workdir / "frames.npy", mode="w+", dtype=np.uint8,
                                         shape=(info.frames, info.height, info.width, 3))

    def _track(self, video: Path, count: int, fps: float, cache: np.ndarray | None,
               call: Call) -> list[np.ndarray | None]:
        """Smoothed landmarks of the first `count` source frames; None where the face is lost or
        turned away. Fills `cache` with the frames on the way."""
        tracker = tk.FaceTracker()
        found: list[np.ndarray | None] = []
        try:
            for k, rgb in enumerate(frames_rgb(video)):
                if k >= count:
                    break
                if cache is not None:
                    cache[k] = rgb
                pts = tracker(rgb)
                found.append(pts if pts is not None and abs(tk.yaw(pts)) <= self.config.max_yaw else None)
                if k % 25 == 0:
                    call.report(0.45 * k / count)
        finally:
            tracker.close()
        if not any(p is not None for p in found):
            raise NoFaceDetected("no face was found in the video")
        return tk.smooth(found, fps)


def _strength(faces: list[np.ndarray | None], ramp: int = 4) -> np.ndarray:
    """1 where the face is tracked steadily, fading to 0 over `ramp` frames next to a loss."""
    distance = np.full(len(faces), float(ramp))
    for indices in (range(len(faces)), range(len(faces) - 1, -1, -1)):
        since = float(ramp)
        for i in indices:
            since = 0.0 if faces[i] is None else min(since + 1, ramp)
            distance[i] = min(distance[i], since)
    return distance / ramp


def _playback_order(frames: int, available: int, back_and_forth: bool) -> list[int]:
    """Which source frame each output frame shows: forwards, then back and forth (or looped)."""
    if available <= 1:
        return [0] * frames
    period = 2 * available - 2 if back_and_forth else available
    order = [i % period for i in range(frames)]
    return [k if k < available else period - k for k in order]


def _frames_in_order(video: Path, order: list[int], cache: np.ndarray | None) -> Iterator[np.ndarray]:
    """Source frames in `order`: from the cache, or decoded again from the start when looping."""
    if cache is not None:
        yield from (cache[k] for k in order)
        return
    source, position, frame = frames_rgb(video), -1, None
    for k in order:
        if k < position:
            source.close()
            source, position = frames_rgb(video), -1
        while position < k:
            frame, position = next(source), position + 1
        yield frame
    source.close()

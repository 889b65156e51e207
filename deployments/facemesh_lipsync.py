"""facemesh-lipsync: the embedded CPU lipsync engine.

MediaPipe face mesh tracks the face through the whole clip (smoothed offline) and every tracked
frame lends its lower face to a library of that person's real mouths (talking_face.mouth_library).
The target speech says which mouth shape each output frame needs (visemes from the words'
phonemes, loudness where no words are known: talking_face.drive); dynamic programming picks a
coherent sequence of library mouths with those shapes (talking_face.mouth_choice), and each is
warped into the output frame's head pose, matched to its light and blended in
(talking_face.composite). Where the clip cannot serve as a library (a face too small, no open
mouth anywhere in it) the mouth is re-rendered by a warp instead (talking_face.render), and
the result says so. Frames where the face is lost or turned away pass through untouched, with
the effect faded in and out around them. `sync_mode` decides how a video and an audio of
different lengths are matched (talking_face.timeline).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from deployments.talking_face import composite, drive, mouth_choice, render, timeline
from deployments.talking_face import tracking as tk
from deployments.talking_face.mouth_library import LibraryBuilder, MouthLibrary
from deployments.talking_face.video_io import VideoWriter, frames_rgb, read_audio, video_info
from reelcore.capabilities.face import LipsyncInput, RenderedVideo
from reelcore.engine import Call, Engine, OutputFile
from reelcore.errors import NoFaceDetected, NoSpeechDetected, UnsupportedMedia
from reelcore.schemas import FacePick


class FaceMeshLipsyncConfig(BaseModel):
    max_gap: float = Field(0.18, description="Inner-lip gap at full openness when warping, in eye distances.")
    max_yaw: float = Field(0.3, description="Beyond this nose offset (eye distances) a face is left as is.")
    min_eye_px: float = Field(80.0, description="Faces with eye corners closer than this are warped, "
                                                 "not re-rendered from the library (too few pixels).")
    min_library_span: float = Field(0.06, description="A clip whose mouth never opens wider than this "
                                                       "(eye distances) cannot lend open mouths: warp instead.")
    library_mb: float = Field(1536.0, description="Memory for the library of lower-face crops; a longer "
                                                   "clip keeps evenly spaced blocks of frames.")
    preset: str = Field("veryfast", description="x264 preset of the output.")
    crf: int = 20
    max_cache_gb: float = Field(
        8.0, description="Disk for decoded frames when the clip plays backwards (bounce); beyond it "
                         "the clip loops forwards instead.")


class FaceMeshLipsyncEngine(Engine):
    Config = FaceMeshLipsyncConfig
    methods = {"lipsync": LipsyncInput}
    config: FaceMeshLipsyncConfig

    def load(self) -> None:
        tk.check_available()

    def describe(self) -> dict:
        return {"model": "mediapipe face mesh 478 + sample-based mouth from the clip's own frames",
                "device": "cpu"}

    def lipsync(self, request: LipsyncInput, call: Call) -> RenderedVideo:
        info = video_info(request.video.path)
        samples = read_audio((request.voice or request.audio).path)
        audio_frames = round(len(samples) / drive.RATE * info.fps)
        frames = timeline.output_frames(request.sync_mode, audio_frames, info.frames)
        order = timeline.playback_order(request.sync_mode, frames, info.frames)
        cache = self._cache(info, order, call.workdir)
        if cache is None and timeline.plays_backwards(order):
            order = timeline.playback_order("loop", frames, info.frames)
        curve = drive.mouth_curve(samples, info.fps, frames, request.words, request.language)
        faces, library = self._track(request, max(order) + 1, info.fps, cache, call)
        draw = self._plan(faces, library, curve, order)
        strength = _strength(faces)
        out = call.workdir / "lipsync.mp4"
        writer = VideoWriter(out, info.width, info.height, info.fps, self.config.preset, self.config.crf)
        for i, (k, rgb) in enumerate(zip(order, _frames_in_order(request.video.path, order, cache),
                                         strict=True)):
            if faces[k] is not None:
                rgb = draw(i, rgb.copy(), faces[k], strength[k])
            writer.write(rgb)
            if i % 25 == 0:
                call.report(0.45 + 0.53 * i / frames)
        writer.finish(request.audio.path)
        return RenderedVideo(video=OutputFile(path=out, content_type="video/mp4"),
                             duration_seconds=round(frames / info.fps, 3),
                             width=info.width - info.width % 2, height=info.height - info.height % 2,
                             fps=info.fps, render={**draw.summary, "sync_mode": request.sync_mode})

    def _plan(self, faces: list[np.ndarray | None], library: MouthLibrary, curve: drive.MouthCurve,
              order: list[int]):
        """How each output frame's mouth is drawn: library mouths where the clip allows, else the warp."""
        eye = float(np.median([tk.eye_distance(p) for p in faces if p is not None]))
        why = None
        if eye < self.config.min_eye_px:
            why = (f"the face is small ({eye:.0f} px between the eye corners, "
                   f"under {self.config.min_eye_px:.0f})")
        elif (len(library.patches) < 8
              or np.subtract(*library.opening_range()[::-1]) < self.config.min_library_span):
            why = "the clip has no open-mouth frames to draw from"
        if why is not None:
            return _Warp(curve, faces, self.config.max_gap, why)
        return _FromLibrary(library, curve, faces, order)

    def _cache(self, info, order: list[int], workdir: Path) -> np.ndarray | None:
        """A disk-backed frame store, when the clip must play backwards and it fits."""
        size = info.frames * info.height * info.width * 3
        if not timeline.plays_backwards(order) or size > self.config.max_cache_gb * 2**30:
            return None
        return np.lib.format.open_memmap(workdir / "frames.npy", mode="w+", dtype=np.uint8,
                                         shape=(info.frames, info.height, info.width, 3))

    def _track(self, request: LipsyncInput, count: int, fps: float, cache: np.ndarray | None,
               call: Call) -> tuple[list[np.ndarray | None], MouthLibrary]:
        """Smoothed landmarks of the first `count` source frames (None where the face is lost or
        turned away) and the library of their mouths. Fills `cache` with the frames on the way."""
        anchor = (_anchor(request.video.path, request.face) if request.face is not None
                  else _speaker(request.video.path, fps))
        tracker = tk.FaceTracker(anchor=anchor)
        builder = LibraryBuilder(self.config.library_mb, count)
        found: list[np.ndarray | None] = []
        try:
            for k, rgb in enumerate(frames_rgb(request.video.path)):
                if k >= count:
                    break
                if cache is not None:
                    cache[k] = rgb
                pts = tracker(rgb)
                pts = pts if pts is not None and abs(tk.yaw(pts)) <= self.config.max_yaw else None
                found.append(pts)
                builder.add(k, rgb, pts)
                if k % 25 == 0:
                    call.report(0.45 * k / count)
        finally:
            tracker.close()
        if not any(p is not None for p in found):
            raise NoFaceDetected("no face was found in the video")
        smoothed = tk.smooth(found, fps)
        return smoothed, builder.build(smoothed)


class _FromLibrary:
    """Draws each output frame's mouth from the library, as chosen for the whole clip at once."""

    def __init__(self, library: MouthLibrary, curve: drive.MouthCurve,
                 faces: list[np.ndarray | None], order: list[int]) -> None:
        low, high = library.opening_range()
        w_low, w_mid, w_high = library.width_range()
        opening = low + np.clip(curve.openness, 0, 1) * (high - low)
        spread = np.clip(curve.width, -1, 1)
        width = w_mid + np.where(spread > 0, spread * (w_high - w_mid), spread * (w_mid - w_low))
        rest = np.median(library.features[:, 2:], axis=0)
        pose = np.array([library_pose(faces[k], rest) for k in order])
        self.library = library
        self.picks = mouth_choice.choose(library, opening, width, pose)
        self.layers = mouth_choice.layers(library, self.picks)
        step = np.diff([library.patches[j].frame for j in self.picks])
        self.summary = {"method": "library", "library_frames": len(library.patches),
                        "distinct_frames_used": len(set(self.picks.tolist())),
                        "runs": 1 + int(np.sum(step != 1)), "jumps": int(np.sum((step != 1) & (step != 0)))}

    def __call__(self, i: int, rgb: np.ndarray, pts: np.ndarray, strength: float) -> np.ndarray:
        for j, opacity in self.layers[i]:
            rgb = composite.paste_mouth(rgb, pts, self.library.patches[j], strength * opacity)
        return rgb


def library_pose(pts: np.ndarray | None, rest: np.ndarray) -> np.ndarray:
    return rest if pts is None else np.array([tk.yaw(pts), tk.pitch(pts)])


class _Warp:
    """The fallback: the frame's own mouth displaced to the wanted gap (talking_face.render)."""

    def __init__(self, curve: drive.MouthCurve, faces: list[np.ndarray | None], max_gap: float,
                 reason: str) -> None:
        self.curve, self.max_gap = curve, max_gap
        self.rest = float(np.median([tk.mouth_half_width(p) / tk.eye_distance(p)
                                     for p in faces if p is not None]))
        self.summary = {"method": "warp", "reason": reason}

    def __call__(self, i: int, rgb: np.ndarray, pts: np.ndarray, strength: float) -> np.ndarray:
        eye = tk.eye_distance(pts)
        render.render_mouth(rgb, pts, self.curve.openness[i] * self.max_gap * eye,
                            half_width=(self.rest + 0.05 * self.curve.width[i]) * eye, strength=strength)
        return rgb


def _anchor(video: Path, face: FacePick | None) -> tuple[float, float] | None:
    """The centre of the face picked by the request, found in its frame (None: any face)."""
    if face is None:
        return None
    tracker = tk.FaceTracker(anchor=(face.x, face.y))
    try:
        for k, rgb in enumerate(frames_rgb(video)):
            if k == face.frame:
                pts = tracker(rgb)
                if pts is None:
                    raise NoFaceDetected(
                        f"no face was found at ({face.x:.0f}, {face.y:.0f}) in frame {face.frame}")
                return tuple(pts.mean(axis=0))
    finally:
        tracker.close()
    raise NoFaceDetected(f"the video has no frame {face.frame} to pick a face in")


def _speaker(video: Path, fps: float, seconds: float = 8.0) -> tuple[float, float] | None:
    """With several faces in the first frame, the centre of the one whose mouth moves with the
    video's own speech over its first `seconds` (None when there is one face or none)."""
    finder = tk.face_mesh(4)
    try:
        first = next(frames_rgb(video), None)
        faces = tk.find_faces(finder, first) if first is not None else []
    finally:
        finder.close()
    if len(faces) < 2:
        return None
    centres = [tuple(f.mean(axis=0)) for f in faces]
    try:
        count = round(seconds * fps)
        speech = drive.mouth_curve(read_audio(video), fps, count).openness
    except (UnsupportedMedia, NoSpeechDetected):  # no sound to judge by: the largest face
        return centres[int(np.argmax([tk.eye_distance(f) for f in faces]))]
    trackers = [tk.FaceTracker(anchor=c) for c in centres]
    openings = np.full((len(faces), count), np.nan)
    try:
        for k, rgb in enumerate(frames_rgb(video)):
            if k >= count:
                break
            for tracker, row in zip(trackers, openings, strict=True):
                pts = tracker(rgb)
                row[k] = np.nan if pts is None else tk.inner_lip_gap(pts)
    finally:
        for tracker in trackers:
            tracker.close()
    return centres[int(np.argmax([_follows(row, speech) for row in openings]))]


def _follows(opening: np.ndarray, speech: np.ndarray) -> float:
    """How well a mouth's motion follows the speech's loudness (correlation; -1 when unknown)."""
    motion = np.abs(np.diff(opening, prepend=opening[:1]))
    ok = np.isfinite(motion)
    if ok.sum() < 10 or np.std(motion[ok]) == 0 or np.std(speech[ok]) == 0:
        return -1.0
    return float(np.corrcoef(motion[ok], speech[ok])[0, 1])


def _strength(faces: list[np.ndarray | None], ramp: int = 4) -> np.ndarray:
    """1 where the face is tracked steadily, fading to 0 over `ramp` frames next to a loss."""
    distance = np.full(len(faces), float(ramp))
    for indices in (range(len(faces)), range(len(faces) - 1, -1, -1)):
        since = float(ramp)
        for i in indices:
            since = 0.0 if faces[i] is None else min(since + 1, ramp)
            distance[i] = min(distance[i], since)
    return distance / ramp


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

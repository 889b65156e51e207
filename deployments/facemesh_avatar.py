"""facemesh-avatar: the embedded CPU avatar engine.

MediaPipe face mesh finds the face in the portrait once; every frame then re-renders the mouth
to the openness the speech asks for (talking_face.drive and .render), closes the eyelids for
natural blinks at irregular intervals, and turns and shifts the head very slightly, with a
small nod on stressed syllables, so the result does not read as a frozen photo.
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np
from pydantic import BaseModel, Field

from deployments.talking_face import drive, render
from deployments.talking_face import tracking as tk
from deployments.talking_face.video_io import VideoWriter, frames_rgb, read_audio
from reelcore.capabilities.face import AnimateInput, RenderedVideo
from reelcore.engine import Call, Engine, OutputFile
from reelcore.errors import NoFaceDetected, UnsupportedMedia


class FaceMeshAvatarConfig(BaseModel):
    fps: float = 25.0
    max_side: int = Field(1280, description="Longer portraits are scaled down to this many pixels.")
    max_gap: float = Field(0.18, description="Inner-lip gap at full openness, in eye distances.")
    preset: str = Field("veryfast", description="x264 preset of the output.")
    crf: int = 20
    seed: int | None = Field(None, description="Fixes the blinks and sway; by default they follow "
                                                 "from the audio, so the same input renders the same.")


class FaceMeshAvatarEngine(Engine):
    Config = FaceMeshAvatarConfig
    methods = {"animate": AnimateInput}
    config: FaceMeshAvatarConfig

    def load(self) -> None:
        tk.check_available()

    def describe(self) -> dict:
        return {"model": "mediapipe face mesh 478 + classical mouth, blink and pose", "device": "cpu"}

    def animate(self, request: AnimateInput, call: Call) -> RenderedVideo:
        portrait = self._portrait(request.image.path)
        tracker = tk.FaceTracker()
        try:
            pts = tracker(portrait)
        finally:
            tracker.close()
        if pts is None:
            raise NoFaceDetected("no face was found in the portrait")
        fps = self.config.fps
        samples = read_audio(request.audio.path)
        frames = max(1, round(len(samples) / drive.RATE * fps))
        curve = drive.mouth_curve(samples, fps, frames, request.words, request.language)
        # Same speech, same blinks: a retried or repeated job renders the same video.
        rng = np.random.default_rng(self.config.seed if self.config.seed is not None
                                    else zlib.crc32(samples.tobytes()))
        blink, pose = drive.blinks(frames, fps, rng), drive.head_sway(frames, fps, rng, curve.openness)
        eye = tk.eye_distance(pts)
        centre = pts.mean(axis=0)
        rest = tk.mouth_half_width(pts)
        height, width = portrait.shape[:2]
        out = call.workdir / "avatar.mp4"
        writer = VideoWriter(out, width, height, fps, self.config.preset, self.config.crf)
        for i in range(frames):
            rgb = portrait.copy()
            render.render_mouth(rgb, pts, curve.openness[i] * self.config.max_gap * eye,
                                half_width=rest + 0.05 * eye * curve.width[i])
            render.render_blink(rgb, pts, blink[i])
            writer.write(render.move_head(rgb, centre, pose.angle_deg[i], tuple(pose.shift[i] * eye),
                                          pose.zoom[i]))
            if i % 25 == 0:
                call.report(0.98 * i / frames)
        writer.finish(request.audio.path)
        return RenderedVideo(video=OutputFile(path=out, content_type="video/mp4"),
                             duration_seconds=round(frames / fps, 3),
                             width=width, height=height, fps=fps,
                             render={"method": "warp",
                                     "reason": "one photo: no other mouths of this person to draw from"})

    def _portrait(self, path) -> np.ndarray:
        """The picture (or a video's first frame) as RGB, at most max_side, even-sized."""
        rgb = next(frames_rgb(path), None)
        if rgb is None:
            raise UnsupportedMedia("the portrait has no picture in it")
        scale = min(1.0, self.config.max_side / max(rgb.shape[:2]))
        size = (round(rgb.shape[1] * scale / 2) * 2, round(rgb.shape[0] * scale / 2) * 2)
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if size != rgb.shape[1::-1] else rgb

"""facemesh-lipsync called directly (no Serve): frames without a face pass through untouched,
and the effect fades in and out around them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from skimage.data import astronaut, coffee

from deployments.facemesh_lipsync import FaceMeshLipsyncEngine, _strength
from deployments.talking_face.video_io import VideoWriter
from reelcore.capabilities.face import LipsyncInput
from reelcore.engine import Call
from reelcore.media import MediaRef, probe
from tests.conftest import STORY
from tests.media import speech


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def face_then_cup(path: Path, size: int = 256, seconds: int = 6) -> list[np.ndarray]:
    """A lossless-enough H.264 clip: the astronaut, a coffee cup for the middle second, the
    astronaut again. Returns the frames as written."""
    import cv2

    face = cv2.resize(astronaut(), (size, size))
    cup = cv2.resize(coffee(), (size, size))
    frames = [cup if 1.5 <= i / 25 < 2.5 else face for i in range(seconds * 25)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width = stream.height = size
        stream.pix_fmt, stream.options = "yuv444p", {"qp": "0"}
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return frames


def local(path: Path) -> MediaRef:
    return MediaRef(key=path.name, media=probe(path), path=path)


def test_frames_without_a_face_pass_through_untouched(tmp_path) -> None:
    written = face_then_cup(tmp_path / "clip.mp4")
    audio = speech(STORY[0], tmp_path / "speech.wav")
    engine = FaceMeshLipsyncEngine()
    engine.load()
    result = engine.lipsync(LipsyncInput(video=local(tmp_path / "clip.mp4"), audio=local(audio)),
                            Call(lambda _: None, tmp_path))
    # The floor: the same frames through the same encoder, untouched.
    plain = VideoWriter(tmp_path / "plain.mp4", 256, 256, 25)
    for rgb in written[:len(frames_of(result.video.path))]:
        plain.write(rgb)
    plain.finish(audio)
    out, floor = frames_of(result.video.path), frames_of(tmp_path / "plain.mp4")
    diff = [np.abs(o.astype(int) - f.astype(int)) for o, f in zip(out, floor, strict=True)]
    cup = [d.mean() for i, d in enumerate(diff) if 1.5 <= i / 25 < 2.5]
    face = [d.max() for i, d in enumerate(diff) if 0.4 <= i / 25 < 1.4]
    assert max(cup) < 1.0, f"frames without a face differ from a plain re-encode: {cup}"
    assert min(face) > 40, f"the mouth was re-rendered in the face frames: {face}"


def test_the_effect_fades_next_to_lost_frames() -> None:
    face = np.zeros((478, 2))
    strength = _strength([face] * 6 + [None] * 2 + [face] * 6)
    assert list(strength[:8]) == [1, 1, 1, 0.75, 0.5, 0.25, 0, 0]
    assert list(strength[8:]) == [0.25, 0.5, 0.75, 1, 1, 1]

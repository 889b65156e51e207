"""scene-detect: shot boundaries, a keyframe and a plain description of each shot.

Three detectors find the boundaries. PySceneDetect's `AdaptiveDetector` finds the hard cuts (a
frame's change measured against its neighbours', so camera motion and dark footage fire less
than a fixed threshold) and its `ThresholdDetector` the fades to and from black; both are cheap.
TransNetV2 (`shot_model.py`) finds what they miss, dissolves above all, where the picture
changes and neither explains why (everywhere on a GPU). Frames come from PyAV (PySceneDetect's
own `VideoStreamAv`, frame-threaded), decoded once and scaled by FFmpeg straight to
`analysis_width` and to TransNetV2's 48x27; the same pass gathers each frame's level, colour
and difference from the last. docs/benchmarks.md §14 measures each detector.

The boundaries are combined so that a fade is one boundary, not three:

- a fade (or a dip to black) cuts once, at the first frame bright enough again after the dark
  stretch (the fade-out and the black belong to the shot before); hard cuts that the detector
  saw in the dark stretch or its ramps are dropped;
- a TransNetV2 transition (a run of frames it finds likely) cuts once, in its middle (the first
  frame after a hard cut, a dissolve's middle frame), and its frames are not used for the facts;
- boundaries closer together than `min_scene_seconds` are merged (a fade's boundary wins);
- a shot that is black throughout joins its neighbour, and no shot is shorter than
  `min_scene_seconds` (the first and last shots included).

Each shot's facts are what the CPU can measure and nothing more: brightness (mean luma),
colour (the dominant hue among its coloured pixels, or grey), motion (mean absolute frame
difference), and the faces MediaPipe's face mesh sees on the keyframe (the frame nearest the
middle of the shot that is not part of a fade or a dissolve). The description is built from
those facts; what is said in each shot is attached by a second method (`describe`) once a
transcript exists.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from pydantic import BaseModel, Field

from deployments import shot_model
from reelcore.capabilities.scenes import (
    DescribedScene,
    DescribedScenes,
    DescribeRequest,
    Scene,
    SceneFacts,
    SceneList,
    ScenesRequest,
    SpokenSegment,
)
from reelcore.engine import Call, Engine, OutputFile, Unavailable
from reelcore.errors import UnsupportedMedia

HUES = ["red", "orange", "yellow", "yellow-green", "green", "teal",
        "cyan", "sky-blue", "blue", "purple", "magenta", "pink"]
"""Names of twelve 30-degree hue sectors, the first centred on red."""
WARM, COOL = {"red", "orange", "yellow", "pink"}, {"teal", "cyan", "sky-blue", "blue", "purple"}


class SceneDetectConfig(BaseModel):
    analysis_width: int = Field(256, ge=32, description="Frames are scaled to this width for detection.")
    thumbnail_width: int = Field(480, ge=32, description="Keyframe JPEG width at most (never upscaled).")
    face_width: int = Field(640, ge=64, description="The keyframe is scaled to this width to look for faces.")
    max_faces: int = Field(4, ge=1, le=16, description="Faces counted on a keyframe at most.")
    jpeg_quality: int = Field(85, ge=10, le=100)
    device: str = Field("cpu", description="torch device for TransNetV2: cpu, cuda, cuda:1...")
    transition_threshold: float = Field(
        0.5, gt=0, lt=1, description="TransNetV2: a frame this likely to be in a transition is in one.")
    screen_change: float = Field(
        0.1, ge=0, le=1, description="TransNetV2 reads only where frames `screen_seconds` apart differ "
        "by more than this (mean absolute difference at 48x27, 0-1) and no cut or fade found by "
        "PySceneDetect lies between them; 0 reads the whole video (for a GPU).")
    screen_seconds: float = Field(2.0, gt=0, le=10,
                                  description="See screen_change: about the longest dissolve to find.")
    bfloat16: bool = Field(True, description="TransNetV2 in bfloat16: half the CPU time where the CPU "
                                             "has AVX512-BF16 or AMX, the same transitions found.")


class _Frames:
    """What the detection pass keeps of each frame (a few numbers, not the pixels)."""

    def __init__(self) -> None:
        self.index: list[int] = []      # CFR frame number (PySceneDetect's position)
        self.seconds: list[float] = []  # presentation time
        self.pts: list[int | None] = []
        self.level: list[float] = []    # mean 8-bit B, G, R (ThresholdDetector's measure)
        self.luma: list[float] = []     # mean luma, 0-1
        self.diff: list[float] = []     # mean |luma - previous luma|, 0-1
        self.coloured: list[float] = []  # fraction of pixels with a definite hue
        self.hues: list[np.ndarray] = []  # chroma-weighted hue histogram (12 sectors)
        self.small: list[np.ndarray] = []  # 27x48 RGB, TransNetV2's input (4 kB a frame)
        self._last: np.ndarray | None = None

    def add(self, index: int, seconds: float, pts: int | None, bgr: np.ndarray, small: np.ndarray) -> None:
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        chroma = hsv[..., 1].astype(np.float32) * hsv[..., 2] / 255**2  # 0-1: how colourful
        mask = chroma >= 0.1
        sector = ((hsv[..., 0][mask].astype(np.int32) + 8) // 15) % 12  # OpenCV hue is 0-179
        self.index.append(index)
        self.small.append(small)
        self.seconds.append(seconds)
        self.pts.append(pts)
        self.level.append(float(bgr.mean()))
        self.luma.append(float(grey.mean()) / 255)
        last, self._last = self._last, grey.astype(np.int16)
        self.diff.append(0.0 if last is None else float(np.abs(self._last - last).mean()) / 255)
        self.coloured.append(float(mask.mean()))
        self.hues.append(np.bincount(sector, weights=chroma[mask], minlength=12))


class SceneDetectEngine(Engine):
    Config = SceneDetectConfig
    methods = {"scenes": ScenesRequest, "add_speech": DescribeRequest}
    config: SceneDetectConfig

    def load(self) -> None:
        self.model = shot_model.load_model(self.config.device)
        try:
            import scenedetect  # noqa: F401
            from scenedetect.backends.pyav import VideoStreamAv  # noqa: F401
        except ImportError as exc:
            raise Unavailable(f"PySceneDetect cannot load: {exc} (pip install --no-deps scenedetect)") from exc
        try:
            _face_mesh(1).close()
        except Exception as exc:  # an import error, a missing model file, a protobuf mismatch
            raise Unavailable(f"mediapipe face mesh cannot load: {type(exc).__name__}: {exc}") from exc

    def describe(self) -> dict:
        return {"model": "TransNetV2 + PySceneDetect AdaptiveDetector and ThresholdDetector, "
                         "MediaPipe face mesh", "device": self.config.device}

    def add_speech(self, request: DescribeRequest, call: Call) -> DescribedScenes:
        """Each scene with the words said during it, appended to its description."""
        return DescribedScenes(scenes=[_with_speech(scene, request.segments) for scene in request.scenes])

    def scenes(self, request: ScenesRequest, call: Call) -> SceneList:
        path = request.video.path
        _check_video(path)
        frames, hard, fades, fps = _first_pass(path, request, self.config.analysis_width, call)
        min_frames = max(1, round(request.min_scene_seconds * fps))
        level = np.array(frames.level)
        in_transition, cuts = self._transitions(frames, hard, fades, request.fade_threshold, fps, call)
        bounds = _boundaries(sorted({*hard, *cuts}), fades, level, request.fade_threshold, min_frames,
                             len(level))
        call.report(0.86)
        scenes = self._describe_scenes(path, frames, bounds, request.fade_threshold, in_transition, fps, call)
        call.report(1.0)
        return SceneList(scenes=scenes, detector="transnetv2+pyscenedetect adaptive+threshold",
                         fps=round(fps, 3))

    def _transitions(self, frames: _Frames, hard: list[int], fades: list[int], dark: float, fps: float,
                     call: Call) -> tuple[np.ndarray, list[int]]:
        """TransNetV2 where the picture changes and PySceneDetect's cuts and fades do not explain
        it: which rows are in a transition, and the cut of each transition."""
        config, level = self.config, np.array(frames.level)
        lag = max(1, round(config.screen_seconds * fps))
        explained = [(c - 1, c) for c in hard] + [(_dark_start(c, level, dark) - lag, c + lag) for c in fades]
        small = np.stack(frames.small)
        stretches = shot_model.changing_stretches(small, lag, config.screen_change, explained)
        probability = shot_model.transition_probability(
            self.model, small, stretches, config.bfloat16, lambda done: call.report(0.6 + 0.25 * done))
        found = shot_model.transitions(probability, config.transition_threshold)
        in_transition = np.zeros(len(small), dtype=bool)
        for first, end, _ in found:
            in_transition[first:end] = True
        return in_transition, [cut for _, _, cut in found]

    def _describe_scenes(self, path: Path, frames: _Frames, bounds: list[int], fade_threshold: float,
                         in_transition: np.ndarray, fps: float, call: Call) -> list[Scene]:
        level, luma, diff = np.array(frames.level), np.array(frames.luma), np.array(frames.diff)
        coloured, hues = np.array(frames.coloured), np.stack(frames.hues)
        spans = list(itertools.pairwise(bounds))
        picked = []
        for a, b in spans:
            steady = _steady(level[a:b], fade_threshold, in_transition[a:b])
            rows = np.arange(a, b)[steady]
            picked.append((rows, int(rows[np.argmin(np.abs(rows - (a + b - 1) / 2))])))
        keyframes = _keyframes(path, [(k, frames.pts[k]) for _, k in picked])
        mesh = _face_mesh(self.config.max_faces)
        scenes = []
        try:
            for i, ((a, b), (rows, _), frame) in enumerate(zip(spans, picked, keyframes, strict=True)):
                thumb = call.workdir / f"scene-{i:04d}.jpg"
                width = min(self.config.thumbnail_width, frame.width)
                image = frame.reformat(width=width, height=_scaled_height(frame, width), format="bgr24")
                cv2.imwrite(str(thumb), image.to_ndarray(),
                            [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality])
                width = min(self.config.face_width, frame.width)
                faces = _count_faces(mesh, frame.reformat(width=width, height=_scaled_height(frame, width),
                                                          format="rgb24").to_ndarray(), self.config.max_faces)
                start = frames.seconds[a]
                end = frames.seconds[b] if b < len(frames.seconds) else frames.seconds[-1] + 1 / fps
                moving = rows[1:][np.isin(rows[1:] - 1, rows)]  # differences within the shot only
                brightness = float(luma[rows].mean())
                motion = float(diff[moving].mean()) if len(moving) else 0.0
                colour, plain, hue = _colour(hues[rows].sum(0), float(coloured[rows].mean()), brightness)
                scenes.append(Scene(
                    index=i, start=round(start, 3), end=round(end, 3),
                    thumbnail=OutputFile(path=thumb, content_type="image/jpeg"),
                    description=_sentence(motion, brightness, plain, hue, faces, self.config.max_faces,
                                          end - start),
                    brightness=round(brightness, 3), colour=colour, motion=round(motion, 4), faces=faces))
                call.report(0.86 + 0.14 * (i + 1) / len(spans))
        finally:
            keyframes.close()
            mesh.close()
        return scenes


# --- decoding ----------------------------------------------------------------------------------


def _check_video(path: Path) -> None:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UnsupportedMedia("the input has no video stream: scene detection needs pictures")
    except av.FFmpegError as exc:
        raise UnsupportedMedia(f"the video cannot be decoded: {exc}") from exc


def _first_pass(path: Path, request: ScenesRequest, width: int,
                call: Call) -> tuple[_Frames, list[int], list[int], float]:
    """One decoding pass: every frame's numbers and 48x27 copy, and the rows where PySceneDetect
    saw a hard cut and where it saw a fade end (progress 0-0.6)."""
    from scenedetect import AdaptiveDetector, SceneManager, ThresholdDetector

    stream = _open_stream(path, width)
    frames = _Frames()
    total = max(int(stream.duration.frame_num) if stream.duration is not None else 0, 1)

    def on_frame(bgr: np.ndarray, small: np.ndarray) -> None:
        frames.add(stream.position.frame_num, stream.position_ms / 1000, stream.frame_pts, bgr, small)
        if len(frames.index) % 25 == 0:
            call.report(0.6 * min(len(frames.index) / total, 1.0))

    stream.on_frame = on_frame
    fps = float(stream.frame_rate)
    min_frames = max(1, round(request.min_scene_seconds * fps))
    hard = _Tap(AdaptiveDetector(adaptive_threshold=request.cut_threshold,
                                 min_content_val=request.min_content_val, min_scene_len=min_frames))
    fades = _Tap(ThresholdDetector(threshold=request.fade_threshold, min_scene_len=min_frames, fade_bias=1.0))
    manager = SceneManager()
    manager.auto_downscale = False  # frames arrive already scaled
    manager.add_detector(hard)
    manager.add_detector(fades)
    try:
        manager.detect_scenes(video=stream)
    except av.FFmpegError as exc:
        raise UnsupportedMedia(f"the video cannot be decoded: {exc}") from exc
    if not frames.index:
        raise UnsupportedMedia("the video has no decodable frames")
    position = {n: i for i, n in enumerate(frames.index)}  # frame number -> row

    def rows(found: list[int]) -> list[int]:
        return sorted({position[n] for n in found if n in position})

    return frames, rows(hard.cuts), rows(fades.cuts), fps


def _open_stream(path: Path, width: int):
    """PySceneDetect's PyAV stream, handing out frames FFmpeg has already scaled to `width` (and
    to TransNetV2's 48x27 RGB, for `on_frame`)."""
    from scenedetect import VideoOpenFailure
    from scenedetect.backends.pyav import VideoStreamAv

    class ScaledStream(VideoStreamAv):
        on_frame = None

        def __init__(self) -> None:
            super().__init__(str(path), threading_mode="AUTO", suppress_output=True)
            context = self._codec_context
            self.size = (min(width, context.width), 0)
            self.size = (self.size[0], max(2, round(context.height * self.size[0] / context.width)))
            self.frame_pts: int | None = None

        @property
        def frame_size(self) -> tuple[int, int]:
            return self.size

        def read(self, decode: bool = True):
            got = super().read(decode=False)
            if got is False or isinstance(got, np.ndarray):  # at the end, or read again within
                return got if decode else got is not False
            frame = self._frame.reformat(width=self.size[0], height=self.size[1], format="bgr24")
            bgr = frame.to_ndarray()
            self.frame_pts = self._frame.pts
            if self.on_frame is not None:
                small = self._frame.reformat(width=48, height=27, format="rgb24").to_ndarray()
                self.on_frame(bgr, small)
            return bgr if decode else True

    try:
        return ScaledStream()
    except VideoOpenFailure as exc:
        raise UnsupportedMedia(f"the video cannot be opened: {exc}") from exc
    except Exception as exc:  # FrameRateUnavailable and other refusals of an odd stream
        if isinstance(exc, OSError):
            raise
        raise UnsupportedMedia(f"the video cannot be read: {type(exc).__name__}: {exc}") from exc


def _keyframes(path: Path, wanted: list[tuple[int, int | None]]) -> Iterator[av.VideoFrame]:
    """The frame of each (row of the detection pass, timestamp) in `wanted`, one at a time:
    found by seeking to its timestamp, or by counting from the start when that fails."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for row, target in wanted:
            found = None
            if target is not None:
                container.seek(target, stream=stream, backward=True, any_frame=False)
                for frame in container.decode(stream):
                    if frame.pts == target:
                        found = frame
                    if frame.pts is None or frame.pts >= target:
                        break
            if found is None:  # no timestamps, or a seek that landed past its frame
                container.seek(0, stream=stream)
                for n, frame in enumerate(container.decode(stream)):
                    found = frame
                    if n == row:
                        break
            yield found


def _scaled_height(frame: av.VideoFrame, width: int) -> int:
    return max(2, round(frame.height * width / frame.width / 2) * 2)


# --- combining boundaries ----------------------------------------------------------------------


class _Tap:
    """A detector whose cuts are also kept here, to tell a fade's cut from a hard one."""

    def __init__(self, detector) -> None:
        self.detector = detector
        self.cuts: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.detector, name)

    def process_frame(self, timecode, frame_img):
        cuts = self.detector.process_frame(timecode, frame_img)
        self.cuts += [int(getattr(c, "frame_num", c)) for c in cuts]  # 0.6 gives ints
        return cuts

    def post_process(self, timecode):
        cuts = self.detector.post_process(timecode)
        self.cuts += [int(getattr(c, "frame_num", c)) for c in cuts]  # 0.6 gives ints
        return cuts


def _boundaries(hard: list[int], fades: list[int], level: np.ndarray, dark: float, min_frames: int,
                count: int) -> list[int]:
    """Scene starts (rows) and the end, from the detectors' cuts: see the module docstring."""
    pad = max(min_frames, 3)
    stretches = [(_dark_start(cut, level, dark), cut) for cut in fades]
    hard = [c for c in hard if not any(first - pad <= c <= cut + pad for first, cut in stretches)]
    kept: list[tuple[int, bool]] = []
    for cut, is_fade in sorted([(c, False) for c in hard] + [(c, True) for c in fades]):
        if kept and cut - kept[-1][0] < min_frames:
            if is_fade and not kept[-1][1]:
                kept[-1] = (cut, True)
            continue
        kept.append((cut, is_fade))
    cuts = [c for c, _ in kept if min_frames <= c <= count - min_frames and c > 0]
    bounds = [0, *cuts, count]
    changed = True
    while changed and len(bounds) > 2:  # a shot that is black throughout joins its neighbour
        changed = False
        for i in range(len(bounds) - 1):
            if np.median(level[bounds[i]:bounds[i + 1]]) < dark:
                del bounds[i if i > 0 else 1]
                changed = True
                break
    return bounds


def _dark_start(cut: int, level: np.ndarray, dark: float) -> int:
    """The first row of the dark stretch that a fade's cut ends."""
    first = cut
    while first > 0 and level[first - 1] < dark:
        first -= 1
    return first


def _steady(level: np.ndarray, dark: float, in_transition: np.ndarray) -> np.ndarray:
    """The frames of a shot that are not part of a fade or a dissolve (all of them when it is
    dark throughout or a transition throughout)."""
    keep = level >= 0.6 * np.median(level)
    if level.max() >= dark:
        keep &= level >= dark
    if (keep & ~in_transition).any():
        keep &= ~in_transition
    return keep if keep.any() else np.ones_like(keep)


# --- what the shot looks like ------------------------------------------------------------------


def _colour(hist: np.ndarray, coloured: float, brightness: float) -> tuple[str, str, str | None]:
    """A plain colour name with its shade ('dark blue-grey'), without it ('blue-grey'), and the
    dominant hue when the shot is clearly coloured (a quarter of its pixels or more)."""
    hue = HUES[int(np.argmax(hist))] if hist.sum() > 0 else None
    if coloured < 0.05 or hue is None:
        if brightness < 0.1:
            return "black", "black", None
        if brightness > 0.9:
            return "white", "white", None
        name = "grey"
    elif coloured < 0.25:
        name = f"{hue}-grey"
    else:
        name = hue
    shade = "dark " if brightness < 0.3 else "light " if brightness > 0.7 else ""
    return shade + name, name, hue if coloured >= 0.25 else None


def _sentence(motion: float, brightness: float, colour: str, hue: str | None, faces: int,
              max_faces: int, seconds: float) -> str:
    """E.g. 'A still, bright, warm-toned shot (mostly orange) with one face, 4.2 s.'"""
    moving = ("still" if motion < 0.01 else "slowly moving" if motion < 0.03
              else "moving" if motion < 0.08 else "fast-moving")
    light = ("very dark" if brightness < 0.12 else "dark" if brightness < 0.3
             else "moderately lit" if brightness < 0.55 else "bright" if brightness < 0.8 else "very bright")
    words = [moving, light]
    if hue in WARM or hue in COOL:
        words.append("warm-toned" if hue in WARM else "cool-toned")
    people = ("no faces" if faces == 0 else "one face" if faces == 1
              else f"{faces} or more faces" if faces >= max_faces else f"{faces} faces")
    return f"A {', '.join(words)} shot (mostly {colour}) with {people}, {seconds:.1f} s."


def _face_mesh(num_faces: int):
    """MediaPipe's face-mesh graph for up to `num_faces` faces (see talking_face.tracking)."""
    from mediapipe.python.solution_base import SolutionBase
    from mediapipe.python.solutions import face_mesh as mp_face_mesh

    return SolutionBase(
        binary_graph_path=mp_face_mesh._BINARYPB_FILE_PATH,
        side_inputs={"num_faces": num_faces, "with_attention": False, "use_prev_landmarks": False},
        outputs=["multi_face_landmarks"],
    )


def _count_faces(mesh, rgb: np.ndarray, max_faces: int) -> int:
    """Faces on the whole frame; when there is none, the most in any half-size square of it
    (MediaPipe's detector misses faces under about a tenth of the frame)."""
    found = len(mesh.process({"image": np.ascontiguousarray(rgb)}).multi_face_landmarks or [])
    if found:
        return min(found, max_faces)
    h, w = rgb.shape[:2]
    side = min(h, w) // 2
    for y in range(0, max(h - side, 0) + 1, max(side // 2, 1)):
        for x in range(0, max(w - side, 0) + 1, max(side // 2, 1)):
            crop = cv2.resize(rgb[y:y + side, x:x + side], (256, 256), interpolation=cv2.INTER_AREA)
            found = max(found, len(mesh.process({"image": crop}).multi_face_landmarks or []))
    return min(found, max_faces)


# --- what was said -----------------------------------------------------------------------------


def _with_speech(scene: SceneFacts, segments: list[SpokenSegment]) -> DescribedScene:
    """The scene with the text of the segments that overlap it by at least half of the segment
    or half of the scene, and its description ending in `Said: "..."` when there is any."""
    length = scene.end - scene.start
    said = " ".join(
        s.text.strip() for s in sorted(segments, key=lambda s: s.start)
        if s.text.strip() and (overlap := min(s.end, scene.end) - max(s.start, scene.start)) > 0
        and (overlap >= 0.5 * (s.end - s.start) or overlap >= 0.5 * length))
    description = scene.description
    if said:
        description = f'{description} Said: "{said}"'
    return DescribedScene(**{**scene.model_dump(), "description": description, "said": said})

"""Face landmarks for the talking-face engines: MediaPipe face mesh (mediapipe==0.10.21).

The mesh is built through `SolutionBase` without `calculator_params`: mediapipe 0.10.21 reads
`FieldDescriptor.label`, which protobuf >= 6 no longer has, and the defaults it would set
(0.5 thresholds) are the graph's own defaults anyway.

A face is found once on the whole frame, then tracked in a square crop around the last
landmarks (faster and steadier than a full-frame pass). A video's track is smoothed offline
over time, which the engines can afford because they see the whole clip before rendering:
no jitter, no lag.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from reelcore.engine import Unavailable

CROP_SIZE = 256
# Landmark indices (MediaPipe face mesh, 478 points with attention).
UPPER_INNER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER_LIP = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
UPPER_OUTER_LIP = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_OUTER_LIP = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
MOUTH_CORNERS = (61, 291)
INNER_LIP_PAIRS = [(82, 87), (13, 14), (312, 317)]
JAW = [132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361]
NOSE_BASE = [2, 98, 327, 64, 294]
LOWER_FACE = JAW + NOSE_BASE + UPPER_OUTER_LIP + LOWER_OUTER_LIP
# Points that speech does not move (eye corners, nose, upper cheeks): they place one frame's
# lower face onto another's.
STABLE = [33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 98, 327, 50, 280, 117, 346, 123, 352]
NOSE_TIP, CHIN = 1, 152
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
# Each eye: outer corner, upper lid (outer -> inner), inner corner, lower lid (outer -> inner).
EYES = [
    (33, [246, 161, 160, 159, 158, 157, 173], 133, [7, 163, 144, 145, 153, 154, 155]),
    (263, [466, 388, 387, 386, 385, 384, 398], 362, [249, 390, 373, 374, 380, 381, 382]),
]
EYEBROWS = [[70, 63, 105, 66, 107], [300, 293, 334, 296, 336]]


def face_mesh(faces: int = 1):
    """A MediaPipe face-mesh graph for up to `faces` faces with refined (attention) lips and eyes."""
    from mediapipe.python.solution_base import SolutionBase
    from mediapipe.python.solutions import face_mesh as mp_face_mesh

    return SolutionBase(
        binary_graph_path=mp_face_mesh._BINARYPB_FILE_PATH,
        side_inputs={"num_faces": faces, "with_attention": True, "use_prev_landmarks": False},
        outputs=["multi_face_landmarks"],
    )


def all_landmarks(mesh, rgb: np.ndarray) -> list[np.ndarray]:
    """478 (x, y) pixel landmarks of each face the mesh finds in `rgb`."""
    out = mesh.process({"image": np.ascontiguousarray(rgb)}).multi_face_landmarks or []
    h, w = rgb.shape[:2]
    return [np.array([(p.x * w, p.y * h) for p in face.landmark], dtype=np.float64) for face in out]


def landmarks(mesh, rgb: np.ndarray) -> np.ndarray | None:
    """The landmarks of the first face found in `rgb`, or None when there is none."""
    found = all_landmarks(mesh, rgb)
    return found[0] if found else None


def find_faces(mesh, rgb: np.ndarray, size: int = CROP_SIZE) -> list[np.ndarray]:
    """Every face in `rgb` (up to the mesh's count per look): the whole frame, then squares of
    its shorter side across the longer one (the detector misses faces in wide frames), each face
    once."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    found = all_landmarks(mesh, rgb)
    for x in range(0, w - side + 1, max(side // 2, 1)):
        for y in range(0, h - side + 1, max(side // 2, 1)):
            crop = cv2.resize(rgb[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
            found += [pts * side / size + [x, y] for pts in all_landmarks(mesh, crop)]
    faces: list[np.ndarray] = []
    for pts in found:
        if all(np.linalg.norm(pts.mean(axis=0) - f.mean(axis=0)) > 0.5 * eye_distance(f) for f in faces):
            faces.append(pts)
    return faces


def nearest_face(faces: list[np.ndarray], point: tuple[float, float]) -> np.ndarray | None:
    """The face whose landmarks' centre is closest to `point` (x, y)."""
    if not faces:
        return None
    return min(faces, key=lambda pts: float(np.linalg.norm(pts.mean(axis=0) - point)))


def _in_crop(mesh, rgb: np.ndarray, box: tuple[float, float, float], size: int) -> np.ndarray | None:
    h, w = rgb.shape[:2]
    cx, cy, half = box
    x0, y0 = int(max(cx - half, 0)), int(max(cy - half, 0))
    x1, y1 = int(min(cx + half, w)), int(min(cy + half, h))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    crop = cv2.resize(rgb[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
    pts = landmarks(mesh, crop)
    return None if pts is None else pts * [(x1 - x0) / size, (y1 - y0) / size] + [x0, y0]


class FaceTracker:
    """Landmarks frame after frame, following the face in a crop; re-detects when lost.

    With an `anchor` point (x, y) the tracker follows the face nearest it: each full-frame
    detection looks for several faces and keeps that one, and the anchor then moves with it.
    """

    def __init__(self, size: int = CROP_SIZE, anchor: tuple[float, float] | None = None) -> None:
        self.mesh = face_mesh()
        self.size = size
        self.box: tuple[float, float, float] | None = None
        self.anchor = anchor
        self.finder = face_mesh(4) if anchor is not None else None

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        pts = None
        if self.box is not None:
            for grow in (1.0, 2.0):
                cx, cy, half = self.box
                pts = _in_crop(self.mesh, rgb, (cx, cy, half * grow), self.size)
                if pts is not None:
                    break
        if pts is None and self.anchor is not None:
            pts = self._near(rgb, self.anchor)
        elif pts is None:
            pts = landmarks(self.mesh, rgb)
        if pts is None:
            pts = self._search(rgb)
        if pts is None:
            self.box = None
            return None
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        self.box = ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, 0.8 * max(hi - lo))
        if self.anchor is not None:
            self.anchor = (self.box[0], self.box[1])
        return pts

    def _near(self, rgb: np.ndarray, point: tuple[float, float]) -> np.ndarray | None:
        """The face around `point`: squares of growing size centred on it, then the nearest of
        the faces a full-frame pass finds."""
        side = min(rgb.shape[:2])
        for half in (0.25 * side, 0.4 * side, 0.6 * side):
            pts = _in_crop(self.mesh, rgb, (point[0], point[1], half), self.size)
            if pts is not None:
                return pts
        return nearest_face(all_landmarks(self.finder, rgb), point)

    def _search(self, rgb: np.ndarray) -> np.ndarray | None:
        """Look for a small face in overlapping squares of half the frame's shorter side.

        MediaPipe's detector works on the whole frame scaled to 128 px and misses faces under
        about a tenth of the frame (a head and shoulders in a wide 720p shot)."""
        h, w = rgb.shape[:2]
        side = min(h, w) // 2
        for y in range(0, max(h - side, 0) + 1, side // 2):
            for x in range(0, max(w - side, 0) + 1, side // 2):
                pts = _in_crop(self.mesh, rgb, (x + side / 2, y + side / 2, side / 2), self.size)
                if pts is not None:
                    return pts
        return None

    def close(self) -> None:
        self.mesh.close()
        if self.finder is not None:
            self.finder.close()


def track(frames: Iterable[np.ndarray]) -> list[np.ndarray | None]:
    """Landmarks for each RGB frame (None where no face is found)."""
    tracker = FaceTracker()
    try:
        return [tracker(rgb) for rgb in frames]
    finally:
        tracker.close()


def smooth(track_pts: list[np.ndarray | None], fps: float, window_s: float = 0.12,
           lips_window_s: float = 0.04) -> list[np.ndarray | None]:
    """The track smoothed over time by centred Gaussians, within each run of found frames.

    Landmarks jitter by a pixel or two from frame to frame; rendering from raw landmarks makes
    the re-drawn mouth shimmer. The lips get a shorter window: their own fast motion must be
    measured exactly to be neutralised.
    """
    out: list[np.ndarray | None] = list(track_pts)
    lips = sorted(set(UPPER_INNER_LIP + LOWER_INNER_LIP + UPPER_OUTER_LIP + LOWER_OUTER_LIP))
    for start, stop in _runs([p is not None for p in track_pts]):
        run = np.stack(track_pts[start:stop])  # type: ignore[arg-type]
        smoothed = _gaussian(run, window_s * fps)
        smoothed[:, lips] = _gaussian(run[:, lips], lips_window_s * fps)
        out[start:stop] = list(smoothed)
    return out


def _gaussian(run: np.ndarray, width_frames: float) -> np.ndarray:
    """`run` [frames, ...] filtered along time by a Gaussian `width_frames` wide (edges held)."""
    sigma = max(width_frames / 2, 0.3)
    radius = max(int(3 * sigma), 1)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.concatenate([run[:1].repeat(radius, 0), run, run[-1:].repeat(radius, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=0)
    return np.tensordot(windows, kernel / kernel.sum(), axes=([-1], [0]))


def _runs(found: list[bool]) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, ok in enumerate([*found, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            runs.append((start, i))
            start = None
    return runs


def eye_distance(pts: np.ndarray) -> float:
    """Outer eye-corner distance: the face's scale, steady while the mouth moves."""
    return float(np.linalg.norm(pts[RIGHT_EYE_OUTER] - pts[LEFT_EYE_OUTER]))


def mouth_half_width(pts: np.ndarray) -> float:
    """Half the distance between the outer mouth corners (61-291), in pixels."""
    return float(np.linalg.norm(pts[MOUTH_CORNERS[0]] - pts[MOUTH_CORNERS[1]])) / 2


def inner_lip_gap(pts: np.ndarray) -> float:
    """Inner-lip gap (13-14) / eye distance: how open the mouth is."""
    return float(np.linalg.norm(pts[13] - pts[14])) / eye_distance(pts)


def yaw(pts: np.ndarray) -> float:
    """Nose tip's sideways offset from between the eyes, in eye distances (0 = facing us)."""
    axis = pts[LEFT_EYE_OUTER] - pts[RIGHT_EYE_OUTER]
    offset = pts[NOSE_TIP] - (pts[LEFT_EYE_OUTER] + pts[RIGHT_EYE_OUTER]) / 2
    return float(offset @ axis / (axis @ axis))


def pitch(pts: np.ndarray) -> float:
    """Nose tip's offset below the eye line, in eye distances (grows as the head tips down)."""
    axis = pts[LEFT_EYE_OUTER] - pts[RIGHT_EYE_OUTER]
    across = np.array([-axis[1], axis[0]])
    offset = pts[NOSE_TIP] - (pts[LEFT_EYE_OUTER] + pts[RIGHT_EYE_OUTER]) / 2
    return float(abs(offset @ across) / (axis @ axis))


def check_available() -> None:
    """Raise Unavailable when mediapipe or its face-mesh graph cannot be loaded here."""
    try:
        face_mesh().close()
    except Exception as exc:  # an import error, a missing model file, a protobuf mismatch
        raise Unavailable(f"mediapipe face mesh cannot load: {type(exc).__name__}: {exc}") from exc

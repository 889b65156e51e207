"""The clip as its own library of mouths (Video Rewrite, Bregler et al. 1997; "Synthesizing
Obama", Suwajanakorn et al. 2017): each tracked source frame lends its lower face, nose to
below the chin, at its native resolution, described by its mouth shape and head pose.

A new mouth is then always a real one of that person, with their own lips, teeth, tongue and
light, never a painted one. Only lower-face crops are kept, so a long clip costs a bounded
amount of memory: past `budget_mb` the library keeps evenly spaced blocks of consecutive
frames (consecutive frames are what makes a chosen run of mouths move smoothly).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from deployments.talking_face import tracking as tk

BLOCK = 25  # frames per kept block when the library must be thinned


@dataclass
class MouthPatch:
    pixels: np.ndarray  # RGB crop of the lower face
    origin: np.ndarray  # (x, y) of the crop in its frame
    pts: np.ndarray  # [478, 2] landmarks in crop coordinates
    frame: int  # source frame index


@dataclass
class MouthLibrary:
    patches: list[MouthPatch] = field(default_factory=list)
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # see describe()
    thumbs: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))

    @property
    def opening(self) -> np.ndarray:
        return self.features[:, 0]

    @property
    def width(self) -> np.ndarray:
        return self.features[:, 1]

    def opening_range(self) -> tuple[float, float]:
        """The person's closed and wide-open inner-lip gaps (eye distances) in this clip."""
        return float(np.percentile(self.opening, 3)), float(np.percentile(self.opening, 97))

    def width_range(self) -> tuple[float, float, float]:
        """Rounded, neutral and spread mouth widths (eye distances) in this clip."""
        low, mid, high = np.percentile(self.width, [5, 50, 95])
        return float(low), float(mid), float(high)


def describe(pts: np.ndarray) -> np.ndarray:
    """Mouth shape and head pose of one face: inner-lip gap and inner mouth width (both in eye
    distances), yaw and pitch (nose offsets from the eyes, in eye distances)."""
    eye = tk.eye_distance(pts)
    gap = np.mean([np.linalg.norm(pts[a] - pts[b]) for a, b in tk.INNER_LIP_PAIRS]) / eye
    width = np.linalg.norm(pts[78] - pts[308]) / eye
    return np.array([gap, width, tk.yaw(pts), tk.pitch(pts)])


def lower_face_box(pts: np.ndarray, shape: tuple[int, ...], margin: float = 0.6) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around the nose base, mouth, jaw and chin, `margin` eye distances wider
    (room below the chin for a mouth that opens wider than this frame's)."""
    eye = tk.eye_distance(pts)
    region = pts[tk.LOWER_FACE]
    lo, hi = region.min(axis=0) - margin * eye, region.max(axis=0) + margin * eye
    h, w = shape[:2]
    return int(max(lo[0], 0)), int(max(lo[1], 0)), int(min(hi[0], w)), int(min(hi[1], h))


def mouth_thumb(pts: np.ndarray, rgb: np.ndarray, size: tuple[int, int] = (24, 16)) -> np.ndarray:
    """A small grey, contrast-normalised picture of the mouth: how alike two mouths look."""
    eye = tk.eye_distance(pts)
    lips = pts[tk.UPPER_OUTER_LIP + tk.LOWER_OUTER_LIP]
    lo, hi = lips.min(axis=0) - 0.08 * eye, lips.max(axis=0) + 0.08 * eye
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    crop = rgb[y0:max(int(hi[1]), y0 + 2), x0:max(int(hi[0]), x0 + 2)]
    grey = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    grey = grey.astype(np.float32).ravel()
    return (grey - grey.mean()) / (grey.std() + 1e-3)


class LibraryBuilder:
    """Collects lower-face crops frame by frame while the clip is tracked."""

    def __init__(self, budget_mb: float, expected_frames: int) -> None:
        self.budget = budget_mb * 2**20
        self.expected = max(expected_frames, 1)
        self.keep_every: int | None = None  # thinning, decided on the first face's size
        self.patches: list[MouthPatch] = []
        self.thumbs: list[np.ndarray] = []

    def add(self, k: int, rgb: np.ndarray, pts: np.ndarray | None) -> None:
        if pts is None:
            return
        x0, y0, x1, y1 = lower_face_box(pts, rgb.shape)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return
        if self.keep_every is None:
            need = self.expected * (x1 - x0) * (y1 - y0) * 3 * 1.3
            self.keep_every = max(1, int(np.ceil(need / self.budget)))
        if (k // BLOCK) % self.keep_every:
            return
        self.patches.append(MouthPatch(rgb[y0:y1, x0:x1].copy(), np.array([x0, y0], float),
                                       pts - [x0, y0], k))
        self.thumbs.append(mouth_thumb(pts, rgb))

    def build(self, smoothed: list[np.ndarray | None]) -> MouthLibrary:
        """The library, with each patch's landmarks replaced by the smoothed track's."""
        kept, thumbs = [], []
        for patch, thumb in zip(self.patches, self.thumbs, strict=True):
            pts = smoothed[patch.frame] if patch.frame < len(smoothed) else None
            if pts is not None:
                patch.pts = pts - patch.origin
                kept.append(patch)
                thumbs.append(thumb)
        features = np.array([describe(p.pts) for p in kept]) if kept else np.zeros((0, 4))
        return MouthLibrary(kept, features, np.array(thumbs) if thumbs else np.zeros((0, 1)))

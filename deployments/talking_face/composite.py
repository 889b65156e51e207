"""A library mouth put into another frame of the same person: warped into that frame's head
pose, matched to its light, and blended without a seam.

The warp is the affine map that best carries the patch's stable landmarks (eye corners, nose,
upper cheeks: speech does not move them) onto the frame's. The blended region is the convex
hull of the mouth, chin and jaw of both faces (the frame's own, which must disappear, and the
patch's, which must appear whole: an opening jaw reaches lower), grown a little and feathered.
The patch's colour is shifted by the difference of the two in the feathered band, so a change
of exposure between the frames leaves no edge. The mask fades out above the frame's nostrils:
grown and feathered, the hull would otherwise reach them, and another frame's nose blended over
this one shows as a doubled nostril.
"""

from __future__ import annotations

import cv2
import numpy as np

from deployments.talking_face import tracking as tk
from deployments.talking_face.mouth_library import MouthPatch

# Outline of what a speaking mouth moves: lips, the skin under the nose, chin and lower jaw.
MOVING = tk.UPPER_OUTER_LIP + tk.LOWER_OUTER_LIP + tk.JAW[2:-2] + [164, 167, 393, 92, 322]
GROW = 0.12  # eye distances added around the hull
FEATHER = 0.07  # eye distances of soft edge


def placement(patch: MouthPatch, pts: np.ndarray) -> np.ndarray:
    """The 2x3 affine map from the patch's crop to the frame of `pts` (least squares on the
    stable landmarks)."""
    src = np.c_[patch.pts[tk.STABLE], np.ones(len(tk.STABLE))]
    solution, *_ = np.linalg.lstsq(src, pts[tk.STABLE], rcond=None)
    return solution.T


def paste_mouth(frame: np.ndarray, pts: np.ndarray, patch: MouthPatch, strength: float = 1.0) -> np.ndarray:
    """`frame` (RGB, changed in place and returned) with its mouth, chin and jaw replaced by the
    patch's; `strength` in 0..1 fades the patch in (next to frames where tracking was lost)."""
    eye = tk.eye_distance(pts)
    affine = placement(patch, pts)
    moved = patch.pts @ affine[:, :2].T + affine[:, 2]
    region = np.vstack([pts[MOVING], moved[MOVING]])
    hull = cv2.convexHull(region.astype(np.float32)).reshape(-1, 2)
    centre = hull.mean(axis=0)
    reach = np.maximum(np.linalg.norm(hull - centre, axis=1), 1)
    hull = centre + (hull - centre) * (1 + GROW * eye / reach)[:, None]
    pad = 3 * FEATHER * eye
    h, w = frame.shape[:2]
    x0, y0 = (np.floor(hull.min(axis=0) - pad)).astype(int).clip(0)
    x1, y1 = np.ceil(hull.max(axis=0) + pad).astype(int)
    x1, y1 = min(x1, w), min(y1, h)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return frame
    size = (x1 - x0, y1 - y0)
    shift = affine.copy()
    shift[:, 2] -= (x0, y0)
    warped = cv2.warpAffine(patch.pixels, shift, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    covered = cv2.warpAffine(np.ones(patch.pixels.shape[:2], np.float32), shift, size, flags=cv2.INTER_LINEAR)
    mask = np.zeros((size[1], size[0]), np.float32)
    cv2.fillConvexPoly(mask, np.round(hull - (x0, y0)).astype(np.int32), 1.0, lineType=cv2.LINE_AA)
    sigma = max(FEATHER * eye, 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), sigma) * cv2.erode(covered, np.ones((3, 3), np.uint8)) * strength
    mask *= below_nose(pts, y0, size[1], sigma)[:, None]
    target = frame[y0:y1, x0:x1].astype(np.float32)
    warped = warped.astype(np.float32)
    band = (mask > 0.05) & (mask < 0.6)
    if band.sum() > 16:
        warped += target[band].mean(axis=0) - warped[band].mean(axis=0)
    alpha = mask[..., None]
    frame[y0:y1, x0:x1] = np.clip(warped * alpha + target * (1 - alpha), 0, 255).astype(np.uint8)
    return frame


def below_nose(pts: np.ndarray, top: int, rows: int, soft: float) -> np.ndarray:
    """Per row from `top`, 0 down to the frame's nostrils (the lowest nose-base landmark) and
    rising to 1 over `soft` pixels below them: the skin under the nose still moves with the lip."""
    nostrils = pts[tk.NOSE_BASE, 1].max()
    return np.clip((np.arange(top, top + rows) - nostrils) / soft, 0, 1).astype(np.float32)

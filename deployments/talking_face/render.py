"""Warps that make a face speak: the mouth opened to a given gap, the eyelids closed, the head
turned a little. Each works on a region around the feature only, in that feature's own frame
(u along it, v across it, downwards), so a tilted face is handled like an upright one.

The mouth is re-rendered rather than pasted: everything below the upper inner lip (lower lip,
chin) is displaced by the difference between the wanted and the present inner-lip gap, which
both opens a closed mouth and closes an open one (the original motion is neutralised), and the
gap that opens is painted as a mouth interior lit like the face. The displacement fades to zero
at the region's edges, so there is no seam to blend.
"""

from __future__ import annotations

import cv2
import numpy as np

from deployments.talking_face import tracking as tk


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _axes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along a->b and across it, the second pointing down the image."""
    e1 = (b - a) / max(np.linalg.norm(b - a), 1e-6)
    e2 = np.array([-e1[1], e1[0]])
    return e1, (e2 if e2[1] >= 0 else -e2)


def _curve(local: np.ndarray, index: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """A lip or lid contour as v(u), sorted by u, for np.interp."""
    pts = local[index]
    order = np.argsort(pts[:, 0])
    return pts[order, 0], pts[order, 1]


def _region(img: np.ndarray, centre, e1, e2, u_range, v_range):
    """Pixel grid (x, y, u, v) of the image box covering a rectangle in local coordinates."""
    corners = [centre + u * e1 + v * e2 for u in u_range for v in v_range]
    lo = np.floor(np.min(corners, axis=0)).astype(int)
    hi = np.ceil(np.max(corners, axis=0)).astype(int)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(lo[0], 0), max(lo[1], 0), min(hi[0], w), min(hi[1], h)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u = (xs - centre[0]) * e1[0] + (ys - centre[1]) * e1[1]
    v = (xs - centre[0]) * e2[0] + (ys - centre[1]) * e2[1]
    return (slice(y0, y1), slice(x0, x1)), xs, ys, u, v


def _remap(img, xs, ys, du, dv, e1, e2) -> np.ndarray:
    """The region resampled at (x, y) - (du e1 + dv e2): backward mapping of a displacement."""
    map_x = (xs - du * e1[0] - dv * e2[0]).astype(np.float32)
    map_y = (ys - du * e1[1] - dv * e2[1]).astype(np.float32)
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def render_mouth(img: np.ndarray, pts: np.ndarray, gap: float, half_width: float | None = None,
                 strength: float = 1.0) -> None:
    """Set the inner-lip gap of the face in `img` (RGB, changed in place) to `gap` pixels.

    `half_width` moves the mouth corners to that distance from the mouth centre (wider for ee,
    narrower for oo; None keeps them); `strength` in 0..1 fades the whole effect (for frames
    next to lost tracking).
    """
    eye = tk.eye_distance(pts)
    e1, e2 = _axes(pts[78], pts[308])
    centre = (pts[78] + pts[308]) / 2
    local = (pts - centre) @ np.stack([e1, e2]).T
    half = max(abs(local[308, 0] - local[78, 0]) / 2, 2.0)
    chin = local[tk.CHIN, 1]
    found = _region(img, centre, e1, e2, (-2.6 * half, 2.6 * half),
                    (local[tk.NOSE_TIP, 1] * 0.8, chin + 0.45 * eye))
    if found is None:
        return
    box, xs, ys, u, v = found
    upper = np.interp(u, *_curve(local, tk.UPPER_INNER_LIP))
    lower = np.interp(u, *_curve(local, tk.LOWER_INNER_LIP))
    lower_outer = np.interp(u, *_curve(local, tk.LOWER_OUTER_LIP))
    s = np.clip(u / half, -1, 1)
    inside = np.abs(u) < half
    source_gap = np.clip(lower - upper, 0, None) * inside
    wanted_gap = gap * strength * (1 - s * s) ** 0.6 * inside
    centre_change = gap * strength - float(np.interp(0.0, *_curve(local, tk.LOWER_INNER_LIP))
                                           - np.interp(0.0, *_curve(local, tk.UPPER_INNER_LIP)))
    # Closing goes a little past the landmarks' gap: the mesh tends to put the inner lip on the
    # edge of visible teeth, and lips pressed together hide a little of the lower one anyway.
    lip_shift = wanted_gap - source_gap - np.minimum(source_gap, 0.1 * eye)
    jaw_shift = centre_change * np.exp(-0.5 * (u / (1.3 * half)) ** 2)
    toward_chin = _smoothstep((v - lower_outer) / max(chin - lower_outer.mean(), 1.0))
    fade = ((1 - _smoothstep((np.abs(u) - 1.4 * half) / (1.1 * half)))
            * (1 - _smoothstep((v - chin) / (0.4 * eye))))
    below = v >= upper
    dv = np.where(below, (1 - toward_chin) * lip_shift + toward_chin * jaw_shift, 0.0)
    # The opening starts a little above the inner-lip line, which sits in the dark crease
    # between closed lips: painting over it keeps that crease from showing as a band.
    crease = 0.012 * eye * np.clip(wanted_gap / (0.03 * eye), 0, 1)
    spread = 0.0 if half_width is None else half_width - tk.mouth_half_width(pts)
    du = spread * strength * s * np.exp(-0.5 * ((v - upper) / (0.3 * eye)) ** 2)
    out = _remap(img, xs, ys, du * fade, dv * fade, e1, e2)
    _paint_interior(out, img[box], u, v, upper - crease, wanted_gap + crease, half, eye)
    img[box] = out


def _paint_interior(out, source, u, v, upper, gap, half, eye) -> None:
    """Fill the opened gap with a mouth that fits the face: its colours come from the picture's
    own lips and skin, so the interior is lit like the face. Upper teeth (tinted by the skin,
    shaded towards the corners and the biting edge, with the gaps between incisors), a tongue
    low in a wide opening, lower teeth at the bottom of a wide one, and the lip colour in deep
    shade behind them; the lips cast a soft shadow onto all of it."""
    # Each pixel row covers [v - 0.5, v + 0.5]: paint the part of it inside the gap (anti-aliased).
    alpha = np.clip(np.minimum(v + 0.5, upper + gap) - np.maximum(v - 0.5, upper), 0, 1)
    if alpha.max() <= 0:
        return
    # Skin from the cheeks beside the mouth and above the upper lip (the region also holds
    # hair, shadow and background below the chin).
    cheeks = (np.abs(u) > 1.15 * half) & (np.abs(u) < 1.6 * half) & (np.abs(v - upper) < 0.08 * eye)
    above = (np.abs(u) < 0.7 * half) & (v > upper - 0.3 * eye) & (v < upper - 0.15 * eye)
    skin_band = cheeks | above
    skin = np.median(source[skin_band] if skin_band.sum() > 8 else source.reshape(-1, 3), axis=0)
    skin = skin.astype(float)
    lip_band = (np.abs(u) < 0.6 * half) & (v > upper - 0.07 * eye) & (v < upper - 0.01 * eye)
    lip = np.median(source[lip_band], axis=0).astype(float) if lip_band.sum() > 8 else skin * [0.8, 0.55, 0.55]
    light = float(np.clip(skin.mean() / 150, 0.4, 1.3))
    depth = np.clip((v - upper) / np.maximum(gap, 1e-3), 0, 1)[..., None]
    across = np.clip(np.abs(u) / half, 0, 1)[..., None]
    throat = lip * (0.22 + 0.2 * (1 - np.sin(np.pi * depth))) * (1 - 0.4 * across ** 2)
    wide = np.clip(gap / (0.1 * eye), 0, 1)[..., None]
    tongue = _smoothstep((depth - 0.58 - 0.3 * across ** 2) / 0.12) * wide
    colour = throat * (1 - tongue) + lip * 0.7 * (1 - 0.3 * across) * tongue
    sides = 1 - _smoothstep((across - 0.5) / 0.3)
    enamel = (0.55 * np.array([236.0, 232.0, 220.0]) * light + 0.45 * skin) * (1 - 0.35 * across ** 1.5)
    tooth = 0.1 * eye
    seam = np.abs((u / tooth + 0.5) % 1 - 0.5) * tooth
    enamel = enamel * (1 - 0.1 * np.exp(-(seam / (0.004 * eye + 0.4)) ** 2))[..., None]
    teeth_height = np.minimum(0.3 * gap, 0.08 * eye)
    upper_teeth = (np.clip(upper + teeth_height - v + 0.5, 0, 1)[..., None] * sides
                   * np.clip(gap / (0.05 * eye) - 0.3, 0, 1)[..., None])
    biting = 1 - 0.2 * np.clip((v - upper) / np.maximum(teeth_height, 1), 0, 1)[..., None]
    colour = colour * (1 - upper_teeth) + enamel * biting * upper_teeth
    lower_height = np.minimum(0.16 * gap, 0.045 * eye)
    lower_teeth = (np.clip(v - (upper + gap - lower_height) + 0.5, 0, 1)[..., None] * sides
                   * np.clip(gap / (0.12 * eye) - 0.5, 0, 1)[..., None] * 0.8)
    colour = colour * (1 - lower_teeth) + enamel * 0.7 * lower_teeth
    edge = np.minimum(v - upper, upper + gap - v)
    colour = colour * (0.8 + 0.2 * _smoothstep(edge / (0.02 * eye)))[..., None]
    a = alpha[..., None]
    out[:] = np.clip(out * (1 - a) + colour * a, 0, 255).astype(np.uint8)


def render_blink(img: np.ndarray, pts: np.ndarray, closure: float) -> None:
    """Lower both upper eyelids by `closure` (0 open .. 1 shut) of the eye's height, in place."""
    if closure <= 0.01:
        return
    for outer, upper_lid, inner, lower_lid in tk.EYES:
        e1, e2 = _axes(pts[outer], pts[inner])
        centre = (pts[outer] + pts[inner]) / 2
        local = (pts - centre) @ np.stack([e1, e2]).T
        width = abs(local[inner, 0] - local[outer, 0])
        top = local[[outer, *upper_lid, inner], 1].min() - 0.45 * width
        found = _region(img, centre, e1, e2, (-0.7 * width, 0.7 * width),
                        (top, local[lower_lid, 1].max() + 0.1 * width))
        if found is None:
            continue
        box, xs, ys, u, v = found
        lid = np.interp(u, *_curve(local, [outer, *upper_lid, inner]))
        rim = np.interp(u, *_curve(local, [outer, *lower_lid, inner]))
        height = np.clip(rim - lid, 0, None) * (np.abs(u) < width / 2)
        edge = lid + closure * height
        # Between the skin above the lid and the new lid edge, stretch the lid downwards.
        stretch = (v >= top) & (v <= edge)
        source_v = top + (v - top) * (lid - top) / np.maximum(edge - top, 1e-3)
        dv = np.where(stretch, v - source_v, 0.0)
        img[box] = _remap(img, xs, ys, np.zeros_like(dv), dv, e1, e2)


def move_head(img: np.ndarray, centre: np.ndarray, angle_deg: float, shift: tuple[float, float],
              zoom: float) -> np.ndarray:
    """The whole picture turned, shifted and zoomed slightly about the face centre."""
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle_deg, zoom)
    matrix[:, 2] += shift
    h, w = img.shape[:2]
    return cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)

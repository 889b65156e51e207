"""Which library mouth each output frame shows: the closest shape, in a coherent sequence.

For every output frame the `candidates` library frames whose mouth shape (and head pose) is
closest to the wanted one are scored; dynamic programming (Viterbi) then picks one per frame so
that the sum of shape costs and transition costs is least. Showing the library's next frame
after the one shown last costs nothing (real motion, no flicker), holding a frame costs a
little, and a jump costs a fixed amount plus how different the two mouths look. A frame may be
chosen any number of times.
"""

from __future__ import annotations

import numpy as np

from deployments.talking_face.mouth_library import MouthLibrary

HOLD_COST = 0.4
JUMP_COST = 1.2
LOOK_COST = 0.5  # per unit of mean squared thumbnail difference (normalised pixels)


def shape_costs(library: MouthLibrary, opening: np.ndarray, width: np.ndarray,
                pose: np.ndarray) -> np.ndarray:
    """[frames, library] cost of showing each library mouth where (opening, width) is wanted
    on a face at `pose` [frames, 2] (yaw, pitch)."""
    low, high = library.opening_range()
    span = max(high - low, 0.02)
    w_low, _, w_high = library.width_range()
    w_span = max(w_high - w_low, 0.02)
    cost = ((library.opening[None, :] - opening[:, None]) / (0.12 * span)) ** 2
    cost += 0.3 * ((library.width[None, :] - width[:, None]) / (0.25 * w_span)) ** 2
    for column, target in enumerate(pose.T):
        cost += ((library.features[None, :, 2 + column] - target[:, None]) / 0.04) ** 2
    return cost


def choose(library: MouthLibrary, costs: np.ndarray, candidates: int = 12) -> np.ndarray:
    """The library index to show at each output frame (Viterbi over the best candidates)."""
    frames, size = costs.shape
    k = min(candidates, size)
    picks = np.argpartition(costs, k - 1, axis=1)[:, :k] if k < size else np.tile(np.arange(size), (frames, 1))
    unary = np.take_along_axis(costs, picks, axis=1)
    frame_of = np.array([p.frame for p in library.patches])
    total = unary[0].copy()
    back = np.zeros((frames, k), dtype=np.int32)
    for t in range(1, frames):
        step = _transition(library, frame_of, picks[t - 1], picks[t])
        scores = total[:, None] + step
        back[t] = scores.argmin(axis=0)
        total = scores[back[t], np.arange(k)] + unary[t]
    path = np.empty(frames, dtype=np.int64)
    j = int(total.argmin())
    for t in range(frames - 1, -1, -1):
        path[t] = picks[t, j]
        j = back[t, j]
    return path


def _transition(library: MouthLibrary, frame_of: np.ndarray, before: np.ndarray,
                after: np.ndarray) -> np.ndarray:
    """[len(before), len(after)] cost of showing library mouth `after` right after `before`."""
    follows = frame_of[after][None, :] == frame_of[before][:, None] + 1
    holds = after[None, :] == before[:, None]
    nxt = np.minimum(before + 1, len(frame_of) - 1)
    look = ((library.thumbs[nxt][:, None, :] - library.thumbs[after][None, :, :]) ** 2).mean(axis=2)
    cost = JUMP_COST + LOOK_COST * look
    cost = np.where(holds, HOLD_COST, cost)
    return np.where(follows, 0.0, cost)

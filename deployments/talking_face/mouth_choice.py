"""Which library mouth each output frame shows: the closest shape, in a coherent sequence.

Dynamic programming (Viterbi) picks one library mouth per output frame so that the sum of
shape costs and transition costs is least. Showing the library's next frame after the one
shown last costs nothing (real motion, no flicker), holding a frame costs a little, and a jump
costs a fixed amount plus how different the two mouths look. A frame may be chosen any number
of times.

The search is a beam: at each output frame the states are the `candidates` library mouths
closest in shape, the successors and holds of the previous frame's states (so a run of real
motion can go on even where its next frame is not among the closest shapes), pruned to the
`beam` best. Shape costs are computed a block of frames at a time: a 10-minute clip never
holds a [frames, library] matrix.
"""

from __future__ import annotations

import numpy as np

from deployments.talking_face.mouth_library import MouthLibrary

# A jump costs what a mouth 0.3 of the person's opening range off costs for one frame (shape
# costs are squared, in units of 0.12 of that range). bench/reenact.py, docs/benchmarks.md
# §9b: at 1.2 and 0.4 the path jumped or froze on 60 % of its frames, at 6 and 2 on 32 %,
# mean r 0.24 before and 0.27 after.
HOLD_COST = 2.0
JUMP_COST = 6.0
LOOK_COST = 0.5  # per unit of mean squared thumbnail difference (normalised pixels)
CANDIDATES = 12
BEAM = 32
BLOCK = 256  # output frames whose shape costs are computed together
FADE = 0.35  # opacity of the other run's mouth on either side of a jump (see layers)


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


def choose(library: MouthLibrary, opening: np.ndarray, width: np.ndarray, pose: np.ndarray,
           candidates: int = CANDIDATES, beam: int = BEAM) -> np.ndarray:
    """The library index to show at each output frame, for the wanted (opening, width) on a
    face at `pose` (see shape_costs)."""
    frames, size = len(opening), len(library.patches)
    k = min(candidates, size)
    frame_of = np.array([p.frame for p in library.patches])
    successor = np.r_[np.where(np.diff(frame_of) == 1, np.arange(1, size), -1), -1]
    shown_next = np.where(successor >= 0, successor, np.arange(size))
    thumbs = library.thumbs.astype(np.float32)
    squares = (thumbs ** 2).mean(axis=1)
    states: list[np.ndarray] = []
    backs: list[np.ndarray] = []
    total = np.zeros(0)
    for start in range(0, frames, BLOCK):
        block = shape_costs(library, opening[start:start + BLOCK], width[start:start + BLOCK],
                            pose[start:start + BLOCK])
        for row in block:
            closest = np.argpartition(row, k - 1)[:k] if k < size else np.arange(size)
            if not states:
                here, back = closest, np.zeros(len(closest), np.int32)
                total = row[here]
            else:
                before = states[-1]
                follow = successor[before]
                here = np.unique(np.r_[closest, follow[follow >= 0], before])
                nxt = shown_next[before]
                look = (squares[nxt][:, None] + squares[here][None, :]
                        - 2 * thumbs[nxt] @ thumbs[here].T / thumbs.shape[1])
                step = JUMP_COST + LOOK_COST * np.maximum(look, 0)
                step = np.where(here[None, :] == before[:, None], HOLD_COST, step)
                step = np.where(here[None, :] == follow[:, None], 0.0, step)
                scores = total[:, None] + step
                back = scores.argmin(axis=0).astype(np.int32)
                total = scores[back, np.arange(len(here))] + row[here]
            if len(here) > beam:
                keep = np.argpartition(total, beam - 1)[:beam]
                here, back, total = here[keep], back[keep], total[keep]
            states.append(here)
            backs.append(back)
    path = np.empty(frames, dtype=np.int64)
    j = int(total.argmin())
    for t in range(frames - 1, -1, -1):
        path[t] = states[t][j]
        j = backs[t][j]
    return path


def layers(library: MouthLibrary, path: np.ndarray, fade: float = FADE) -> list[list[tuple[int, float]]]:
    """What each output frame shows: (library index, opacity) laid over each other in order.

    Inside a run of the library's consecutive frames, the one mouth. Where the path jumps from
    one run to another, the cut is spread over two frames: the last frame of the run that ends
    also shows `fade` of the mouth the next run came from (its source frame before), the first
    frame of the new run `fade` of where the old run would have gone, so no single frame
    change carries the whole jump.
    """
    frame_of = np.array([p.frame for p in library.patches])
    size = len(frame_of)
    follows = np.r_[np.diff(frame_of) == 1, False]  # index j + 1 shows the frame after j's
    after = np.where(follows, np.arange(size) + 1, np.arange(size))
    before = np.where(np.r_[False, follows[:-1]], np.arange(size) - 1, np.arange(size))
    out = [[(int(j), 1.0)] for j in path]
    for t in range(1, len(path)):
        old, new = path[t - 1], path[t]
        if new in (old, after[old]):
            continue
        out[t - 1].append((int(before[new]), fade))
        out[t].append((int(after[old]), fade))
    return out

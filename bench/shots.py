"""Shot boundaries: PySceneDetect vs TransNetV2 vs the scene engine that combines them (CPU).

(a) A 720p video joined from real footage (the clips named on the command line, e.g.
../shared/media/*.mp4, each scaled to cover 1280x720 and cropped) with transitions at known
frames: hard cuts (one a jump cut within one clip), fades to black and back, and cross-dissolves
of 1, 1.5 and 2 s. It is written to a temporary folder and deleted at the end.
(b) Each clip as it is: one shot each, so every boundary found is a false positive.

Three detectors read each video:
- pyscenedetect: the engine's first pass (AdaptiveDetector + ThresholdDetector, combined as the
  engine does, fades counted once), decoding at 256 px (and 48x27, which it also keeps);
- transnetv2: PyAV decoding straight to 48x27, TransNetV2 over every frame (bfloat16 as the engine
  runs it), one boundary per run of frames above 0.5;
- engine: `SceneDetectEngine.scenes` as configured by default, keyframes, faces and facts included.

A boundary is right when it lies within `--tolerance` frames of a transition (for a fade or a
dissolve, anywhere from its first to its last frame); each transition takes one boundary, any
other is a false positive. Speed is seconds over the video's seconds (lower is faster): wall
time, and this process's CPU time (all its threads: FFmpeg's decoding threads and torch's
`--threads`, one by default as Serve gives the engine's replica), which other jobs on a shared
machine disturb less.

    PYTHONPATH=. .venv/bin/python bench/shots.py ../shared/media/*.mp4
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

FPS, W, H = 25, 1280, 720
SEGMENT = 3.0  # seconds of each clip in the joined video
PLAN = ["cut", "fade", "dissolve:1", "cut", "dissolve:2", "jump", "fade", "dissolve:1.5"]
"""The transitions between the nine joined segments, in order ("jump": a cut within one clip)."""
RAMP, BLACK = 12, 6
"""A fade's frames out (and in), and black frames between."""


def seconds(path: str | Path) -> float:
    with av.open(str(path)) as container:
        return container.duration / 1e6


def covering(path: str, start: float, count: int) -> list[np.ndarray]:
    """`count` RGB frames of the clip from `start` s, scaled to cover W x H and cropped."""
    frames: list[np.ndarray] = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time < start:
                continue
            scale = max(W / frame.width, H / frame.height)
            width, height = round(frame.width * scale), round(frame.height * scale)
            rgb = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
            y, x = (height - H) // 2, (width - W) // 2
            frames.append(rgb[y:y + H, x:x + W])
            if len(frames) == count:
                break
    return (frames * count)[:count]


def segments(clips: list[str]) -> list[tuple[str, float]]:
    """Nine (clip, start) pairs: every clip, the longest twice in a row (the jump cut), then two
    clips again from 2 s."""
    longest = max(clips, key=seconds)
    others = [c for c in clips if c != longest][:5]
    return [(c, 0.0) for c in others] + [(longest, 0.0), (longest, min(12.0, seconds(longest) - SEGMENT))] + [
        (c, 2.0) for c in others[:2]]


def joined(clips: list[str], out: Path) -> list[tuple[int, int]]:
    """Write the joined video to `out`; the (first, last) frame of each transition. Frames are
    written as they are made: only the last segment and the next stay in memory."""
    truth: list[tuple[int, int]] = []
    written = 0
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "20", "preset": "ultrafast"}

        def write(frames: list[np.ndarray]) -> None:
            nonlocal written
            for rgb in frames:
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = written, Fraction(1, FPS)
                container.mux(stream.encode(frame))
                written += 1

        last: list[np.ndarray] = []
        for kind, (clip, start) in zip([None, *PLAN], segments(clips), strict=True):
            new = covering(clip, start, round(SEGMENT * FPS))
            if kind and kind.startswith("dissolve"):
                d = round(float(kind.split(":")[1]) * FPS)
                for k in range(d):
                    mix = (k + 1) / (d + 1)
                    last[k - d] = ((1 - mix) * last[k - d] + mix * new[k].astype(np.float32)).astype(np.uint8)
                truth.append((written + len(last) - d, written + len(last) - 1))
                new = new[d:]
            elif kind == "fade":
                for k in range(RAMP):
                    last[k - RAMP] = (last[k - RAMP] * ((RAMP - k - 1) / RAMP)).astype(np.uint8)
                    new[k] = (new[k] * ((k + 1) / (RAMP + 1))).astype(np.uint8)
                truth.append((written + len(last) - RAMP, written + len(last) + BLACK + RAMP - 1))
                new = [np.zeros_like(new[0])] * BLACK + new
            elif kind:
                truth.append((written + len(last), written + len(last)))
            write(last)
            last = new
        write(last)
        container.mux(stream.encode())
    return truth


def score(found: list[int], truth: list[tuple[int, int]], tolerance: int) -> tuple[int, int]:
    """(transitions found, boundaries that match no transition)."""
    left = list(truth)
    wrong = 0
    for b in sorted(found):
        hit = next((t for t in left if t[0] - tolerance <= b <= t[1] + tolerance), None)
        if hit:
            left.remove(hit)
        else:
            wrong += 1
    return len(truth) - len(left), wrong


class Clock:
    """Wall and CPU seconds since the last `lap`."""

    def __init__(self) -> None:
        self.lap()

    def lap(self) -> tuple[float, float]:
        now = (time.perf_counter(), time.process_time())
        spent = (now[0] - self.wall, now[1] - self.cpu) if hasattr(self, "wall") else (0.0, 0.0)
        self.wall, self.cpu = now
        return spent


def detectors(engine, model, path: Path, workdir: Path) -> dict[str, tuple[list[int], tuple[float, float]]]:
    """Boundaries (first frames of new shots) and (wall, CPU) seconds of each detector."""
    from deployments import shot_model
    from deployments.scene_detect import _boundaries, _first_pass
    from reelcore.capabilities.scenes import ScenesRequest
    from reelcore.engine import Call
    from reelcore.media import MediaRef, probe

    request = ScenesRequest(video=MediaRef(key="bench", media=probe(path), path=path))
    call = Call(lambda _: None, workdir)
    out = {}
    clock = Clock()
    frames, hard, fades, fps = _first_pass(path, request, engine.config.analysis_width, call)
    bounds = _boundaries(hard, fades, np.array(frames.level), request.fade_threshold,
                         max(1, round(request.min_scene_seconds * fps)), len(frames.level))
    out["pyscenedetect"] = (bounds[1:-1], clock.lap())
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        small = np.stack([f.reformat(width=48, height=27, format="rgb24").to_ndarray()
                          for f in container.decode(stream)])
    probability = shot_model.transition_probability(model, small, [(0, len(small))], True, lambda _: None)
    cuts = [cut for _, _, cut in shot_model.transitions(probability, 0.5)]
    out["transnetv2"] = (cuts, clock.lap())
    scenes = engine.scenes(request, call).scenes
    out["engine"] = ([round(s.start * fps) for s in scenes[1:]], clock.lap())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clips", nargs="+", help="real single-shot videos (at least 5)")
    parser.add_argument("--tolerance", type=int, default=2, help="frames either side of a transition")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    import torch

    from deployments import shot_model
    from deployments.scene_detect import SceneDetectEngine

    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.2f}; torch {torch.__version__}, {args.threads} thread(s)")
    engine = SceneDetectEngine()
    engine.load()
    model = shot_model.load_model("cpu")
    print("| video | seconds | detector | transitions found | false boundaries | wall / length "
          "| CPU / length |")
    print("|---|---:|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "joined.mp4"
        cases = [(video, joined(args.clips, video))] + [(Path(c), []) for c in args.clips]
        for path, truth in cases:
            length = seconds(path)
            for name, (found, (wall, cpu)) in detectors(engine, model, path, Path(tmp)).items():
                hits, wrong = score(found, truth, args.tolerance)
                label = f"joined 720p, {len(truth)} transitions" if truth else path.name
                print(f"| {label} | {length:.1f} | {name} | {hits}/{len(truth)} | {wrong} "
                      f"| {wall / length:.3f} | {cpu / length:.3f} |", flush=True)
            if truth:
                print(f"<!-- transitions (first, last frame): {truth} -->", flush=True)


if __name__ == "__main__":
    main()

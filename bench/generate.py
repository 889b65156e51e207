"""Text-to-video engines on tiny random pipelines, on CPU: load time and wall time per render.

    .venv/bin/python -m bench.generate --repeats 3     # from the repository root

Builds the tiny LTX-Video, Wan 2.1 and CogVideoX pipelines of tests/tiny_video_pipelines.py,
loads each through its engine (no Serve), and renders one prompt at each size: one warm-up, then
the median of the timed runs, encoding to H.264 included. The models are noise, so this measures
the code path (text encoder, denoising steps, VAE decode, encode), not a real model's speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from deployments.cogvideox import CogVideoXEngine
from deployments.ltx_video import LtxVideoEngine
from deployments.wan_video import WanVideoEngine
from reelcore.capabilities.generation import GenerateInput
from reelcore.engine import Call
from tests.tiny_video_pipelines import tiny_cogvideox, tiny_ltx, tiny_wan

ENGINES = [("ltx-video", LtxVideoEngine, tiny_ltx), ("wan2.1", WanVideoEngine, tiny_wan),
           ("cogvideox", CogVideoXEngine, tiny_cogvideox)]
SIZES = [(128, 1.0), (256, 1.0)]
"""(side in pixels, seconds at 24 fps): 25 frames for each model's form."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps")
    args = parser.parse_args()
    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
    root = Path(tempfile.mkdtemp())
    call = Call(lambda _: None, root)
    print(f"{'engine':10} {'load s':>6} {'size':>9} {'frames':>6} {'wall s':>7}")
    for name, engine_class, build in ENGINES:
        engine = engine_class(weights_path=str(build(root / name)), steps=args.steps)
        started = time.perf_counter()
        engine.load()
        loaded = time.perf_counter() - started
        for side, seconds in SIZES:
            request = GenerateInput(prompt="a red fox runs through the snow", width=side, height=side,
                                    duration_seconds=seconds, fps=24, seed=0)
            result = engine.generate(request, call)  # warm-up
            walls = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                engine.generate(request, call)
                walls.append(time.perf_counter() - t)
            print(f"{name:10} {loaded:6.2f} {f'{result.width}x{result.height}':>9} {result.frames:6d} "
                  f"{statistics.median(walls):7.2f}")


if __name__ == "__main__":
    main()

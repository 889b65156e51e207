"""Analyze of a 10-minute 720p video on CPU: wall time per task, as a fraction of the duration.

    scripts/serve
    PYTHONPATH=. .venv/bin/python bench/analyze.py --key "$(cat .reelserve/dev_api_key)"

The video: the real ../shared/media/talking_man_en.mp4 scaled to 720x1280, repeated 30 times
without re-encoding (so 29 hard cuts where it starts over), 10 min 2 s, under an English sound
track (the twelve STORY sentences by espeak-ng, repeated). Each task runs as its own job, then
all of them in one job (transcribe and scenes run as parallel branches there), each timed from
submission to completion.
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

from bench.lipsync import SHARED, scaled
from deployments.talking_face.video_io import read_audio
from reelserve import Client
from tests.conftest import STORY
from tests.media import speech

REPEATS = 30


def ten_minutes(work: Path) -> Path:
    clip = scaled(SHARED / "talking_man_en.mp4", work / "man720.mp4", 720, 1280)
    pause = np.zeros(8000, np.float32)
    voice = np.concatenate([np.concatenate([read_audio(speech(s, work / f"s{i}.wav")), pause])
                            for i, s in enumerate(STORY)])
    path = work / "ten_minutes.mp4"
    with av.open(str(clip)) as source, av.open(str(path), "w") as out:
        template = source.streams.video[0]
        video = out.add_stream_from_template(template)
        sound = out.add_stream("aac", rate=16000, layout="mono")
        packets = [p for p in source.demux(template) if p.size]
        span = max(p.pts for p in packets) + packets[1].pts - packets[0].pts
        for loop in range(REPEATS):
            for packet in packets:
                packet.pts, packet.dts = packet.pts + loop * span, packet.dts + loop * span
                packet.stream = video
                out.mux(packet)
            for packet in packets:
                packet.pts, packet.dts = packet.pts - loop * span, packet.dts - loop * span
        seconds = REPEATS * float(span * template.time_base)
        track = np.resize(voice, int(seconds * 16000))
        for start in range(0, len(track), 1024):
            frame = av.AudioFrame.from_ndarray(track[start:start + 1024].reshape(1, -1), format="flt",
                                               layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, start, Fraction(1, 16000)
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    video = ten_minutes(work)
    print(f"load avg {os.getloadavg()[0]:.2f}")
    with Client(args.url, args.key) as client:
        url = client.upload(video).url
        for tasks in (["transcribe"], ["scenes"], ["embed"], ["transcribe", "scenes", "embed"]):
            started = time.perf_counter()
            job = client.wait_for_job(client.analyze(url, tasks).id, poll_interval=0.5, timeout=3600)
            seconds = time.perf_counter() - started
            assert job.status == "completed", job.error
            length = job.result["duration_seconds"]
            counts = {"segments": len(job.result.get("transcript", {}).get("segments", [])),
                      "scenes": len(job.result.get("scenes", [])),
                      "vectors": len(job.result.get("embeddings", {}).get("items", []))}
            print(f"{'+'.join(tasks):26} video {length:6.1f} s  job {seconds:6.1f} s = "
                  f"{seconds / length:.3f}x  {counts}")


if __name__ == "__main__":
    main()

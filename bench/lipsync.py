"""facemesh-lipsync speed on one CPU core: frames per second, and against an FFmpeg re-encode.

    .venv/bin/python bench/lipsync.py                       # engine only, in this process
    .venv/bin/python bench/lipsync.py --api http://127.0.0.1:8000 --key "$(cat .reelserve/dev_api_key)"

Clips: a 512x512 video made from the astronaut photo with espeak-ng speech, and the real
talking_man_en.mp4 from ../shared/media at 720p (scaled, 720x1280) and at its own 1080x1920,
each re-synced to ../shared/media/speech_en_1.wav. The process is pinned to one core. For
each clip it prints the engine's wall time and frames per second (tracking, rendering and
H.264 encoding included), and the wall time of a plain re-encode of the same frames (PyAV,
libx264 veryfast, the engine's own settings), and the CPU time of both: on a shared machine
under load the wall time measures the neighbours, the CPU time (one core: all threads pinned
to it) still the engine. With --api it also times whole lipsync jobs through the running
service (upload, queue, engine, storage) against the clip's length.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2

from deployments.facemesh_lipsync import FaceMeshLipsyncEngine
from deployments.talking_face.video_io import VideoWriter, frames_rgb, video_info
from reelcore.capabilities.face import LipsyncInput
from reelcore.engine import Call
from reelcore.media import probe
from tests.conftest import STORY
from tests.media import speech, talking_video

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "media"


def scaled(source: Path, path: Path, width: int, height: int) -> Path:
    """`source` re-encoded at width x height (same rate, sound kept)."""
    info = video_info(source)
    writer = VideoWriter(path, width, height, info.fps)
    for rgb in frames_rgb(source):
        writer.write(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))
    writer.finish(source)
    return path


def reencode_seconds(video: Path, audio: Path, frames: int, workdir: Path) -> tuple[float, float]:
    """Decode the first `frames` frames and encode them again with the sound: the floor (wall
    and CPU seconds)."""
    info = video_info(video)
    started, cpu = time.perf_counter(), time.process_time()
    writer = VideoWriter(workdir / "reencoded.mp4", info.width, info.height, info.fps)
    for i, rgb in enumerate(frames_rgb(video)):
        if i >= frames:
            break
        writer.write(rgb)
    writer.finish(audio)
    return time.perf_counter() - started, time.process_time() - cpu


def media_ref(path: Path) -> dict:
    return {"key": path.name, "media": probe(path).model_dump(), "path": path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", help="also time whole jobs through this running service")
    parser.add_argument("--key", help="API key for --api")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    cv2.setNumThreads(1)
    work = Path(tempfile.mkdtemp(prefix="bench-lipsync-"))
    target = SHARED / "speech_en_1.wav"
    story = speech(" ".join(STORY[:3]), work / "story.wav")
    clips = {
        "512x512 astronaut": talking_video(work / "astronaut512.mp4", story, size=512),
        "720x1280 talking_man": scaled(SHARED / "talking_man_en.mp4", work / "man720.mp4", 720, 1280),
        "1080x1920 talking_man": SHARED / "talking_man_en.mp4",
    }
    engine = FaceMeshLipsyncEngine()
    engine.load()
    print(f"load avg {os.getloadavg()[0]:.2f}; one core; target {target.name}")
    print(f"{'clip':24} {'frames':>6} {'engine s':>8} {'fps':>6} {'re-encode s':>11} {'ratio':>6} "
          f"{'engine cpu s':>12} {'fps by cpu':>10} {'re-encode cpu s':>15}")
    for name, clip in clips.items():
        scratch = Path(tempfile.mkdtemp(dir=work))
        request = LipsyncInput(video=media_ref(clip), audio=media_ref(target))
        started, cpu = time.perf_counter(), time.process_time()
        result = engine.lipsync(request, Call(lambda _: None, scratch))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        frames = round(result.duration_seconds * result.fps)
        floor, floor_cpu = reencode_seconds(clip, target, frames, scratch)
        print(f"{name:24} {frames:6d} {seconds:8.2f} {frames / seconds:6.1f} {floor:11.2f} "
              f"{seconds / floor:6.2f} {cpu:12.2f} {frames / cpu:10.1f} {floor_cpu:15.2f}")
    if args.api:
        time_jobs(args.api, args.key, clips, target)


def time_jobs(url: str, key: str, clips: dict[str, Path], target: Path) -> None:
    """Whole jobs through the service: submit to completed, against the clip's length."""
    from reelserve import Client

    with Client(url, key) as client:
        audio = client.upload(target).url
        print(f"\n{'job (through the API)':24} {'clip s':>6} {'job s':>7} {'job/clip':>8}")
        for name, clip in clips.items():
            video = client.upload(clip).url
            started = time.perf_counter()
            job = client.lipsync(video, audio, provider="facemesh-lipsync")
            job = client.wait_for_job(job.id, poll_interval=0.2)
            seconds = time.perf_counter() - started
            length = job.result["duration_seconds"]
            assert job.status == "completed", job
            print(f"{name:24} {length:6.2f} {seconds:7.2f} {seconds / length:8.2f}")


if __name__ == "__main__":
    main()

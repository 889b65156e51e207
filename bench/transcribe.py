"""faster-whisper real-time factor on CPU, engine called directly (no Serve, no Redis).

The engine (`deployments.faster_whisper.FasterWhisperEngine`) is configured like
configs/local.yaml: a packaged model (`--model`: base, multilingual, as configured; or tiny.en),
int8, on CPU, VAD filter and word timestamps on.
Each (cpu_threads, beam_size) combination runs in a fresh process, which loads the engine and
transcribes every file `--repeats` times; the first call of each file is a warm-up and is not
timed, the median of the others is reported. RTF = processing seconds / audio seconds (below 1
is faster than real time). Peak RSS is the whole child process's high-water mark (interpreter,
libraries, model, decoding).

    .venv/bin/python bench/transcribe.py \\
        /work/shared/media/speech_en_2.wav /work/shared/media/talking_man_en.mp4 \\
        --threads 1 2 --beams 1 5 --model base
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def run_config(files: list[str], model: str, threads: int, beam: int, repeats: int) -> list[dict]:
    """In a child process: load one engine, time each file; returns one row per file."""
    import tempfile

    from deployments.faster_whisper import FasterWhisperEngine
    from reelcore.capabilities.asr import TranscribeRequest
    from reelcore.engine import Call
    from reelcore.media import MediaRef, probe

    engine = FasterWhisperEngine(
        model_name=model, device="cpu", compute_type="int8", cpu_threads=threads, beam_size=beam
    )
    started = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - started
    rows = []
    call = Call(lambda _: None, Path(tempfile.mkdtemp()))
    for name in files:
        path = Path(name)
        request = TranscribeRequest(audio=MediaRef(key="bench", media=probe(path), path=path))
        engine.transcribe(request, call)  # warm-up
        walls = []
        for _ in range(repeats - 1):
            started = time.perf_counter()
            transcript = engine.transcribe(request, call)
            walls.append(time.perf_counter() - started)
        wall = statistics.median(walls)
        rows.append({
            "file": path.name, "threads": threads, "beam": beam, "load_s": load_s,
            "audio_s": transcript.duration_seconds, "wall_s": wall,
            "rtf": wall / transcript.duration_seconds, "words": len(transcript.text.split()),
        })
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [{**row, "peak_rss_mib": peak_mib} for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="audio or video files to transcribe")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="cpu_threads values")
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="beam_size values")
    parser.add_argument("--model", default="base", choices=["base", "tiny.en"], help="packaged model")
    parser.add_argument("--repeats", type=int, default=3,
                        help="calls per file, the first one untimed (at least 2)")
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2")

    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    print(f"{'file':<22}{'threads':>8}{'beam':>6}{'load s':>8}{'audio s':>9}"
          f"{'wall s':>8}{'RTF':>7}{'words':>7}{'peak RSS MiB':>14}")
    spawn = multiprocessing.get_context("spawn")
    for threads in args.threads:
        for beam in args.beams:
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                rows = pool.submit(run_config, args.files, args.model, threads, beam, args.repeats).result()
            for r in rows:
                print(f"{r['file']:<22}{r['threads']:>8}{r['beam']:>6}{r['load_s']:>8.2f}"
                      f"{r['audio_s']:>9.2f}{r['wall_s']:>8.2f}{r['rtf']:>7.3f}{r['words']:>7}"
                      f"{r['peak_rss_mib']:>14.0f}", flush=True)


if __name__ == "__main__":
    main()

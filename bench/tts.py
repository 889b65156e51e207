"""TTS speed per voice backend on CPU: real-time factor (synthesis time / speech length).

    .venv/bin/python bench/tts.py --repeats 3

Loads the TTS engine directly (no Serve), synthesises a short English paragraph with each
offline backend (and Portuguese with Kokoro), and prints load time, speech length, wall time
(median of the timed runs, after one warm-up) and RTF.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from deployments.tts import TtsEngine
from reelcore.capabilities.speech import SynthesizeRequest
from reelcore.engine import Call

ENGLISH = ("Please send the weekly report to the finance team before Friday. The meeting has "
           "been moved to the large room upstairs, and the train leaves at half past nine.")
PORTUGUESE = ("Por favor, envie o relatório semanal para a equipe financeira antes de sexta-feira. "
              "A reunião foi transferida para a sala grande no andar de cima.")
CASES = [("espeak-ng", "en-US", ENGLISH), ("piper", "en-US", ENGLISH),
         ("kokoro", "en-US", ENGLISH), ("kokoro", "pt-BR", PORTUGUESE)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case")
    args = parser.parse_args()
    started = time.perf_counter()
    engine = TtsEngine(backends=["kokoro", "piper", "espeak-ng"])
    engine.load()
    print(f"engine load: {time.perf_counter() - started:.2f} s")
    call = Call(lambda _: None, Path(tempfile.mkdtemp()))
    print(f"{'backend':10} {'lang':6} {'speech s':>8} {'wall s':>7} {'RTF':>6}")
    for provider, language, text in CASES:
        request = SynthesizeRequest(text=text, language=language, tts_provider=provider)
        speech = engine.synthesize(request, call)  # warm-up
        walls = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            engine.synthesize(request, call)
            walls.append(time.perf_counter() - t)
        wall = statistics.median(walls)
        print(f"{provider:10} {language:6} {speech.duration_seconds:8.2f} {wall:7.2f} "
              f"{wall / speech.duration_seconds:6.3f}")


if __name__ == "__main__":
    main()

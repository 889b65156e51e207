"""Which packaged voice Whisper understands best per language: word error rate and RTF per voice.

    PYTHONPATH=. .venv/bin/python bench/voices.py

Loads the TTS engine directly (no Serve), says 8 Brazilian Portuguese and 8 US English
sentences with every packaged voice that speaks the language (the 5 Kokoro voices, espeak-ng's
own voice for it, Piper joe for English), transcribes each clip with the multilingual
Whisper base (the model the dub and the analyze jobs use), its language forced, and prints per
voice the word error rate against the text said (lowercased, accents and punctuation dropped,
so Whisper's spelling choices do not count), the sentences with any error, and the real-time
factor of synthesis (wall time / speech length); `*` marks the engine's default.
`deployments/tts.py` chooses default voices from these figures (docs/benchmarks.md §15).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
import unicodedata
from pathlib import Path

from deployments.faster_whisper import FasterWhisperEngine
from deployments.tts import TtsEngine, speaks
from reelcore.capabilities.asr import TranscribeRequest
from reelcore.capabilities.speech import SynthesizeRequest
from reelcore.engine import Call
from reelcore.media import MediaRef, probe

SENTENCES = {  # distinct, no numbers or contractions: Whisper would write "9", "I'm"
    "pt-BR": [
        "Por favor, envie o relatório para a equipe financeira.",
        "O tempo hoje está ensolarado e quente na cidade.",
        "Nosso trem sai da estação logo depois do almoço.",
        "Ela comprou pão fresco e queijo na feira.",
        "Você sabe onde fica a farmácia mais próxima?",
        "As crianças construíram um castelo de areia na praia.",
        "O médico disse que ele deve descansar bastante.",
        "Não se esqueça de regar as plantas amanhã cedo.",
    ],
    "en-US": [
        "Please send the weekly report to the finance team.",
        "Could you tell me where the nearest pharmacy is?",
        "Our train leaves the station right after lunch.",
        "She bought fresh bread and cheese at the market.",
        "The children built a castle out of sand.",
        "Turn left at the bank and walk north.",
        "The doctor said he should rest for a while.",
        "Remember to water the plants tomorrow morning.",
    ],
}


def words(text: str) -> list[str]:
    """Lowercase words without accents or punctuation: `sexta-feira` -> `sexta feira`."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return re.findall(r"[a-z0-9']+", bare)


def errors(said: list[str], heard: list[str]) -> int:
    """Word-level edit distance (substitutions, deletions, insertions)."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(said, start=1):
        previous, row[0] = row[0], i
        for j, other in enumerate(heard, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print every misheard sentence")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    tts = TtsEngine(backends=["kokoro", "piper", "espeak-ng"])
    tts.load()
    whisper = FasterWhisperEngine(model_name="base", device="cpu", cpu_threads=2)
    whisper.load()
    call = Call(lambda _: None, Path(tempfile.mkdtemp()))
    print(f"{'language':8} {'voice':24} {'WER':>6} {'misheard':>8} {'speech s':>8} {'RTF':>6}  default")
    for language, sentences in SENTENCES.items():
        default = tts.choose(SynthesizeRequest(text="x", language=language)).id
        voices = [v for v in tts.catalogue.values() if speaks(v, language)
                  and (v.tts_provider != "espeak-ng" or v.id.endswith(":" + language.lower()))]
        for voice in voices:
            wrong, misheard, speech_s, wall_s = 0, 0, 0.0, 0.0
            for text in sentences:
                started = time.perf_counter()
                speech = tts.synthesize(SynthesizeRequest(text=text, language=language,
                                                          voice_id=voice.id), call)
                wall_s += time.perf_counter() - started
                speech_s += speech.duration_seconds
                # One clip per call: joined clips make Whisper repeat sentences (long-form drift).
                path = speech.audio.path
                heard = whisper.transcribe(TranscribeRequest(
                    audio=MediaRef(key="v", media=probe(path), path=path),
                    language=language.split("-")[0], word_timestamps=False), call).text
                n = errors(words(text), words(heard))
                wrong, misheard = wrong + n, misheard + (n > 0)
                if n and args.show:
                    print(f"    {voice.id}: {heard}")
            said = sum(len(words(t)) for t in sentences)
            print(f"{language:8} {voice.id:24} {wrong / said:6.3f} {misheard:>6}/{len(sentences)} "
                  f"{speech_s:8.1f} {wall_s / speech_s:6.3f}  {'*' if voice.id == default else ''}")


if __name__ == "__main__":
    main()

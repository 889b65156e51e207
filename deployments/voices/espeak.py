"""espeak-ng: formant synthesis in 100+ languages, with word timings from its own event stream."""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from reelcore.engine import Unavailable
from reelcore.schemas import Voice, Word

# libespeak-ng's C API (speak_lib.h): synchronous synthesis with a callback per audio block.
AUDIO_OUTPUT_SYNCHRONOUS = 2
EVENT_WORD = 1
ESPEAK_CHARS_UTF8, POS_CHARACTER = 1, 1


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_int)]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


def espeak_voice(language: str) -> str:
    """BCP-47 -> espeak-ng voice name: pt-BR -> pt-br, en-US -> en-us, de -> de."""
    return language.lower()


def list_languages() -> list[str]:
    out = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, check=True)
    return [line.split()[1] for line in out.stdout.splitlines()[1:] if line.split()]


def ipa(text: str, language: str) -> list[str]:
    """IPA phonemes, one string per clause, as espeak-ng reads the text in `language`."""
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", espeak_voice(language), "--stdin"],
                         input=text, capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


class EspeakBackend:
    name = "espeak-ng"

    def load(self) -> None:
        library = ctypes.util.find_library("espeak-ng")
        if shutil.which("espeak-ng") is None or library is None:
            raise Unavailable("espeak-ng is not installed (Debian package espeak-ng)")
        self.lib = ctypes.CDLL(library)
        self.rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 500, None, 0)
        if self.rate <= 0:
            raise Unavailable("libespeak-ng failed to initialise")
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                          ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                          ctypes.c_void_p, ctypes.c_void_p]
        self.languages = list_languages()

    def voices(self) -> list[Voice]:
        return [Voice(id=f"espeak-ng:{lang}", name=f"espeak-ng {lang}", tts_provider=self.name,
                      languages=[lang], native=[lang], quality="formant") for lang in self.languages]

    def speak(self, text: str, voice: str, language: str, speed: float, out: Path) -> list[Word]:
        """Synthesise in-process so each word's audio position comes with the samples."""
        samples: list[bytes] = []
        starts: list[tuple[int, int, int]] = []  # (text position, length, sample)
        encoded = text.encode()

        def on_audio(wav, count, events) -> int:
            if wav and count > 0:
                samples.append(ctypes.string_at(wav, count * 2))
            i = 0
            while events[i].type != 0:
                if events[i].type == EVENT_WORD:
                    starts.append((events[i].text_position, events[i].length,
                                   events[i].audio_position * self.rate // 1000))
                i += 1
            return 0

        callback = _Callback(on_audio)
        self.lib.espeak_SetSynthCallback(callback)
        self.lib.espeak_SetVoiceByName(voice.encode())
        self.lib.espeak_SetParameter(1, int(175 * speed), 0)  # espeakRATE, words per minute
        self.lib.espeak_Synth(encoded, len(encoded) + 1, 0, POS_CHARACTER, 0,
                              ESPEAK_CHARS_UTF8, None, None)
        pcm = b"".join(samples)
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self.rate)
            wav.writeframes(pcm)
        return _words(text, starts, np.frombuffer(pcm, dtype=np.int16), self.rate)


def _words(text: str, starts: list[tuple[int, int, int]], audio: np.ndarray, rate: int) -> list[Word]:
    """A word ends at its last audible sample before the next word starts (pauses excluded)."""
    loud = np.flatnonzero(np.abs(audio) > 300)
    words = []
    for i, (position, length, start) in enumerate(starts):
        limit = starts[i + 1][2] if i + 1 < len(starts) else len(audio)
        inside = loud[(loud >= start) & (loud < limit)]
        end = int(inside[-1]) + 1 if len(inside) else limit
        word = text[position - 1:position - 1 + length].strip()
        if word:
            words.append(Word(start=round(start / rate, 3), end=round(end / rate, 3), word=word,
                              probability=1.0))
    return words

"""The mouth shape speech asks for, from its phonemes: visemes placed inside the words' timings.

Loudness alone says when a mouth moves, not how: "mama" and "papa" are as loud as "ah". The
words' timings (from the TTS, or Whisper for any speech) and their phonemes (espeak-ng, one
line a word, `--ipa --sep=_`) say which shape each moment needs: lips pressed on p/b/m, lower
lip to the teeth on f/v, rounded on o/u/w, wide on ee, open in proportion to the vowel. Each
phoneme gets a share of its word's time by its usual length; the shapes are joined and then
smoothed, since neighbouring sounds shape each other (coarticulation), except the p/b/m
closures, which are held.
"""

# ruff: noqa: RUF001  (IPA symbols look like Latin letters on purpose)
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from reelcore.schemas import Word

# (opening 0..1, width -1 rounded .. 1 spread, length weight) per phoneme class.
SHAPES: dict[str, tuple[float, float, float]] = {
    "pbm": (0.0, 0.0, 0.9),
    "fv": (0.08, 0.1, 0.9),
    "θð": (0.18, 0.15, 0.8),
    "tdnlszɾɫ": (0.2, 0.2, 0.7),
    "ʃʒ": (0.2, -0.6, 0.9),
    "kɡgŋhxʔ": (0.32, 0.0, 0.7),
    "ɹrʁɻ": (0.22, -0.45, 0.7),
    "w": (0.12, -0.9, 0.7),
    "j": (0.22, 0.6, 0.6),
    "aɑæɐ": (1.0, 0.2, 1.6),
    "ʌ": (0.75, 0.05, 1.3),
    "ɛe": (0.6, 0.5, 1.4),
    "ɪiy": (0.32, 0.8, 1.2),
    "əɜɚɝ": (0.45, 0.0, 0.9),
    "ɔɒoøœ": (0.62, -0.7, 1.5),
    "ʊuɯʉ": (0.3, -0.9, 1.2),
}
DEFAULT_SHAPE = (0.3, 0.0, 0.8)
CLOSED = "pbm"
_MARKS = re.compile(r"[ˈˌːˑ'̃͡‿,.\-]")
_LETTERS = re.compile(r"[^\w'’-]")


@dataclass
class Phone:
    start: float
    end: float
    opening: float
    width: float
    closed: bool


def _shape(symbol: str) -> tuple[float, float, float, bool]:
    """The shape of one phoneme (its first sound decides: a diphthong starts where it starts)."""
    head = _MARKS.sub("", symbol)[:1]
    for letters, shape in SHAPES.items():
        if head and head in letters:
            return (*shape, letters == CLOSED)
    return (*DEFAULT_SHAPE, False)


def espeak_voice(language: str | None) -> str:
    """espeak-ng's voice for a BCP-47 or ISO 639-1 tag (en-US -> en-us, pt-BR -> pt-br)."""
    return (language or "en-us").lower().replace("_", "-")


def phonemes(texts: list[str], language: str | None) -> list[list[str]]:
    """Each text's phonemes (IPA) from espeak-ng, in one process for all of them.

    Texts come back on their own lines; a text espeak cannot read gets no phonemes.
    """
    cleaned = [_LETTERS.sub(" ", t).strip() for t in texts]
    if not shutil.which("espeak-ng") or not any(cleaned):
        return [[] for _ in texts]
    lines = [c or "x" for c in cleaned]
    result = subprocess.run(
        ["espeak-ng", "-q", "--ipa", "--sep=_", "-v", espeak_voice(language)],
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60, check=False)
    out = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or len(out) != len(lines):
        return [[] for _ in texts]
    return [[p for p in line.replace(" ", "_").split("_") if _MARKS.sub("", p)] if c else []
            for c, line in zip(cleaned, out, strict=True)]


def place(words: list[Word], language: str | None) -> list[Phone]:
    """Phones with times: each word's phonemes share its span by their usual lengths."""
    phones: list[Phone] = []
    for word, symbols in zip(words, phonemes([w.word for w in words], language), strict=True):
        shapes = [_shape(s) for s in symbols]
        if not shapes or word.end <= word.start:
            continue
        weights = np.array([s[2] for s in shapes])
        edges = word.start + (word.end - word.start) * np.r_[0, np.cumsum(weights)] / weights.sum()
        phones += [Phone(float(a), float(b), o, w, closed)
                   for (o, w, _, closed), a, b in zip(shapes, edges[:-1], edges[1:], strict=True)]
    return phones


def shape_curves(phones: list[Phone], times: np.ndarray, delay_s: float = 0.0, blur_s: float = 0.035,
                 hold_s: float = 0.035) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Opening, width, "in a word" and "lips shut" at `times` (s, evenly spaced): each phone's shape at its
    centre plus `delay_s`, linear between, rest (closed, neutral) outside words, smoothed by a
    Gaussian of `blur_s`; p/b/m close fully after smoothing, from `hold_s` before they start
    (the lips shut before the burst is heard) to their end, undelayed."""
    opening, width = np.zeros(len(times)), np.zeros(len(times))
    inside, shut = np.zeros(len(times), bool), np.zeros(len(times), bool)
    if not phones or len(times) < 2:
        return opening, width, inside, shut
    step = float(times[1] - times[0])
    late = times - delay_s
    for run in _runs_of_words(phones):
        centres = np.array([(p.start + p.end) / 2 for p in run])
        keys_t = np.r_[run[0].start, centres, run[-1].end]
        keys_o = np.r_[0.0, [p.opening for p in run], 0.0]
        keys_w = np.r_[0.0, [p.width for p in run], 0.0]
        span = (late >= run[0].start) & (late <= run[-1].end)
        opening[span] = np.interp(late[span], keys_t, keys_o)
        width[span] = np.interp(late[span], keys_t, keys_w)
        inside |= span
    opening, width = _blur(opening, blur_s / step), _blur(width, blur_s / step)
    for p in phones:
        if p.closed:
            shut |= (times >= p.start - hold_s) & (times <= max(p.end, p.start + hold_s))
    opening[shut] = 0.0
    return opening, width, inside, shut


def _runs_of_words(phones: list[Phone], gap_s: float = 0.12) -> list[list[Phone]]:
    """Phones grouped into stretches of speech: a silence over `gap_s` starts a new one."""
    runs: list[list[Phone]] = [[phones[0]]]
    for p in phones[1:]:
        if p.start - runs[-1][-1].end > gap_s:
            runs.append([p])
        else:
            runs[-1].append(p)
    return runs


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return x
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return np.convolve(np.pad(x, radius, mode="edge"), kernel / kernel.sum(), mode="valid")

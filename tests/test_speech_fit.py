"""Fitting dubbed clips into their slots, on real espeak-ng speech and generated tones; and the
TTS engine speaking a dub's segments into one track with it."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from deployments.speech_fit import (
    GAP_S,
    MAX_TEMPO,
    MIN_TEMPO,
    Clip,
    Placement,
    fit,
    place_words,
    read_wav,
    stretch,
)
from deployments.tts import TtsEngine
from reelcore.capabilities.speech import SynthesizeSegmentsRequest
from reelcore.capabilities.timed_text import TimedText
from reelcore.engine import Call
from reelcore.schemas import Word
from tests.media import read_audio, speech

RATE = 22050  # espeak-ng's own rate


@pytest.fixture(scope="module")
def sentence(tmp_path_factory) -> np.ndarray:
    path = tmp_path_factory.mktemp("fit") / "sentence.wav"
    return read_audio(speech("The weekly report goes to the finance team.", path), RATE)


def seconds(samples: np.ndarray, rate: int = RATE) -> float:
    return len(samples) / rate


def placed(track: np.ndarray, p: Placement, rate: int = RATE) -> np.ndarray:
    return track[round(p.start * rate):round(p.end * rate)]


def harmonic_tone(f0: float, duration: float, rate: int = RATE) -> np.ndarray:
    """A voiced-like sound: f0 and its harmonics, the fundamental loudest."""
    t = np.arange(int(duration * rate)) / rate
    return sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 6)).astype(np.float32)


def dominant_hz(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def centroid_hz(samples: np.ndarray, rate: int = RATE) -> float:
    power = np.abs(np.fft.rfft(samples)) ** 2
    return float((np.fft.rfftfreq(len(samples), 1 / rate) * power).sum() / power.sum())


def test_a_clip_that_fits_starts_at_its_slot_untouched(sentence) -> None:
    n = seconds(sentence)
    fitted = fit([Clip(sentence, RATE, 1.0, 1.0 + n * 1.2)], 8.0)
    [p] = fitted.placements
    assert (p.start, p.tempo, p.truncated) == (1.0, 1.0, False)
    assert np.array_equal(placed(fitted.track, p), sentence)
    assert len(fitted.track) == 8 * RATE and fitted.rate == RATE
    rest = np.concatenate([fitted.track[:RATE], fitted.track[round(p.end * RATE):]])
    assert not rest.any()


def test_a_longer_clip_takes_the_silence_after_its_slot(sentence) -> None:
    n = seconds(sentence)
    clips = [Clip(sentence, RATE, 1.0, 1.0 + n * 0.8), Clip(sentence, RATE, 2.0 + n, 2.0 + 2 * n)]
    first, second = fit(clips, 3.0 + 2 * n).placements
    assert (first.start, first.tempo, first.truncated) == (1.0, 1.0, False)
    assert first.end == pytest.approx(1.0 + n, abs=1 / RATE)
    assert second.start == pytest.approx(2.0 + n, abs=1 / RATE)


def test_then_the_silence_before_it_keeping_50_ms_from_its_neighbours(sentence) -> None:
    n = seconds(sentence)
    lead = sentence[:RATE]
    after = 2.0 + 0.8 * n + 0.3  # 0.25 s borrowable after the slot, the rest must come from before
    clips = [Clip(lead, RATE, 0.0, 1.0), Clip(sentence, RATE, 2.0, 2.0 + 0.8 * n),
             Clip(lead, RATE, after, after + 1.5)]
    fitted = fit(clips, after + 2.0)
    first, middle, last = fitted.placements
    assert middle.tempo == 1.0 and not middle.truncated
    assert middle.end == pytest.approx(after - GAP_S, abs=1 / RATE)
    assert first.end + GAP_S - 1e-9 <= middle.start < 2.0
    assert np.array_equal(placed(fitted.track, middle), sentence)
    assert last.start == pytest.approx(after, abs=1 / RATE)


def test_with_no_silence_to_borrow_it_is_sped_up_pitch_kept(sentence) -> None:
    tone = harmonic_tone(150, 1.5)
    slot = 1.5 / 1.2
    clips = [Clip(tone, RATE, 0.0, slot), Clip(sentence, RATE, slot, 2 * slot),
             Clip(sentence, RATE, 2 * slot, 2 * slot + seconds(sentence) / 1.15)]
    fitted = fit(clips, 2 * slot + seconds(sentence) / 1.15)
    tone_at, speech_at, last_at = fitted.placements
    assert tone_at.tempo == pytest.approx(1.2, abs=1e-3) and not tone_at.truncated
    assert slot - 0.05 < tone_at.end - tone_at.start <= slot
    assert dominant_hz(placed(fitted.track, tone_at)) == pytest.approx(150, rel=0.05)
    assert last_at.tempo == pytest.approx(1.15, abs=1e-3)
    sped = placed(fitted.track, last_at)
    assert seconds(sped) == pytest.approx(seconds(sentence) / 1.15, abs=0.05)
    assert centroid_hz(sped) == pytest.approx(centroid_hz(sentence), rel=0.05)
    assert speech_at.truncated  # 1.25x is not enough for the middle one


def test_past_1_25x_and_every_gap_the_tail_is_cut_with_a_fade(sentence) -> None:
    n = seconds(sentence)
    clips = [Clip(sentence, RATE, 0.0, n / 2), Clip(sentence[:RATE], RATE, n / 2, n / 2 + 1.0)]
    fitted = fit(clips, n / 2 + 1.0)
    cut, after = fitted.placements
    assert (cut.tempo, cut.truncated) == (MAX_TEMPO, True)
    assert cut.start == 0.0 and cut.end == pytest.approx(n / 2, abs=1 / RATE)
    assert after.start == pytest.approx(n / 2, abs=1 / RATE) and not after.truncated
    tail = placed(fitted.track, cut)[-round(0.03 * RATE):]  # faded linearly to 0
    assert tail[-1] == 0 and np.abs(tail[-10:]).max() <= 10 / len(tail)


def test_a_much_shorter_clip_is_slowed_at_most_to_0_8x(sentence) -> None:
    n = seconds(sentence)
    slowest, = fit([Clip(sentence, RATE, 0.5, 0.5 + 3 * n)], 1 + 3 * n).placements
    assert (slowest.start, slowest.tempo) == (0.5, MIN_TEMPO)
    assert slowest.end - slowest.start == pytest.approx(n / MIN_TEMPO, abs=0.05)
    nearly, = fit([Clip(sentence, RATE, 0.0, n / 0.65)], n / 0.65).placements
    assert nearly.tempo == pytest.approx(0.65 / 0.7, abs=1e-3)  # just enough to fill 70 %
    untouched, = fit([Clip(sentence, RATE, 0.0, n / 0.75)], n / 0.75).placements
    assert untouched.tempo == 1.0


def test_many_clips_never_overlap_and_the_track_is_exact_to_the_sample(sentence) -> None:
    n = seconds(sentence)
    other = harmonic_tone(200, 0.6, 16000)  # another rate: resampled to the highest
    starts = [0.3, 0.3 + 0.7 * n, 0.5 + 1.4 * n, 0.5 + 1.6 * n, 0.6 + 2.5 * n, 0.6 + 2.6 * n]
    ends = [*starts[1:], starts[-1] + 0.9]
    clips = [Clip(sentence if i % 2 == 0 else other, RATE if i % 2 == 0 else 16000, s, e)
             for i, (s, e) in enumerate(zip(starts, ends, strict=True))]
    clips.insert(3, Clip(np.zeros(0, np.float32), 0, starts[3], starts[3]))  # nothing to say
    total = 13.371
    fitted = fit(clips, total)
    assert len(fitted.track) == round(total * RATE)
    spans = [p for p in fitted.placements if p.end > p.start]
    assert len(spans) == 6
    for a, b in pairwise(spans):
        assert a.end <= b.start + 1e-9, (a, b)
    assert fitted.placements[3].start == fitted.placements[3].end
    assert all(MIN_TEMPO <= p.tempo <= MAX_TEMPO for p in fitted.placements)
    tone = placed(fitted.track, fitted.placements[1])
    assert dominant_hz(tone) == pytest.approx(200, rel=0.02)


def test_clip_word_timings_follow_the_clip_onto_the_track() -> None:
    words = [Word(start=0.1, end=0.4, word="one", probability=1.0),
             Word(start=0.5, end=0.9, word="two", probability=1.0),
             Word(start=1.3, end=1.6, word="three", probability=1.0)]
    shown = place_words(words, Placement(start=2.0, end=3.0, tempo=1.25, truncated=True))
    assert [(w.word, w.start, w.end) for w in shown] == [("one", 2.08, 2.32), ("two", 2.4, 2.72)]
    slowed = place_words(words, Placement(start=1.0, end=3.0, tempo=0.8, truncated=False))
    assert [(w.start, w.end) for w in slowed] == [(1.125, 1.5), (1.625, 2.125), (2.625, 3.0)]


def test_stretch_keeps_pitch_and_changes_length() -> None:
    tone = harmonic_tone(180, 2.0)
    for tempo in (0.8, 1.25):
        out = stretch(tone, RATE, tempo)
        assert seconds(out) == pytest.approx(2.0 / tempo, abs=0.05)
        assert dominant_hz(out) == pytest.approx(180, rel=0.02)


def test_the_tts_engine_speaks_each_segment_into_its_slot(tmp_path) -> None:
    engine = TtsEngine(backends=["espeak-ng"])
    engine.load()
    texts = ["Hello there.", " ", "The report is ready.", "See you on Friday, everyone."]
    slots = [(0.5, 1.4), (1.6, 1.9), (2.5, 3.8), (5.0, 7.5)]
    progress: list[float] = []
    request = SynthesizeSegmentsRequest(
        segments=[TimedText(text=t, start=s, end=e) for t, (s, e) in zip(texts, slots, strict=True)],
        total_duration_seconds=8.0, language="en-US", tts_provider="espeak-ng")
    result = engine.synthesize_segments(request, Call(progress.append, tmp_path))

    assert result.audio.path == tmp_path / "speech.wav" and result.voice_id.startswith("espeak-ng:")
    assert result.duration_seconds == 8.0 and result.language == "en-US"
    audio, rate = read_wav(result.audio.path)
    assert len(audio) == 8 * rate
    spoken = np.zeros(len(audio), bool)
    for (start, end), text, p in zip(slots, texts, result.placements, strict=True):
        assert start <= p.start and p.end <= end
        inside = audio[round(start * rate):round(end * rate)]
        spoken[round(start * rate):round(end * rate)] = True
        assert (np.sqrt(np.mean(inside ** 2)) > 0.02) == bool(text.strip()), text
    assert np.sqrt(np.mean(audio[~spoken] ** 2)) < 1e-4
    assert result.placements[1].start == result.placements[1].end  # nothing to say
    assert result.placements[3].tempo < 1  # filled under 70 % of its slot: slowed a little

    said = " ".join(texts).replace(",", "").replace(".", "").split()
    assert [w.word for w in result.words] == said
    assert all(a.start <= b.start for a, b in pairwise(result.words))
    for word in result.words:
        assert any(s - 1e-3 <= word.start < word.end <= e + 1e-3 for s, e in slots), word
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) == 5

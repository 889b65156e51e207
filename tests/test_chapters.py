"""Chapters on CPU: the real MiniLM engine on made-up talks with clear topic changes (a boundary
where the topic changes, snapped to the shot change, titles in each topic's own words), and the
rules any input keeps (the chapters tile the video; none is shorter than the minimum)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pydantic import ValidationError

from deployments.sentence_embed import SentenceEmbedEngine
from deployments.topic_chapters import (
    ChapterParams,
    depths,
    gap_time,
    short_title,
    timeline_units,
    topic_chapters,
)
from reelcore.capabilities.chapters import ChaptersRequest
from reelcore.capabilities.timed_text import TimedText
from reelcore.engine import Call
from reelcore.errors import NoSpeechDetected
from reelcore.schemas import Chapter

BREAD = ["Today we are baking a loaf of sourdough bread at home.",
         "First mix the flour, water and salt in a large bowl.",
         "Let the dough rest for an hour so the gluten develops.",
         "Then fold the dough a few times to give it strength.",
         "The starter makes the bread rise slowly overnight.",
         "Shape the loaf and put it in a floured basket.",
         "Bake it in a very hot oven with the lid on.",
         "Let the bread cool before you cut the first slice."]
FOOTBALL = ["Now let's talk about last night's football match.",
            "The home team scored twice in the first half.",
            "Their striker hit the ball into the top corner.",
            "The goalkeeper saved a penalty just before half time.",
            "In the second half the visitors pressed hard for a goal.",
            "The referee showed two yellow cards to the defenders.",
            "The crowd in the stadium sang until the final whistle.",
            "The win puts the club top of the league table."]
GARDEN = ["Finally, a few words about the vegetable garden.",
          "Plant the tomatoes once the last frost has passed.",
          "Water the seedlings early in the morning.",
          "Pull the weeds before they flower and spread their seeds.",
          "Compost from kitchen scraps feeds the soil.",
          "Pick the beans while they are young and tender."]
WORDS = {"bread": {"bread", "loaf", "dough", "flour", "bake", "oven", "starter", "slice", "basket",
                   "sourdough", "gluten", "bowl", "salt"},
         "football": {"football", "match", "team", "striker", "ball", "goalkeeper", "penalty", "goal",
                      "referee", "crowd", "stadium", "league", "club", "half", "visitors", "cards"},
         "garden": {"garden", "tomatoes", "seedlings", "weeds", "compost", "beans", "soil", "frost",
                    "vegetable", "plant", "water", "seeds"}}


def said(*topics: list[str], every: float = 5.0) -> list[TimedText]:
    """The topics' sentences one after another, one every `every` seconds, each with a pause."""
    lines = [text for topic in topics for text in topic]
    return [TimedText(start=every * i + 0.5, end=every * i + every - 0.5, text=t) for i, t in enumerate(lines)]


def shots(cuts: list[float], duration: float, text: str = "A shot.") -> list[TimedText]:
    edges = [0.0, *cuts, duration]
    return [TimedText(start=a, end=b, text=text) for a, b in itertools.pairwise(edges)]


def tiles(chapters: list[Chapter], duration: float) -> None:
    """Chapters cover [0, duration] in order, without gaps or overlaps."""
    assert [c.index for c in chapters] == list(range(len(chapters)))
    assert chapters[0].start == 0.0 and chapters[-1].end == pytest.approx(duration, abs=1e-3)
    for before, after in itertools.pairwise(chapters):
        assert before.end == after.start and before.start < before.end


def about(chapter: Chapter, topic: str) -> bool:
    words = {w.strip(".,'…").lower() for w in chapter.title.split()}
    return bool(words & WORDS[topic])


@pytest.fixture(scope="module")
def engine() -> SentenceEmbedEngine:
    found = SentenceEmbedEngine()
    found.load()
    return found


def chapters(engine: SentenceEmbedEngine, tmp_path, **request) -> list[Chapter]:
    reports: list[float] = []
    result = engine.chapters(ChaptersRequest(**request), Call(reports.append, tmp_path))
    assert reports and reports[-1] == 1.0 and result.method == "topic shifts (all-MiniLM-L6-v2)"
    return result.chapters


def test_a_talk_on_two_topics_is_cut_at_the_shot_change_where_the_topic_changes(engine, tmp_path) -> None:
    segments = said(BREAD, FOOTBALL)  # the football starts at 40.5 s, after a pause from 39.5 s
    found = chapters(engine, tmp_path, duration=80.0, segments=segments,
                     scenes=shots([20.0, 41.0, 63.0], 80.0), min_chapter_seconds=10)
    tiles(found, 80.0)
    assert [(c.start, c.end) for c in found] == [(0.0, 41.0), (41.0, 80.0)], found
    assert about(found[0], "bread") and about(found[1], "football"), [c.title for c in found]
    assert all(len(c.title.rstrip("…").split()) <= 6 for c in found)
    assert found[0].summary and all(s in BREAD for s in split_sentences(found[0].summary))


def split_sentences(text: str) -> list[str]:
    return [s if s.endswith(".") else s + "." for s in text.split(". ")]


def test_without_shots_a_chapter_opens_on_its_first_words(engine, tmp_path) -> None:
    found = chapters(engine, tmp_path, duration=80.0, segments=said(BREAD, FOOTBALL),
                     min_chapter_seconds=10)
    assert [c.start for c in found] == [0.0, 40.5], found


def test_three_topics_give_three_chapters_each_titled_from_its_own(engine, tmp_path) -> None:
    duration = 5.0 * (len(BREAD) + len(FOOTBALL) + len(GARDEN))
    found = chapters(engine, tmp_path, duration=duration, segments=said(BREAD, FOOTBALL, GARDEN),
                     min_chapter_seconds=15)
    tiles(found, duration)
    assert [c.start for c in found] == [0.0, 40.5, 80.5], found
    assert [about(c, t) for c, t in zip(found, ["bread", "football", "garden"], strict=True)] == [True] * 3


def test_no_chapter_is_shorter_than_the_minimum(engine, tmp_path) -> None:
    segments = said(BREAD, FOOTBALL)
    assert len(chapters(engine, tmp_path, duration=80.0, segments=segments, min_chapter_seconds=41)) == 1
    found = chapters(engine, tmp_path, duration=80.0, segments=segments, min_chapter_seconds=39)
    assert [c.start for c in found] == [0.0, 40.5]


def test_silent_footage_is_chaptered_from_what_its_shots_show(engine, tmp_path) -> None:
    described = ["A baker kneads dough on a floured table.", "Loaves of bread rise in baskets.",
                 "Bread comes out of a hot oven.", "A football player kicks the ball at goal.",
                 "The goalkeeper dives for the ball.", "Fans cheer in the football stadium."]
    scenes = [TimedText(start=10.0 * i, end=10.0 * (i + 1), text=t) for i, t in enumerate(described)]
    found = chapters(engine, tmp_path, duration=60.0, scenes=scenes, min_chapter_seconds=15)
    assert [(c.start, c.end) for c in found] == [(0.0, 30.0), (30.0, 60.0)], found
    assert "bread" in found[0].title.lower() + found[0].summary.lower()
    assert "ball" in found[1].title.lower() + found[1].summary.lower()


def test_nothing_said_or_shown_has_no_chapters(engine, tmp_path) -> None:
    with pytest.raises(NoSpeechDetected):
        engine.chapters(ChaptersRequest(duration=10.0, segments=[TimedText(start=0, end=1, text=" ")]),
                        Call(lambda _: None, tmp_path))
    with pytest.raises(ValidationError):
        ChaptersRequest(duration=0.0)


# --- the rules, on any vectors ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_any_talk_is_tiled_by_chapters_no_shorter_than_the_minimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 60))
    starts = np.sort(rng.uniform(0, 300, count))
    units = [TimedText(start=s, end=s + float(rng.uniform(0.5, 8)), text=f"unit {i}")
             for i, s in enumerate(starts)]
    duration = max(300.0, max(u.end for u in units))
    vectors = rng.normal(size=(count, 8))
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    params = ChapterParams(min_seconds=float(rng.uniform(5, 60)), min_depth=0.1)
    cuts = sorted(rng.uniform(1, 299, 10).tolist())
    found = topic_chapters(units, vectors, cuts, duration, params)
    tiles(found, duration)
    assert all(c.end - c.start >= params.min_seconds - 1e-3 for c in found) or len(found) == 1


def test_depth_is_the_climb_to_the_peaks_on_either_side() -> None:
    sims = np.array([0.8, 0.6, 0.2, 0.5, 0.9, 0.7, 0.9])
    assert np.allclose(depths(sims), [0.0, 0.2, 1.3, 0.4, 0.0, 0.4, 0.0])


def test_a_gap_takes_the_nearest_shot_change_within_reach() -> None:
    before, after = TimedText(start=0, end=10, text="a"), TimedText(start=11, end=14, text="b")
    assert gap_time(before, after, [10.5, 20.0], snap=2.0) == 10.5, "a cut in the pause"
    assert gap_time(before, after, [9.5, 11.5], snap=2.0) == 11.5, "as near, the later"
    assert gap_time(before, after, [5.0, 16.0], snap=2.0) == 11.0, "none near: the first words"


def test_a_title_is_the_sentence_s_first_words() -> None:
    assert short_title("So, the train leaves at nine.", 6) == "The train leaves at nine"
    assert short_title("Shape the loaf and put it in a floured basket.", 6) == "Shape the loaf"
    assert short_title("In the second half the visitors pressed hard for a goal.", 6) == \
        "In the second half the visitors…"
    assert short_title("Remember to water the plants in the garden.", 4) == "Remember to water…"
    assert short_title("Okay.", 6) == "Okay"


def test_the_timeline_is_what_is_said_and_the_shots_where_nothing_is() -> None:
    segments = [TimedText(start=1, end=4, text="hello there"), TimedText(start=12, end=15, text=" ")]
    scenes = shots([5.0, 10.0], 20.0, "a grey shot")
    units = timeline_units(segments, scenes)
    assert [(u.start, u.text) for u in units] == [(1, "hello there"), (5.0, "a grey shot"),
                                                   (10.0, "a grey shot")]

"""Chapters from sentence vectors: where the topic changes, cut at the nearest shot change; each
chapter titled by its most central sentence, shortened. Pure functions over numpy arrays; the
embedder engine (deployments/sentence_embed.py) supplies the vectors.

The timeline's units are what is said (transcript segments) and, where nothing is said, the
shots' descriptions: speech carries the topics when there is any, and a measured description
("dark blue-grey, still, one face") would only add noise between two sentences; on silent
footage the descriptions are all there is, so the shots themselves are the units.

Boundaries, TextTiling-style (Hearst 1997) on MiniLM vectors instead of word counts:

1. for each gap between consecutive units, the cosine similarity between the mean vector of
   the `window` units before it and of the `window` units after it;
2. its depth: how far that similarity lies below the highest similarity reached by climbing
   from the gap to the left, plus the same to the right (a valley between two coherent
   stretches is deep; a gentle slope is not);
3. gaps are taken deepest first while their depth is at least `min_depth` and every chapter,
   once the gap is placed, still lasts `min_seconds` or more;
4. a gap's time is the shot change nearest to it (within `snap_seconds` of the pause between
   the two units), else the start of the unit after it: the chapter opens on its first words.

Why this way: it needs no training and no count of chapters, it works on any language MiniLM
reads, and a topic shift shows as a drop in similarity whatever the words; the depth (rather
than the raw similarity) makes the threshold hold for talks whose sentences are all alike, or
all different. Chapters tile [0, duration]: the first starts at 0, each ends where the next
starts, the last at the end.

Titles: the unit nearest the chapter's mean vector is the sentence that says most of what the
chapter says; its first clause, without a leading "so" or "and", cut to `title_words` words
(an ellipsis when cut), reads as a title and is the speaker's own words, so nothing is invented.
The summary is the chapter's two most central units, in the order they come.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from reelcore.capabilities.timed_text import TimedText
from reelcore.schemas import Chapter


class ChapterParams(BaseModel):
    min_seconds: float = Field(30.0, gt=0, description="The shortest chapter, in seconds.")
    window: int = Field(3, ge=1, le=50, description="Units averaged on each side of a gap.")
    min_depth: float = Field(0.5, ge=0, le=4, description="The least depth a gap needs to start a chapter.")
    snap_seconds: float = Field(2.0, ge=0, description="How far a cut may be from a gap to take it.")
    title_words: int = Field(6, ge=2, le=20, description="Most words in an extracted title.")


FILLERS = frozenset("so and but well now okay ok um uh er then also yes yeah right anyway alright".split())
TRAILING = frozenset("a an the of to and or but in on at for with from by as is are was that this our "
                     "my your their his her its it we i they".split())
CONJUNCTION = re.compile(r"(?:,\s*|\s)(?:and|but|so|because|which|while|then)\s", re.IGNORECASE)


def timeline_units(segments: Sequence[TimedText], scenes: Sequence[TimedText]) -> list[TimedText]:
    """What is said, and the descriptions of the shots where nothing is said, in time order."""
    said = sorted((s for s in segments if s.text.strip()), key=lambda s: s.start)
    starts = [s.start for s in said]
    ends = np.maximum.accumulate([s.end for s in said]).tolist() if said else []

    def spoken_in(scene: TimedText) -> bool:
        before = bisect.bisect_left(starts, scene.end) - 1  # the last segment starting before it ends
        return before >= 0 and ends[before] > scene.start

    quiet = [c for c in scenes if c.text.strip() and not spoken_in(c)]
    return sorted(said + quiet, key=lambda u: (u.start, u.end))


def gap_similarities(vectors: np.ndarray, window: int) -> np.ndarray:
    """sim[g]: cosine between the mean of the `window` vectors before gap g (between unit g and
    g + 1) and the mean of the `window` after it."""
    sims = []
    for g in range(1, len(vectors)):
        left, right = vectors[max(0, g - window):g].mean(0), vectors[g:g + window].mean(0)
        norm = float(np.linalg.norm(left) * np.linalg.norm(right))
        sims.append(float(left @ right) / norm if norm > 0 else 0.0)
    return np.array(sims)


def depths(sims: np.ndarray) -> np.ndarray:
    """Each gap's depth: the climb to the left peak plus the climb to the right one."""
    out = np.zeros(len(sims))
    for g, value in enumerate(sims):
        left = g
        while left > 0 and sims[left - 1] >= sims[left]:
            left -= 1
        right = g
        while right < len(sims) - 1 and sims[right + 1] >= sims[right]:
            right += 1
        out[g] = (sims[left] - value) + (sims[right] - value)
    return out


def gap_time(before: TimedText, after: TimedText, cuts: Sequence[float], snap: float) -> float:
    """The shot change nearest the pause between two units (within `snap`), else `after`'s start."""
    low, high = sorted((before.end, after.start))
    near = [c for c in cuts if low - snap <= c <= high + snap]
    if not near:
        return after.start
    return min(near, key=lambda c: (max(low - c, 0.0, c - high), -c))


def boundaries(units: Sequence[TimedText], vectors: np.ndarray, cuts: Sequence[float],
               duration: float, params: ChapterParams) -> list[float]:
    """The chapters' start times after 0, in order."""
    if len(units) < 2:
        return []
    found = depths(gap_similarities(vectors, params.window))
    chosen = [0.0, duration]
    for g in sorted(range(len(found)), key=lambda g: (-found[g], g)):
        if found[g] < params.min_depth:
            break
        at = gap_time(units[g], units[g + 1], cuts, params.snap_seconds)
        place = bisect.bisect(chosen, at)
        if at - chosen[place - 1] >= params.min_seconds and chosen[place] - at >= params.min_seconds:
            chosen.insert(place, at)
    return chosen[1:-1]


def short_title(text: str, words: int) -> str:
    """The first clause (up to a conjunction, when the sentence is long), without leading
    fillers, in at most `words` words (… when cut)."""
    clause = re.split(r"(?<=[.!?;:])\s|\s[-\u2013\u2014]\s", text.strip(), maxsplit=1)[0]
    if len(clause.split()) > words:  # a long sentence: its first clause, if that has three words
        head = CONJUNCTION.split(clause, maxsplit=1)[0]
        clause = head if len(head.split()) >= 3 else clause
    tokens = clause.strip().rstrip(".!?;:,").split()
    while len(tokens) > 1 and tokens[0].lower().strip(",") in FILLERS:
        tokens = tokens[1:]
    cut = len(tokens) > words
    tokens = tokens[:words]
    if cut:
        while len(tokens) > 2 and tokens[-1].lower().strip(",") in TRAILING:
            tokens.pop()
    title = " ".join(tokens).strip(" ,")
    title = title[:1].upper() + title[1:]
    return f"{title}…" if cut else title


def central(indices: list[int], units: Sequence[TimedText], vectors: np.ndarray) -> list[int]:
    """The units of a chapter, most central first (nearest the chapter's mean vector); units of
    three words or more before shorter ones ("Yes." says nothing of the topic)."""
    centre = vectors[indices].mean(0)
    return sorted(indices, key=lambda i: (len(units[i].text.split()) < 3, -float(vectors[i] @ centre), i))


def topic_chapters(units: Sequence[TimedText], vectors: np.ndarray, cuts: Sequence[float],
                   duration: float, params: ChapterParams) -> list[Chapter]:
    """The video's chapters: cut where the topic shifts, each titled by its most central unit."""
    edges = [0.0, *boundaries(units, vectors, cuts, duration, params), duration]
    chapters = []
    for index, (start, end) in enumerate(itertools.pairwise(edges)):
        slot = {"index": index, "start": round(start, 3), "end": round(end, 3)}
        inside = [i for i, u in enumerate(units) if start <= (u.start + u.end) / 2 < end
                  or (index == len(edges) - 2 and (u.start + u.end) / 2 >= end)]
        if not inside:  # a stretch with nothing said or shown: named by where it is
            chapters.append(Chapter(**slot, title=f"Part {index + 1}"))
            continue
        ranked = central(inside, units, vectors)
        summary = " ".join(units[i].text.strip() for i in sorted(ranked[:2]))
        chapters.append(Chapter(**slot, title=short_title(units[ranked[0]].text, params.title_words),
                                summary=summary))
    return chapters

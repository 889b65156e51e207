"""Question answering over a video's passages: retrieval by MiniLM, quoted verbatim with timestamps."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deployments.passage_qa import PassageQaEngine, content_words
from reelcore.capabilities.qa import AnswerRequest, Passage
from reelcore.engine import Call
from reelcore.errors import NoSpeechDetected

# A station announcer's video: transcript segments, and two descriptions of what is shown.
PASSAGES = [
    Passage(start=0.0, end=4.2, text="Good morning everyone, and welcome to Central Station."),
    Passage(start=4.2, end=9.8, text="Today I want to walk you through the changes to the weekend timetable."),
    Passage(start=9.8, end=14.5, text="The coffee shop on platform two is closed for renovation until May."),
    Passage(start=14.5, end=19.0, text="The train to Edinburgh leaves at half past nine from platform four."),
    Passage(start=19.0, end=23.6, text="Please keep your tickets with you, inspectors will be on board."),
    Passage(start=23.6, end=27.1, text=""),
    Passage(start=27.1, end=31.9, text="Bicycles are allowed on all services outside the rush hour."),
    Passage(start=31.9, end=36.4, text="If you need assistance, ask any member of staff in a yellow jacket."),
    Passage(start=36.4, end=40.0, text="Thank you for travelling with us, and have a pleasant journey."),
    Passage(start=0.0, end=12.0, kind="scene",
            text="A man in a blue uniform stands in front of a large departures board."),
    Passage(start=30.0, end=40.0, kind="scene",
            text="A red double-decker bus parks outside the station entrance in the rain."),
]


@pytest.fixture(scope="module")
def engine() -> PassageQaEngine:
    found = PassageQaEngine()
    found.load()
    return found


def ask(engine: PassageQaEngine, tmp_path, question: str, passages=PASSAGES, **kwargs):
    reports: list[float] = []
    result = engine.answer(AnswerRequest(question=question, passages=passages, **kwargs),
                           Call(reports.append, tmp_path))
    assert reports[-1] == 1.0
    return result


def test_a_question_about_something_said_cites_the_passage_that_says_it(engine, tmp_path) -> None:
    result = ask(engine, tmp_path, "When does the train leave?")
    best = result.citations[0]
    assert (best.start, best.end, best.kind) == (14.5, 19.0, "segment")
    assert best.text == "The train to Edinburgh leaves at half past nine from platform four."
    assert best.score >= engine.config.min_score
    assert len(result.citations) == 3 and result.citations[0].score >= result.citations[1].score
    assert result.method == "retrieval (minilm)"
    assert result.answer.startswith("At 0:14-0:19 the video says:")
    assert '"The train to Edinburgh leaves at half past nine from platform four."' in result.answer
    assert all(c.text for c in result.citations)  # the empty segment is never cited


def test_the_answer_is_deterministic_and_only_quotes_passages(engine, tmp_path) -> None:
    first = ask(engine, tmp_path, "Can I bring my bike?", top_k=5)
    assert first == ask(engine, tmp_path, "Can I bring my bike?", top_k=5)
    assert first.citations[0].text.startswith("Bicycles are allowed")
    assert len(first.citations) == 5
    quoted = [p.text for p in PASSAGES if p.text and p.text in first.answer]
    assert quoted and first.citations[0].text in quoted


def test_a_scene_description_can_be_cited(engine, tmp_path) -> None:
    result = ask(engine, tmp_path, "What vehicle is parked outside in the rain?", top_k=1)
    (best,) = result.citations
    assert (best.kind, best.start, best.end) == ("scene", 30.0, 40.0)
    assert "the video shows: A red double-decker bus" in result.answer


def test_a_weak_match_is_still_quoted_but_said_to_be_weak(engine, tmp_path) -> None:
    result = ask(engine, tmp_path, "What is the capital of Australia?")
    assert result.citations[0].score < engine.config.min_score
    assert result.answer.startswith("Nothing in the video clearly answers this")
    assert result.citations[0].text in result.answer


def test_no_passages_with_text_is_no_speech(engine, tmp_path) -> None:
    for passages in ([], [Passage(start=0, end=3, text="  ")]):
        with pytest.raises(NoSpeechDetected, match="no speech or scene text"):
            ask(engine, tmp_path, "When does the train leave?", passages=passages)


def test_blank_or_malformed_requests_are_rejected() -> None:
    for question in ("", "   \n"):
        with pytest.raises(ValidationError):
            AnswerRequest(question=question, passages=PASSAGES)
    with pytest.raises(ValidationError):
        AnswerRequest(question="x" * 2001)
    with pytest.raises(ValidationError):
        AnswerRequest(question="why?", top_k=0)
    with pytest.raises(ValidationError):
        Passage(start=5, end=1, text="backwards")
    with pytest.raises(ValidationError):
        Passage(start=0, end=1, text="a", kind="ocr")
    assert AnswerRequest(question=" When? ").question == "When?"


def test_content_words_match_word_forms_and_skip_question_words() -> None:
    assert content_words("When does the train leave?") == content_words("trains leaving")
    assert content_words("What is it?") == set()
    assert "930" not in content_words("9:30") and {"9", "30"} <= content_words("at 9:30")

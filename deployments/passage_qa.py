"""Question answering over one video's passages by retrieval, on CPU (all-MiniLM-L6-v2).

The passages are what analysis found: transcript segments (what is said) and scene descriptions
(what is shown), each with its time slot. The answer is extractive: the best passage (and any
other nearly as good) quoted verbatim with its timestamps; nothing is generated, so nothing is
invented. A generated answer from an LLM is a different engine.

Scoring, for each passage with text:

    score = cosine(question, passage) + lexical_weight * shared / question_words

`cosine` compares MiniLM embeddings (normalised, so a dot product, in [-1, 1]). The lexical
bonus rewards passages that share the question's content words: lower-cased words and numbers,
stop words and question words left out, crudely stemmed ("leaves", "leaving" and "leave" count
as one); `shared / question_words` is the fraction of the question's content words found in the
passage, so the bonus is at most `lexical_weight` (0.1): enough to break near-ties between
paraphrases in favour of the passage that uses the question's own words, too small to beat
a clearly closer meaning. Citations are the `top_k` best, best first (ties: the earlier one).

When the best score is below `min_score`, the closest passage is still quoted, but the answer
says that nothing answers the question clearly. A video with no passage text at all is
`NoSpeechDetected`.

    # configs/*.yaml, under args.engines:
    passage-qa: {engine: deployments.passage_qa:PassageQaEngine, config: {}}
"""

from __future__ import annotations

import re

import numpy as np
from pydantic import BaseModel, Field

from deployments.sentence_embed import embedding_dimension, load_sentence_model
from deployments.subtitles import timestamp
from reelcore.capabilities.qa import Answer, AnswerRequest, Citation, Passage
from reelcore.engine import Call, Engine
from reelcore.errors import NoSpeechDetected

STOP_WORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing done down during each else ever few for from
further get gets got had has have having he her here hers herself him himself his how i if in into
is it its itself just let lets me more most much must my myself no nor not now of off on once only
or other ought our ours ourselves out over own really same say said says she should so some such
tell than that the their theirs them themselves then there these they this those through to too
under until up us very was we were what whats when where which while who whom whose why will with
would yes yet you your yours yourself yourselves video clip
""".split())


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match leave/leaves/leaving, depart/departs/departed."""
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """Stemmed words of two letters or more, and numbers, that are not stop words."""
    words = re.findall(r"[a-z]+|\d+", text.lower().replace("'", ""))
    return {stem(w) for w in words if (w.isdigit() or len(w) > 1) and w not in STOP_WORDS}


class PassageQaConfig(BaseModel):
    model_path: str | None = Field(
        None, description="A local sentence-transformers folder; None: the packaged all-MiniLM-L6-v2.")
    device: str = "cpu"
    batch_size: int = Field(64, ge=1, le=4096)
    min_score: float = Field(0.35, description="Below this best score, the answer says nothing matches well.")
    lexical_weight: float = Field(0.1, ge=0, le=1, description="Most the shared-words bonus adds to a score.")
    near_best: float = Field(0.05, ge=0, description="Passages this close to the best are quoted too.")
    max_quoted: int = Field(2, ge=1, le=10, description="Most passages quoted in the answer text.")


def quote(citation: Citation) -> str:
    slot = f"{timestamp(citation.start)}-{timestamp(citation.end)}"
    if citation.kind == "scene":
        return f"at {slot} the video shows: {citation.text}"
    return f'at {slot} the video says: "{citation.text}"'


class PassageQaEngine(Engine):
    Config = PassageQaConfig
    methods = {"answer": AnswerRequest}
    config: PassageQaConfig

    def load(self) -> None:
        self.model, self.name = load_sentence_model(self.config.model_path, self.config.device)
        self.dimension = embedding_dimension(self.model)
        self.method = "retrieval (minilm)" if self.config.model_path is None else f"retrieval ({self.name})"
        self.encode(["warm up"])

    def describe(self) -> dict:
        return {"model": self.name, "dimension": self.dimension, "device": self.config.device,
                "method": self.method}

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.config.batch_size, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)

    def score(self, question: str, passages: list[Passage], call: Call) -> np.ndarray:
        """Cosine similarity plus the lexical bonus, one score per passage."""
        question_vector = self.encode([question])[0]
        step = self.config.batch_size * 4
        parts = []
        for i in range(0, len(passages), step):
            parts.append(self.encode([p.text.strip() for p in passages[i:i + step]]))
            call.report(0.9 * min(i + step, len(passages)) / len(passages))
        cosine = np.concatenate(parts) @ question_vector
        asked = content_words(question)
        bonus = np.array([len(asked & content_words(p.text)) / len(asked) if asked else 0.0
                          for p in passages])
        return cosine.astype(np.float64) + self.config.lexical_weight * bonus

    def answer(self, request: AnswerRequest, call: Call) -> Answer:
        passages = [p for p in request.passages if p.text.strip()]
        if not passages:
            raise NoSpeechDetected("the video has no speech or scene text to answer from")
        scores = self.score(request.question, passages, call)
        order = sorted(range(len(passages)), key=lambda i: (-round(float(scores[i]), 6), passages[i].start))
        citations = [Citation(**passages[i].model_dump(), score=round(float(scores[i]), 4))
                     for i in order[:request.top_k]]
        citations = [c.model_copy(update={"text": c.text.strip()}) for c in citations]
        best = citations[0].score
        quoted = [c for c in citations if c.score >= best - self.config.near_best][:self.config.max_quoted]
        quoted.sort(key=lambda c: c.start)  # read in the order the video has them
        text = "; ".join(quote(c) for c in quoted)
        text += "" if text.endswith((".", "!", "?", '"')) else "."
        if best >= self.config.min_score:
            answer = text[0].upper() + text[1:]
        else:
            closest = "the closest passages" if len(quoted) > 1 else "the closest passage"
            answer = f"Nothing in the video clearly answers this; {closest}: {text}"
        call.report(1.0)
        return Answer(answer=answer, citations=citations, method=self.method)

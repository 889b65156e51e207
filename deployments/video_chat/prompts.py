"""What the vision-language engines ask, and what they keep of the answers.

A shot is described from its frames, with what is said in it as a hint; a question is answered
from frames across the video plus the passages retrieval found, each with its time slot, and
the model is asked to cite those slots so that the answer stays checkable.
"""

from __future__ import annotations

import re

from deployments.subtitles import timestamp
from reelcore.capabilities.timed_text import TimedText

THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)
CITED = re.compile(r"\[(\d+):(\d{2})(?::(\d{2}))?\s*[-\u2013]\s*(\d+):(\d{2})(?::(\d{2}))?\]")


def slot(start: float, end: float) -> str:
    return f"[{timestamp(start)}-{timestamp(end)}]"


def describe_prompt(start: float, end: float, said: str) -> str:
    lines = [f"These frames are one shot of a video, from {timestamp(start)} to {timestamp(end)}.",
             "Describe the shot in one or two sentences: who or what is visible, the setting, and what "
             "happens. Say only what the frames show."]
    if said.strip():
        lines.append(f'What is said during the shot, for context: "{said.strip()}"')
    return "\n".join(lines)


def title_prompt(start: float, end: float, said: str, extracted: str) -> str:
    lines = [f"These frames are one chapter of a video, from {timestamp(start)} to {timestamp(end)}."]
    if said.strip():
        lines.append(f'What is said in it: "{said.strip()[:2000]}"')
    if extracted.strip():
        lines.append(f'A title taken from its words: "{extracted.strip()}"')
    lines += ["Give the chapter a title of at most six words, then a one-sentence summary of what it "
              "shows and says. Answer in two lines:", "Title: ...", "Summary: ..."]
    return "\n".join(lines)


def title_and_summary(answer: str) -> tuple[str, str]:
    """The title and summary lines of a chapter answer; without labels, the first line is the
    title and the rest the summary."""
    title = re.search(r"title\s*:\s*(.+)", answer, re.IGNORECASE)
    summary = re.search(r"summary\s*:\s*(.+)", answer, re.IGNORECASE)
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    first = title.group(1) if title else (lines[0] if lines else "")
    rest = summary.group(1) if summary else " ".join(lines[1:])
    return first.strip().strip('"*#').strip(), rest.strip().strip('"').strip()


def answer_prompt(question: str, passages: list[TimedText], start: float, end: float) -> str:
    lines = [f"The frames are sampled from a video between {timestamp(start)} and {timestamp(end)}."]
    if passages:
        lines.append("Passages found in the video, each with its time slot:")
        lines += [f"{slot(p.start, p.end)} {p.text.strip()}" for p in passages]
    lines += [f"Question: {question.strip()}",
              "Answer from the frames and the passages only, in a few sentences. Cite the time slots "
              "you rely on in the form [m:ss-m:ss]. If they do not answer the question, say so."]
    return "\n".join(lines)


def answer_in(answer: str) -> str:
    """The answer without a reasoning block or surrounding white space and quotes."""
    return THINKING.sub("", answer).strip().strip('"').strip()


def cited_slots(answer: str) -> list[tuple[float, float]]:
    """The [m:ss-m:ss] (or [h:mm:ss-h:mm:ss]) slots an answer cites, in seconds."""
    def seconds(a: str, b: str, c: str | None) -> float:
        return float(int(a) * 3600 + int(b) * 60 + int(c)) if c else float(int(a) * 60 + int(b))

    return [(seconds(*m.groups()[:3]), seconds(*m.groups()[3:])) for m in CITED.finditer(answer)]

"""Graph.stage: a finished stage's output is kept on the job and reused by a retried attempt."""

from __future__ import annotations

import asyncio
from typing import Any

from graphs.base import Graph


class Attempt:
    """The part of the JobContext that stages use, over a shared checkpoint store (the job)."""

    def __init__(self, kept: dict[str, Any]) -> None:
        self.kept = kept
        self.checkpoints = dict(kept)

    async def checkpoint(self, stage: str, output: Any) -> None:
        self.checkpoints[stage] = self.kept[stage] = output


def test_a_retried_attempt_resumes_after_its_last_finished_stage() -> None:
    graph, kept, ran = Graph({}), {}, []

    async def attempt(fail_at: str | None) -> list[dict]:
        ctx = Attempt(kept)
        outputs = []
        for name in ("transcribe", "translate", "speech"):
            async def work(name=name) -> dict:
                ran.append(name)
                if name == fail_at:
                    raise RuntimeError(f"{name} failed")
                return {"stage": name, "run": len(ran)}
            outputs.append(await graph.stage(ctx, name, work))
        return outputs

    try:
        asyncio.run(attempt(fail_at="speech"))
    except RuntimeError:
        pass
    assert ran == ["transcribe", "translate", "speech"] and set(kept) == {"transcribe", "translate"}
    outputs = asyncio.run(attempt(fail_at=None))
    assert ran[3:] == ["speech"], "only the failed stage runs again"
    assert [o["run"] for o in outputs] == [1, 2, 4], "earlier outputs come from the checkpoints"

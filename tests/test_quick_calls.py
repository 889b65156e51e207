"""Quick calls never wait behind long ones: a replica rendering a long job still answers
`supports` (and the other methods an engine marks quick) at once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pydantic import BaseModel

from reelcore.engine import Call, Engine, Support
from serve_app.engine_server import EngineServer


class Nothing(BaseModel):
    pass


class GatedEngine(Engine):
    """`render` holds the engine's one slot until the test opens the gate."""

    Config = Nothing
    methods = {"render": Nothing, "supports": Nothing}
    quick = frozenset({"supports"})

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def render(self, request: Nothing, call: Call) -> Support:
        assert self.gate.wait(30), "the test never opened the gate"
        return Support(ok=True, reason="rendered")

    def supports(self, request: Nothing, call: Call) -> Support:
        return Support(ok=True)


def server_for(engine: Engine) -> Any:
    """An EngineServer outside Serve: what its constructor sets, without a replica context."""
    server = object.__new__(EngineServer.func_or_class)
    server.name, server.engine, server.reason = "gated", engine, None
    server.slots = asyncio.Semaphore(1)
    return server


def test_supports_answers_while_a_long_call_holds_the_slot() -> None:
    async def scenario() -> None:
        engine = GatedEngine()
        server = server_for(engine)
        long = asyncio.ensure_future(server.ask("render", {}))
        second = asyncio.ensure_future(server.ask("render", {}))
        await asyncio.sleep(0.2)  # the first render holds the slot, the second waits for it
        answer = await asyncio.wait_for(server.ask("supports", {}), timeout=5)
        assert answer.result == {"ok": True, "reason": None}
        assert not long.done() and not second.done(), "long calls still take turns"
        engine.gate.set()
        assert (await long).result["reason"] == (await second).result["reason"] == "rendered"

    asyncio.run(scenario())

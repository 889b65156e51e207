"""The Serve application builder, referenced from a config as `serve_app.app:build_app`.

It binds one `EngineServer` deployment per configured engine (named after the engine, so the
YAML's `deployments:` list sets its resources), the dispatcher that runs graphs over them, and
the ingress that serves the API.
"""

from __future__ import annotations

from typing import Any

from ray.serve import Application

from serve_app.config import AppArgs
from serve_app.dispatcher import Dispatcher
from serve_app.engine_server import EngineServer
from serve_app.ingress import Ingress


def build_app(args: dict[str, Any]) -> Application:
    config = AppArgs.model_validate(args)
    engines = {
        name: EngineServer.options(name=name).bind(spec.engine, spec.config, spec.concurrency)
        for name, spec in config.engines.items()
    }
    pipelines = config.model_dump(mode="json")["pipelines"]
    dispatcher = Dispatcher.bind(pipelines, engines)
    auto_order = config.model_dump(mode="json")["auto_order"]
    return Ingress.bind(pipelines, engines, dispatcher, auto_order)

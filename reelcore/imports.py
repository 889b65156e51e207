"""Import paths written in configs (`package.module:attribute`), resolved where they are used."""

from __future__ import annotations

import importlib
from typing import Any


def import_string(path: str) -> Any:
    """`package.module:attribute` -> the attribute."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)

"""The service's one clock: timezone-aware UTC, as every stored and shown timestamp is."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)

"""Verifying reelserve webhooks on the receiving side (Standard Webhooks format)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from reelcore.errors import InvalidSignature


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """Check the signature and timestamp (5-minute tolerance) and return the parsed event.

    `secret` is your `whsec_...` webhook secret (`GET /v1/account`). Raises InvalidSignature.
    Pass the raw request body, not re-serialised JSON.
    """
    try:
        Webhook(secret).verify(payload, {k.lower(): v for k, v in headers.items()})
    except WebhookVerificationError as exc:
        raise InvalidSignature(f"webhook rejected: {exc}") from exc
    return json.loads(payload)

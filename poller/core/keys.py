"""Event keys: the idempotency token that makes one transition one notification, however often it is found."""

from __future__ import annotations

from poller.core.model import stable_hash


def event_key(kind: str, subject_id: str, value: object, version: str) -> str:
    """evk_ + 24 hex chars of the hash of (kind, subject, distinguishing new value, AWS version)."""
    return "evk_" + stable_hash([kind, subject_id, value, version])[:24]

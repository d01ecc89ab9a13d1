"""Stable hashes of plain values: the same value always hashes the same, whatever the key order."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(value: Any) -> str:
    """SHA-256 of canonical JSON: the same value always hashes the same, whatever the key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()

"""The core's errors: a record too broken to normalize, or too incomplete to store."""

from __future__ import annotations


class MalformedRecord(ValueError):
    """A record from an API is structurally broken: the caller logs its id, skips it and retries it next cycle."""

    label = "malformed"

    def __init__(self, record_id: str, reason: str):
        super().__init__(f"{self.label} record {record_id}: {reason}")
        self.record_id = record_id
        self.reason = reason


class IncompleteRecord(MalformedRecord):
    """A record that reads fine but lacks what the events depend on: handled like a malformed one, and the stored
    snapshot (its last known values) stays as it is until a complete answer comes."""

    label = "incomplete"

"""The core's one error: a record too broken to normalize."""

from __future__ import annotations


class MalformedRecord(ValueError):
    """A record from an API is structurally broken: the caller logs its id, skips it and retries it next cycle."""

    def __init__(self, record_id: str, reason: str):
        super().__init__(f"malformed record {record_id}: {reason}")
        self.record_id = record_id
        self.reason = reason

"""What a per-input HubSpot error means for its outbox row: re-route, give up, or send again later."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from poller.delivery.sink import Verdict

# Categories that describe the input itself: sending the same input again gets the same answer.
_PERMANENT = frozenset({"VALIDATION_ERROR", "OBJECT_NOT_FOUND", "INVALID_PARAMS", "PROPERTY_DOESNT_EXIST",
                        "INVALID_OBJECT_ID", "OBJECT_ALREADY_EXISTS"})
_OWNER_MARKERS = ("hubspot_owner_id", "invalid_owner", "owner id", "ownerid")


def verdict_for(category: str | None, message: str | None, context: Mapping[str, Sequence[str]] | None) -> Verdict:
    """HubSpot's guidance: a bad owner → re-resolve the owner; a bad value or a missing deal → failed; else retry.

    A re-route costs nothing when the owner was deactivated since routing; a retry covers the errors that do not
    describe the input (an internal error, a lock, a limit), which the same input may pass next time.
    """
    text = " ".join([message or "", *(" ".join(v) for k, v in (context or {}).items() if k != "objectWriteTraceId"),
                     *(context or {}).keys()]).lower()
    if any(marker in text for marker in _OWNER_MARKERS):
        return Verdict.REROUTE
    if (category or "").upper() in _PERMANENT:
        return Verdict.FAILED
    return Verdict.RETRY

"""Review status normalization: which ReviewStatus values notify, as which kind."""

from __future__ import annotations

# Canonical status → event kind. Other statuses (In review, Pending Submission, values AWS adds later) are
# recorded in the snapshot but notify nobody (DESIGN §3).
REVIEW_KINDS = {
    "approved": "review_approved",
    "actionrequired": "review_action_required",
    "rejected": "review_rejected",
    "submitted": "submission_confirmed",
}


def canonical_review_status(status: str | None) -> str | None:
    """Lower-case letters and digits only: the wire says `In review`, the docs `In Review` and `In-Review`."""
    if status is None:
        return None
    squashed = "".join(ch for ch in status.casefold() if ch.isalnum())
    return squashed or None


def review_kind(status: str | None) -> str | None:
    """The event kind a (raw or canonical) review status notifies as, or None."""
    canonical = canonical_review_status(status)
    return REVIEW_KINDS.get(canonical) if canonical else None

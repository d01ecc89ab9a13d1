"""Events from engagement invitations: a PENDING AWS referral not seen before is a new opportunity."""

from __future__ import annotations

from datetime import datetime

from poller.core.events import make_event
from poller.core.model import Event, Invitation
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso, parse_iso


def invitation_events(
    old: Invitation | None, new: Invitation, now: datetime, *, rules: RuleConfig, baseline: bool
) -> list[Event]:
    """[new_opportunity] for a first-seen PENDING invitation, else [].

    `baseline` is accepted for symmetry with diff() but changes nothing: PENDING invitations notify even on the
    silent first run, because they are actionable and expire after 15 days (DESIGN §2).
    """
    # A known invitation moving on (ACCEPTED, EXPIRED) is the seller's own doing or too late to act on; so is one
    # still listed PENDING after its ExpirationDate (its status lags): it can no longer be accepted.
    if old is not None or new.status.strip().upper() != "PENDING" or _expired(new, now):
        return []
    if "new_opportunity" in rules.muted_kinds:
        return []
    return [make_event("new_opportunity", new.invitation_id, value=new.invitation_id,
                       version=new.invitation_date or "", occurred_at=new.invitation_date or iso(now), rules=rules,
                       facts=(("expiration_date", new.expiration_date), ("sender_company", new.sender_company)))]


def _expired(invitation: Invitation, now: datetime) -> bool:
    try:
        return bool(invitation.expiration_date) and parse_iso(str(invitation.expiration_date)) <= now
    except ValueError:
        return False  # an unreadable date expires nothing: the seller hears about it and checks

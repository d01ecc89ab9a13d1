"""invitation_events(): a first-seen PENDING invitation is a new opportunity, even on the silent baseline."""

from __future__ import annotations

import pytest
from core_builders import NOW, RULES, invitation

from poller.core.invitations import invitation_events
from poller.core.keys import event_key
from poller.core.timefmt import iso

PENDING = invitation()


@pytest.mark.parametrize(("old", "new", "baseline", "expected"), [
    (None, PENDING, False, ["new_opportunity"]),
    (None, PENDING, True, ["new_opportunity"]),  # actionable and expiring: notify even on the first run
    (None, invitation(status="pending"), False, ["new_opportunity"]),
    (PENDING, PENDING, False, []),
    (PENDING, invitation(status="ACCEPTED"), False, []),
    (PENDING, invitation(status="EXPIRED"), False, []),
    (None, invitation(status="ACCEPTED"), False, []),
    (None, invitation(status="REJECTED"), True, []),
    (None, invitation(status="SOMETHING_NEW"), False, []),
], ids=["new", "new-on-baseline", "lowercase", "repeat", "accepted", "expired", "first-seen-accepted",
        "first-seen-rejected", "unknown-status"])
def test_invitation_table(old, new, baseline, expected):
    assert [e.kind for e in invitation_events(old, new, NOW, rules=RULES, baseline=baseline)] == expected


def test_event_shape():
    [event] = invitation_events(None, PENDING, NOW, rules=RULES, baseline=False)
    assert (event.priority, event.due_hours, event.deal_id) == ("HIGH", 24, None)
    assert event.subject_id == PENDING.invitation_id
    assert event.occurred_at == PENDING.invitation_date
    assert event.key == event_key("new_opportunity", PENDING.invitation_id, PENDING.invitation_id,
                                  PENDING.invitation_date or "")
    assert dict(event.facts)["expiration_date"] == PENDING.expiration_date


def test_undated_invitation_uses_now():
    [event] = invitation_events(None, invitation(invitation_date=None), NOW, rules=RULES, baseline=False)
    assert event.occurred_at == iso(NOW)
    assert event.key == event_key("new_opportunity", PENDING.invitation_id, PENDING.invitation_id, "")


def test_muted():
    rules = RULES.with_overrides(muted_kinds={"new_opportunity"})
    assert invitation_events(None, PENDING, NOW, rules=rules, baseline=False) == []

"""The soak's oracle on digests: an event inside a digest reached its owner; a reverting pair a digest dropped is
excused, and nothing else is (the oracle still fails a poller that drops or repeats what it should not)."""

from __future__ import annotations

import datetime as dt

from soak.compare import Sent, compare
from soak.truth import Expected

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


class World:
    def owner_changes(self, deal_id, start, end):  # noqa: ANN001, ANN201
        return {"101"}


def expected(kind: str, minutes: float, values=(), priority: str = "MEDIUM") -> Expected:
    return Expected(kind=kind, subject="O1", deal_id="50", priority=priority, due_hours=72,
                    at=T0 + dt.timedelta(minutes=minutes), values=values)


def task(key: str, kind: str, minutes: float, digest: str | None = None, priority: str = "MEDIUM") -> Sent:
    created = T0 + dt.timedelta(minutes=minutes)
    return Sent(key=key, kind=kind, subject="O1", task_id=key, owner="101", priority=priority,
                due=created + dt.timedelta(hours=72), created=created, deal="50", title="🗂️ 2 updates: O1",
                body="O1", notes=[("50", "101")], digest=digest)


def test_events_inside_a_digest_count_as_delivered():
    truth = [expected("opportunity_updated", 0, (("stage", "A", "B"),)),
             expected("resources_available", 1, priority="LOW")]
    sent = [task("k1", "opportunity_updated", 30, "d1"), task("k2", "resources_available", 30, "d1")]
    out = compare(truth, sent, World(), digest_window=HOUR)
    assert (len(out.matched), out.missed, out.duplicated, out.reverted, sum(out.wrong.values())) == (2, [], [], [], 0)


def test_a_reverting_pair_left_out_of_a_digest_is_excused_and_nothing_else_is():
    there, back = (expected("opportunity_updated", 0, (("stage", "A", "B"),)),
                   expected("opportunity_updated", 20, (("stage", "B", "A"),)))
    out = compare([there, back], [], World(), digest_window=HOUR)
    assert (out.missed, out.reverted) == ([], [back, there])
    # The same pair a day apart is two changes to tell, and no digest setting excuses a lost one.
    late = expected("opportunity_updated", 24 * 60, (("stage", "B", "A"),))
    assert len(compare([there, late], [], World(), digest_window=HOUR).missed) == 2
    assert len(compare([there, back], [], World()).missed) == 2
    # Half a revert told and half dropped is a miss: a digest drops both or neither.
    out = compare([there, back], [task("k1", "opportunity_updated", 5)], World(), digest_window=HOUR)
    assert out.missed == [back] and out.reverted == []


def test_a_change_held_by_a_daily_digest_may_arrive_a_window_later_and_still_counts():
    change = expected("opportunity_updated", 0, (("stage", "A", "B"),))
    late = task("k1", "opportunity_updated", 30 * 60, "d1")  # detected just after 08:00, told at the next 08:00
    assert len(compare([change], [late], World(), digest_window=dt.timedelta(days=1)).matched) == 1
    assert len(compare([change], [late], World()).missed) == 1  # without digests, 30 h late is a miss

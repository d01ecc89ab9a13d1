"""Owners' preferences as pure decisions: `now` passed in, no clock, no database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from poller.config.preferences import parse_preferences
from poller.core.decide import decide, flood_free_at
from poller.core.digest import digest_key, fold
from poller.core.hours import window_end
from poller.core.model import Change, Event
from poller.core.notes.digest import render_digest
from poller.core.notes.rollup import rollup_day, rollup_key
from poller.core.preferences import OwnerPreferences
from poller.core.rules import RuleConfig
from poller.errors import ConfigError


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


NOW = utc("2026-03-02T12:00:00")
DUE = NOW + dt.timedelta(hours=72)


def prefs(**kw) -> OwnerPreferences:
    return parse_preferences(kw).effective("101")


def decided(kind="opportunity_updated", priority="MEDIUM", now=NOW, due=DUE, recent=(), **kw):
    return decide(kind=kind, priority=priority, due_at=due, prefs=prefs(**kw), now=now, recent=recent)


def test_muted_off_and_below_the_minimum_are_suppressed_with_the_reason():
    assert (decided(mute=["opportunity_updated"]).action, decided(mute=["opportunity_updated"]).reason) == (
        "suppress", "muted: opportunity_updated")
    assert decided(kinds={"opportunity_updated": "off"}).action == "suppress"
    low = decided(kind="resources_available", priority="LOW", minimum_priority="MEDIUM")
    assert (low.action, low.reason) == ("suppress", "LOW is below the minimum priority MEDIUM")
    assert decided(priority="MEDIUM", minimum_priority="MEDIUM").action == "send"
    assert decided().action == "send"  # nothing configured: at once, as before preferences


def test_digest_holds_until_the_window_closes_in_the_owners_time_and_high_bypasses_it():
    held = decided(mode="digest", digest_window="08:00", time_zone="Europe/Berlin")
    assert (held.action, held.hold_until) == ("hold", utc("2026-03-03T07:00:00"))  # 08:00 CET
    assert decided(mode="digest").hold_until == NOW  # the default window: what this cycle found
    assert decided(priority="HIGH", mode="digest").action == "send"
    assert decided(priority="HIGH", mode="digest", digest_high=True).action == "hold"
    assert decided(kinds={"opportunity_updated": "digest"}).action == "hold"
    assert decided(kind="review_rejected", kinds={"opportunity_updated": "digest"}).action == "send"


def test_windows_every_few_hours_start_at_local_midnight():
    zone = ZoneInfo("America/New_York")
    # 07:00 EST is in the 04:00–08:00 window, which closes at 08:00 EST (13:00 UTC)
    assert window_end("4h", utc("2026-03-02T12:00:00"), zone) == utc("2026-03-02T13:00:00")
    assert window_end("cycle", NOW, zone) == NOW


@pytest.mark.parametrize(("now", "reminder"), [
    # Saturday 22:30 EST, the night the clocks spring forward: 07:00 EDT is 11:00 UTC, not 12:00.
    ("2027-03-14T03:30:00", "2027-03-14T11:00:00"),
    # Saturday 22:30 EDT, the night they fall back: 07:00 EST is 12:00 UTC.
    ("2026-11-01T02:30:00", "2026-11-01T12:00:00"),
    # An ordinary night, and a moment after the quiet hours (no move).
    ("2027-01-10T04:00:00", "2027-01-10T12:00:00"),
    ("2027-01-10T13:00:00", None),
])
def test_quiet_hours_move_the_reminder_to_the_next_working_hour_across_dst(now, reminder):
    d = decided(now=utc(now), due=utc(now) + dt.timedelta(hours=12), quiet_hours="22:00-07:00",
                time_zone="America/New_York")
    assert d.action == "send"  # the task is still created now
    assert d.remind_at == (utc(reminder) if reminder else None)
    if reminder:  # a due time inside the quiet hours moves with it; one after them stays
        assert d.due_at == max(utc(now) + dt.timedelta(hours=12), utc(reminder))


def test_the_flood_guard_lets_n_tasks_per_deal_per_hour_and_holds_the_rest_until_one_ages_out():
    recent = [NOW - dt.timedelta(minutes=50), NOW - dt.timedelta(minutes=10), NOW - dt.timedelta(minutes=70)]
    assert flood_free_at(recent, 3, NOW) is None  # one of the three is older than an hour
    held = decided(flood_limit=2, recent=recent)
    assert (held.action, held.hold_until) == ("hold", NOW + dt.timedelta(minutes=10))
    assert decided(priority="HIGH", flood_limit=1, recent=recent).action == "send"  # HIGH is never delayed


def event(key: str, field: str, old, new, kind="opportunity_updated", priority="MEDIUM") -> Event:
    return Event(kind=kind, subject_id="O1", key=key, priority=priority, due_hours=72, occurred_at=key,
                 changes=(Change(field=field, old=old, new=new),), deal_id="9")


def test_a_change_that_reverts_within_the_window_says_nothing_and_others_stay():
    a_b, b_a = event("k1", "stage", "Qualify", "Committed"), event("k2", "stage", "Committed", "Qualify")
    score = event("k3", "engagement_score", "Low", "Medium", kind="engagement_score_changed", priority="LOW")
    folded = fold([a_b, score, b_a])
    assert [e.key for e in folded.kept] == ["k3"] and [e.key for e in folded.reverted] == ["k1", "k2"]
    # Medium → High went out at once (HIGH), so it is not in the window: Low → Medium … High → Low is no revert.
    up, down = (event("k4", "engagement_score", "Low", "Medium", "engagement_score_changed"),
                event("k5", "engagement_score", "High", "Low", "engagement_score_changed"))
    assert len(fold([up, down]).kept) == 2


def test_the_digest_key_comes_from_its_members_whatever_their_order():
    assert digest_key(["b", "a"]) == digest_key(["a", "b"]) != digest_key(["a", "b", "c"])
    assert digest_key(["a"]).startswith("evk_")


def test_a_digest_lists_every_change_in_order_escaped():
    events = [event(f"evk_{n}", "next_steps", f"step {n}", f"<b>step {n + 1}</b>") for n in range(5)]
    note = render_digest("evk_d", events, None, NOW, rules=RuleConfig.default())
    assert note.kind == "digest" and note.subject.startswith("🗂️ 5 updates: O1")
    positions = [note.note_body.index(f"Event evk_{n}") for n in range(5)]
    assert positions == sorted(positions) and "<b>" not in note.note_body and "&lt;b&gt;step 5" in note.note_body
    assert "Ref: evk_d" in note.task_body and note.due_at.startswith("2026-03-05T12:00")


def test_a_managers_rollup_is_due_once_its_local_time_has_passed_and_keyed_by_day():
    assert rollup_day("08:00", "Europe/Berlin", utc("2026-03-02T06:59:00")) is None
    day, since, until = rollup_day("08:00", "Europe/Berlin", utc("2026-03-02T07:00:00"))
    assert (day, since, until) == ("2026-03-02", utc("2026-03-01T07:00:00"), utc("2026-03-02T07:00:00"))
    assert rollup_key("900", day) == rollup_key("900", "2026-03-02") != rollup_key("900", "2026-03-03")


@pytest.mark.parametrize(("table", "message"), [
    ({"mode": "later"}, "preferences.mode: expected one of immediate, digest, off, got 'later'"),
    ({"quiet_hours": "22-7"}, "preferences.quiet_hours: '22' is not a time of day HH:MM"),
    ({"time_zone": "Mars/Olympus"}, "preferences.time_zone: 'Mars/Olympus' is not an IANA time zone"),
    ({"owners": {"bob": {"mode": "digest"}}}, "preferences.owners.bob: neither a HubSpot owner id"),
    ({"teams": {"a": {"members": ["1"]}, "b": {"members": ["1"]}}}, "preferences.teams.b.members: '1' is already"),
    ({"kinds": {"nope": "digest"}}, "preferences.kinds.nope: unknown event kind 'nope'"),
    ({"digest_window": "3d"}, "preferences.digest_window: '3d' is not a digest window"),
    ({"colour": "red"}, "preferences.colour: unknown preference"),
])
def test_a_bad_preference_is_one_line_naming_it(table, message):
    with pytest.raises(ConfigError) as err:
        parse_preferences(table)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_owner_beats_team_beats_defaults_and_kinds_merge():
    p = parse_preferences({"mode": "digest", "kinds": {"resources_available": "off"},
                           "teams": {"emea": {"members": ["ANNA@example.com"], "time_zone": "Europe/Berlin",
                                              "kinds": {"opportunity_updated": "immediate"}}},
                           "owners": {"101": {"mode": "immediate"}}})
    mine, source = p.explain("101", "anna@example.com")
    assert (mine.mode, mine.time_zone, dict(mine.kinds)) == (
        "immediate", "Europe/Berlin", {"resources_available": "off", "opportunity_updated": "immediate"})
    assert (source["mode"], source["time_zone"], source["quiet_hours"]) == ("owner 101", "team emea", "built-in")
    assert p.effective("102").mode == "digest"

"""Owners' preferences end to end: boto3 and hubspot-api-client against both simulators, what each owner receives.

Real time, as in test_delivery.py (hubspot-api-client cannot deserialize under freezegun): where the moment matters
(quiet hours across a DST change, windows, the flood guard's hour) the job's clock is real time moved to a chosen
instant (`Shifted`), which the test moves on; the simulators keep real time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter

from click.testing import CliRunner
from conftest import FAST_RETRY
from test_delivery import TASK_CREATE, baseline, by_key, ms

from poller.app import build_app
from poller.cli import cli
from poller.clock import utc_now
from poller.config.preferences import parse_preferences
from poller.core.timefmt import parse_iso
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import person


class Shifted:
    """Real time moved to `start` (and on by hand): the job's clock."""

    def __init__(self, start: str) -> None:
        self.offset = parse_iso(start) - utc_now()

    def __call__(self) -> dt.datetime:
        return utc_now() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


def with_preferences(pc_sim, hub_sim, make_app, table: dict, clock=None, count: int = 8, prepare=None):
    """A baseline on real time, then the same job with `[preferences]` = table (and `clock`, if given)."""
    app = baseline(pc_sim, hub_sim, make_app, count=count, prepare=prepare)
    settings = dataclasses.replace(app.settings, preferences=parse_preferences(table))
    return build_app(settings, pacing=False, retry=FAST_RETRY, clock=clock or utc_now)


def stage(pc_sim, oid: str, value: str) -> None:
    pc_sim.update_aws_summary(oid, {"LifeCycle": {"Stage": value}})


def resources(pc_sim, oid: str) -> None:
    pc_sim.update_aws_summary(oid, {"RelatedEntityIds": {"AwsProducts": ["AmazonS3", "AmazonBedrock"]}})


def pdm(pc_sim, oid: str) -> None:
    team = pc_sim.aws_summary(oid)["OpportunityTeam"]
    pc_sim.update_aws_summary(oid, {"OpportunityTeam": [*team, person("Pia", "Lund", "PDM")]})  # MEDIUM


def score(pc_sim, oid: str, tier: str) -> None:
    pc_sim.update_aws_summary(oid, {"Insights": {"EngagementScore": tier}})


def rows(app) -> dict[str, dict]:
    return {r["event_key"]: r for r in app.store.db.query("SELECT * FROM outbox_status")}


def tasks_by_owner(hub_sim) -> Counter[str]:
    return Counter(t["properties"]["hubspot_owner_id"] for t in hub_sim.tasks())


def test_each_owner_receives_what_their_preferences_say_and_the_rest_is_visible_as_suppressed(
        pc_sim, hub_sim, make_app):
    app = with_preferences(pc_sim, hub_sim, make_app, {"owners": {
        "101": {"mute": ["opportunity_updated"]},  # O1000000, O1000004
        "102": {"minimum_priority": "MEDIUM"},  # O1000001, O1000005
        "carol@partner.example": {"mode": "digest"},  # 103 by email: O1000002, O1000006
    }})  # 104 has none: everything at once (O1000003, O1000007)
    stage(pc_sim, "O1000000", "Committed")  # muted
    resources(pc_sim, "O1000001")  # LOW, below 102's minimum
    stage(pc_sim, "O1000005", "Committed")  # MEDIUM: goes
    stage(pc_sim, "O1000002", "Committed")
    resources(pc_sim, "O1000002")  # with the stage change: one digest for 103
    score(pc_sim, "O1000006", "High")  # HIGH: at once, digest or not
    stage(pc_sim, "O1000003", "Committed")
    resources(pc_sim, "O1000003")  # 104: two tasks

    result = run_cycle(app)

    assert (result.status, result.summary["events"]) == ("ok", 8)
    assert tasks_by_owner(hub_sim) == {"102": 1, "103": 2, "104": 2}
    outbox = rows(app)
    assert Counter(r["status"] for r in outbox.values()) == {"done": 5, "suppressed": 2, "digested": 2}
    suppressed = {r["subject_id"]: r["decision"] for r in outbox.values() if r["status"] == "suppressed"}
    assert suppressed == {"O1000000": "muted: opportunity_updated",
                          "O1000001": "LOW is below the minimum priority MEDIUM"}
    digest = next(r for r in outbox.values() if r["kind"] == "digest")
    assert {r["digest_key"] for r in outbox.values() if r["status"] == "digested"} == {digest["event_key"]}
    assert len(by_key(hub_sim.tasks())[digest["event_key"]]) == 1
    muted_key = next(k for k, r in outbox.items() if r["subject_id"] == "O1000000")
    assert not any(muted_key in json.dumps(o) for o in hub_sim.tasks() + hub_sim.notes())  # never delivered

    # The operator sees the suppressed rows, with why, in `poller state`.
    shown = CliRunner().invoke(cli, ["--db", app.settings.db, "state", "outbox", "--status", "suppressed"])
    assert shown.exit_code == 0 and "muted: opportunity_updated" in shown.output and muted_key in shown.output
    as_json = json.loads(CliRunner().invoke(cli, ["--db", app.settings.db, "state", "outbox", "--json"]).output)
    assert as_json["counts"] == {"done": 5, "suppressed": 2, "digested": 2}

    hub_sim.reset_calls()
    again = run_cycle(app)
    assert (again.summary["events"], again.summary["delivered"]) == (0, 0)
    assert not [c for c in hub_sim.calls if c.path == TASK_CREATE]


def test_quiet_hours_across_a_dst_change_keep_the_task_and_move_its_reminder(pc_sim, hub_sim, make_app):
    # Saturday 13 March 2027, 22:30 in New York (EST); the clocks spring forward at 02:00.
    clock = Shifted("2027-03-14T03:30:00Z")
    app = with_preferences(pc_sim, hub_sim, make_app, {"owners": {"101": {
        "quiet_hours": "22:00-07:00", "time_zone": "America/New_York"}}}, clock=clock)
    stage(pc_sim, "O1000000", "Committed")  # 101: quiet now
    stage(pc_sim, "O1000001", "Committed")  # 102: no quiet hours

    result = run_cycle(app)

    assert result.status == "ok"
    created = by_key(hub_sim.tasks())
    quiet, loud = (next(t for ts in created.values() for t in ts if t["properties"]["hubspot_owner_id"] == owner)
                   for owner in ("101", "102"))
    # 07:00 EDT is 11:00 UTC (a fixed UTC-5 would have said 12:00); the task itself exists now.
    assert ms(quiet["properties"]["hs_task_reminders"]) == parse_iso("2027-03-14T11:00:00Z").timestamp()
    # Due in 72 h would be Tuesday 23:30 EDT, inside the quiet hours too: it moves to their end, 07:00 EDT.
    assert ms(quiet["properties"]["hs_timestamp"]) == parse_iso("2027-03-17T11:00:00Z").timestamp()
    assert ms(loud["properties"]["hs_task_reminders"]) < clock().timestamp() + 6 * 60
    decision = rows(app)[next(k for k in created if k and quiet in created[k])]["decision"]
    assert decision == "immediate; quiet hours: reminder at 2027-03-14T11:00:00.000000Z"


def test_the_flood_guard_lets_n_tasks_per_deal_an_hour_and_folds_the_rest_into_the_next_digest(
        pc_sim, hub_sim, make_app):
    clock = Shifted("2027-01-05T09:00:00Z")
    app = with_preferences(pc_sim, hub_sim, make_app, {"flood_limit": 2}, clock=clock)
    stage(pc_sim, "O1000000", "Committed")
    resources(pc_sim, "O1000000")
    pdm(pc_sim, "O1000000")
    score(pc_sim, "O1000000", "Low")  # four events on one deal in one cycle, none HIGH

    run_cycle(app)
    assert len(hub_sim.tasks()) == 2
    held = [r for r in rows(app).values() if r["status"] == "held"]
    assert len(held) == 2 and all(r["decision"].startswith("flood guard: 2 tasks") for r in held)

    clock.advance(minutes=30)
    run_cycle(app)
    assert len(hub_sim.tasks()) == 2  # still within the hour

    clock.advance(minutes=31)
    run_cycle(app)
    tasks = hub_sim.tasks()
    assert len(tasks) == 3
    digest = next(r for r in rows(app).values() if r["kind"] == "digest")
    assert all(key["event_key"] in digest["task_body"] for key in held)
    assert len(hub_sim.notes()) == 3 and all(n["associations"]["deals"] == ["50000"] for n in hub_sim.notes())


def test_a_bad_preference_stops_the_command_with_one_line_naming_it_and_state_preferences_explains_one_owner(
        tmp_path, monkeypatch):
    monkeypatch.delenv("POLLER_CONFIG", raising=False)
    bad = tmp_path / "bad.toml"
    bad.write_text('[preferences.teams.emea]\nmembers = ["101"]\nquiet_hours = "22:00-7"\n')
    result = CliRunner().invoke(cli, ["--config", str(bad), "--db", str(tmp_path / "p.db"), "run"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: preferences.teams.emea.quiet_hours: '7' is not a time of day HH:MM"

    good = tmp_path / "poller.toml"
    good.write_text('[preferences]\nmode = "digest"\n[preferences.teams.emea]\nmembers = ["anna@example.com"]\n'
                    'time_zone = "Europe/Berlin"\nmanagers = ["900"]\n')
    shown = CliRunner().invoke(cli, ["--config", str(good), "--db", str(tmp_path / "none.db"), "state",
                                     "preferences", "ANNA@example.com", "--json"])
    data = json.loads(shown.output)
    assert shown.exit_code == 0 and data["levels"] == ["defaults", "team emea"]
    assert (data["preferences"]["mode"], data["sources"]["mode"]) == ("digest", "defaults")
    assert (data["preferences"]["time_zone"], data["sources"]["time_zone"]) == ("Europe/Berlin", "team emea")
    assert not (tmp_path / "none.db").exists()  # read-only: no database is created

"""Routing: a notification nobody can receive is parked as `unroutable` with its reason, never dropped, and goes
to the fallback owner once one is configured (real clients against both simulators, in real time)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from poller.cli import cli
from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.simulators.portfolio import seed

FALLBACK = "190"


def park_four_ways(pc_sim, hub_sim) -> None:
    """A deal without owner, one whose owner was archived, one naming an unknown owner, one deleted; plus a normal one."""
    hub_sim.update_deal("50001", hubspot_owner_id="")
    hub_sim.add_owner("177", "gone@partner.example", "Gone", "Away")
    hub_sim.update_deal("50002", hubspot_owner_id="177")
    hub_sim.archive_owner("177")
    hub_sim.update_deal("50003", hubspot_owner_id="555")
    hub_sim.remove_deal("50004")
    for n in (1, 2, 3, 4, 5):
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Action Required"}})


def outbox(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", db, "state", "outbox", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_unroutable_rows_are_parked_with_a_reason_then_go_to_the_fallback_owner(pc_sim, hub_sim, make_app, tmp_path,
                                                                                 monkeypatch):
    seed(pc_sim, hub_sim, 6)
    db = str(tmp_path / "poller.db")
    assert run_cycle(make_app(hub=hub_sim, db=tmp_path / "poller.db")).summary["baseline"] is True
    park_four_ways(pc_sim, hub_sim)

    # No fallback owner: the cycle runs through `poller run` as cron would, and still exits 0.
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "sim-token")
    monkeypatch.setenv("HUBSPOT_BASE_URL", hub_sim.url)
    monkeypatch.setenv("POLLER_PC_REQUESTS_PER_SECOND", "10")
    monkeypatch.delenv("POLLER_FALLBACK_OWNER_ID", raising=False)
    run = CliRunner().invoke(cli, ["--db", db, "run", "--json"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)["summary"]
    # O4's deal is gone: its review event and the broken-link conflict are both parked.
    assert (summary["status"], summary["events"], summary["delivered"], summary["parked"]) == ("ok", 6, 1, 5)
    (delivered,) = hub_sim.tasks()
    assert delivered["properties"]["hubspot_owner_id"] == portfolio.OWNERS[5 % 4][0]
    assert len(hub_sim.notes()) == 1

    code, text = outbox(db, "--status", "unroutable")
    assert code == 0
    assert "counts: done 1, unroutable 5" in text
    for shown in ("deal 50001 has no owner", "deal owner 177 is archived", "deal owner 555 is archived",
                  "deal 50004 not found in HubSpot"):
        assert shown in text, shown
    code, text = outbox(db, "--json")
    rows = {(r["subject_id"], r["kind"]): r for r in json.loads(text)["rows"]}
    parked = {k: r for k, r in rows.items() if r["status"] == "unroutable"}
    assert set(parked) == {("O1000001", "review_action_required"), ("O1000002", "review_action_required"),
                           ("O1000003", "review_action_required"), ("O1000004", "review_action_required"),
                           ("O1000004", "conflict_detected")}
    assert all("no fallback owner (set POLLER_FALLBACK_OWNER_ID" in r["route_reason"] for r in parked.values())
    assert all(r["owner_id"] is None for r in parked.values())

    # Nothing is lost by running again without a fallback: the rows stay parked, nothing is sent twice.
    again = run_cycle(make_app(hub=hub_sim, db=tmp_path / "poller.db"))
    assert (again.exit_code, again.summary["parked"], len(hub_sim.tasks())) == (0, 5, 1)

    # With a fallback owner the parked rows are delivered to it, on their deal where the deal exists.
    hub_sim.reset_calls()
    result = run_cycle(make_app(hub=hub_sim, db=tmp_path / "poller.db", fallback_owner_id=FALLBACK))
    assert (result.status, result.exit_code, result.summary["delivered"], result.summary["parked"]) == ("ok", 0, 5, 0)
    tasks = [t for t in hub_sim.tasks() if t["id"] != delivered["id"]]
    assert len(tasks) == 5 and {t["properties"]["hubspot_owner_id"] for t in tasks} == {FALLBACK}
    assert sorted(d for t in tasks for d in t["associations"]["deals"]) == ["50001", "50002", "50003"]
    notes = [n for n in hub_sim.notes() if n["properties"]["hubspot_owner_id"] == FALLBACK]
    assert sorted(d for n in notes for d in n["associations"]["deals"]) == ["50001", "50002", "50003"]
    assert len(hub_sim.notes()) == 4  # the two rows about the deleted deal have no record for a note
    code, text = outbox(db)
    assert code == 0 and "counts: done 6" in text
    code, text = outbox(db, "--json")
    reasons = {r["subject_id"] + "/" + r["kind"]: r["route_reason"] for r in json.loads(text)["rows"]}
    assert reasons["O1000001/review_action_required"] == "deal 50001 has no owner → fallback owner"
    assert reasons["O1000002/review_action_required"].endswith("is archived or not an active user → fallback owner")
    assert reasons["O1000004/conflict_detected"] == "deal 50004 not found in HubSpot → fallback owner"
    assert reasons["O1000005/review_action_required"] == "deal owner"


def test_a_fallback_owner_that_is_not_active_parks_the_row_too(pc_sim, hub_sim, make_app):
    seed(pc_sim, hub_sim, 3)
    hub_sim.add_owner("191", "left@partner.example", "Left", "Company")
    hub_sim.archive_owner("191")
    app = make_app(hub=hub_sim, fallback_owner_id="191")
    run_cycle(app)
    hub_sim.update_deal("50001", hubspot_owner_id="")
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Rejected"}})

    result = run_cycle(app)
    assert (result.status, result.exit_code, result.summary["parked"]) == ("ok", 0, 1)
    assert hub_sim.tasks() == [] and hub_sim.notes() == []
    (row,) = app.store.db.query("SELECT status, route_reason FROM outbox_status")
    assert row["status"] == "unroutable"
    assert row["route_reason"] == "deal 50001 has no owner; fallback owner 191 is not an active owner"

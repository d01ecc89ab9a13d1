"""The deal side: amounts compared like with like, AWS-side changes reported whatever a conflict says (cycle and
backfill agree), and a deal read that says nothing for sure is a failed read, not "deal not found"."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from click.testing import CliRunner

from poller.cli import cli
from poller.config import load_settings
from poller.errors import ConfigError
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import FALLBACK_OWNER, OWNERS, opportunity_id, seed

DEAL_READ = "/crm/v3/objects/deals/batch/read"


def start(pc_sim, hub_sim, make_app, count: int = 4, **overrides):
    seeded = seed(pc_sim, hub_sim, count)
    app = make_app(hub=hub_sim, **{"fallback_owner_id": FALLBACK_OWNER[0], "sweep_period": 0.0, **overrides})
    assert run_cycle(app).summary["baseline"]
    return app, seeded


def kinds(app, run_id: int | None = None) -> list[tuple[str, str]]:
    where, args = ("WHERE run_id = ?", [run_id]) if run_id is not None else ("", [])
    return sorted((r[0], r[1]) for r in app.store.db.execute(f"SELECT kind, subject_id FROM events {where}", args))


def with_euros(pc_sim, oid: str, amount: str) -> dict:
    """Partner Central's spend becomes the USD entry it had plus `amount` EUR; returns the USD entry."""
    usd = pc_sim.opportunity(oid)["Project"]["ExpectedCustomerSpend"][0]
    pc_sim.update_opportunity(oid, {"Project": {"ExpectedCustomerSpend": [
        usd, {"Amount": amount, "CurrencyCode": "EUR", "Frequency": "Monthly", "TargetCompany": "AWS"}]}})
    return usd


def test_spend_in_another_currency_is_never_added_to_the_deal_amount(pc_sim, hub_sim, make_app):
    app, seeded = start(pc_sim, hub_sim, make_app)
    oid, deal = seeded[0].opportunity_id, seeded[0].deal_id
    # Partner Central adds a EUR estimate (the USD figure is unchanged); the seller edits the USD deal amount.
    usd = with_euros(pc_sim, oid, "900")
    hub_sim.update_deal(deal, amount=str(int(usd["Amount"]) + 500))

    result = run_cycle(app)

    assert result.status == "ok"
    # In USD only the deal moved: a sync not yet done, not a conflict. Adding EUR 900 to the USD spend would have
    # made Partner Central "move" too, and raised a false conflict.
    assert kinds(app) == []
    tasks = [t for t in hub_sim.tasks() if t["properties"]["hs_task_subject"].startswith("⚡")]
    assert tasks == []


def test_a_deal_in_euros_is_compared_with_the_euro_spend(pc_sim, hub_sim, make_app):
    app, seeded = start(pc_sim, hub_sim, make_app)
    oid, deal = seeded[1].opportunity_id, seeded[1].deal_id
    with_euros(pc_sim, oid, "900")
    hub_sim.update_deal(deal, deal_currency_code="EUR", amount="900")
    run_cycle(app)  # now they agree in EUR: that is the pair both sides start from
    with_euros(pc_sim, oid, "1500")
    hub_sim.update_deal(deal, amount="1100")

    result = run_cycle(app)

    assert kinds(app, result.run_id) == [("conflict_detected", oid)]
    [task] = [t["properties"] for t in hub_sim.tasks() if t["properties"]["hs_task_subject"].startswith("⚡")]
    [note] = [n["properties"]["hs_note_body"] for n in hub_sim.notes()]
    assert "Partner Central 1500.00 ≠ HubSpot 1100.00" in note


def test_an_aws_side_change_is_reported_while_a_conflict_is_open_and_backfill_agrees(pc_sim, hub_sim, make_app,
                                                                                       tmp_path, monkeypatch):
    db = tmp_path / "poller.db"
    app, seeded = start(pc_sim, hub_sim, make_app, db=db)
    oid, deal = seeded[2].opportunity_id, seeded[2].deal_id
    since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    hub_sim.update_deal(deal, closedate="2028-02-01T00:00:00Z")
    pc_sim.update_opportunity(oid, {"LifeCycle": {"TargetCloseDate": "2028-03-01"}})
    raised = run_cycle(app)
    assert kinds(app, raised.run_id) == [("conflict_detected", oid)]
    # While that conflict is open, AWS changes its own view of the close date (and only that).
    pc_sim.update_aws_summary(oid, {"LifeCycle": {"TargetCloseDate": "2028-04-15"}}, touch=True)

    result = run_cycle(app)

    assert kinds(app, result.run_id) == [("opportunity_updated", oid)]
    [update] = [t["properties"] for t in hub_sim.tasks() if t["properties"]["hs_task_subject"].startswith("🔄")]
    [body] = [n["properties"]["hs_note_body"] for n in hub_sim.notes() if "AWS changed its side" in
              n["properties"]["hs_note_body"]]
    assert "Target close date: (none) → 2028-04-15" in body
    monkeypatch.setenv("POLLER_DB", str(db))
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "sim-token")
    monkeypatch.setenv("HUBSPOT_BASE_URL", hub_sim.url)
    monkeypatch.setenv("POLLER_FALLBACK_OWNER_ID", FALLBACK_OWNER[0])
    tasks_before = len(hub_sim.tasks())

    backfill = CliRunner().invoke(cli, ["backfill", "--since", since, "--json"], catch_exceptions=False)

    assert backfill.exit_code == 0, backfill.output
    summary = json.loads(backfill.stdout)["summary"]
    assert summary["new"] == 0 and summary["known"] >= 1  # the backfill finds the same update, already sent
    assert len(hub_sim.tasks()) == tasks_before


def garble_deal_reads(hub_sim, body: bytes, times: int = 1) -> None:
    """The next deal batch reads answer 200 with `body`, as a proxy or a HubSpot incident might."""
    def rewrite(_request, response) -> None:
        response.status, response.body = 200, body
    hub_sim.on_request(DEAL_READ, after_commit=rewrite, times=times)


def rechecks(app) -> list[str]:
    return [r[0] for r in app.store.db.execute("SELECT opportunity_id FROM deal_recheck ORDER BY opportunity_id")]


@pytest.mark.parametrize("garbage", [b'{"status": "COMPLETE", "results": []}',  # no deal, and no error naming it
                                     b"<html>502 Bad Gateway</html>"], ids=["deals-left-out", "unreadable"])
def test_a_failed_deal_read_is_not_a_missing_deal_and_is_read_again(pc_sim, hub_sim, make_app, garbage):
    app, seeded = start(pc_sim, hub_sim, make_app)
    oid = seeded[0].opportunity_id
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required"}})
    garble_deal_reads(hub_sim, garbage, times=1000)  # every deal read of the run

    first = run_cycle(app)

    # The Partner Central read is committed (never read twice because HubSpot failed); the deal is not "missing":
    # no broken-link conflict, and the task goes to the owner last read, not to the fallback owner.
    assert first.exit_code == 0 and kinds(app) == [("review_action_required", oid)]
    assert oid in rechecks(app)
    [task] = [t["properties"] for t in hub_sim.tasks()]
    assert task["hubspot_owner_id"] == OWNERS[0][0]
    with sqlite3.connect(app.settings.db) as conn:
        assert conn.execute("SELECT found FROM deals WHERE deal_id = ?", [seeded[0].deal_id]).fetchone() == (1,)
    reads = pc_sim.operation_counts()["GetOpportunity"]

    hub_sim.clear_hooks()  # HubSpot answers properly again
    second = run_cycle(app)

    assert second.status == "ok" and rechecks(app) == []
    assert kinds(app) == [("review_action_required", oid)] and len(hub_sim.tasks()) == 1
    assert pc_sim.operation_counts()["GetOpportunity"] == reads  # the deal re-check reads no opportunity again


def test_only_hubspots_explicit_not_found_makes_a_deal_missing(pc_sim, hub_sim, make_app):
    app, seeded = start(pc_sim, hub_sim, make_app)
    oid = seeded[3].opportunity_id
    hub_sim.remove_deal(seeded[3].deal_id)  # HubSpot answers 207 with OBJECT_NOT_FOUND naming it
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required"}})

    result = run_cycle(app)

    assert result.status == "ok"
    assert kinds(app) == [("conflict_detected", oid), ("review_action_required", oid)]
    owners = {t["properties"]["hubspot_owner_id"] for t in hub_sim.tasks()}
    assert owners == {FALLBACK_OWNER[0]}


def test_a_deal_link_read_by_property_that_leaves_opportunities_out_is_a_failed_read(pc_sim, hub_sim, make_app):
    from hubspot import HubSpot
    from hubspot.crm.properties import PropertyCreate

    from poller.simulators import portfolio

    HubSpot(access_token="sim-token", host=hub_sim.url).crm.properties.core_api.create(
        "deals", PropertyCreate(name="aws_opportunity_id", label="AWS opportunity", type="string",
                                field_type="text", group_name="dealinformation", has_unique_value=True))
    seed(pc_sim, hub_sim, 3)
    for n in range(3):
        hub_sim.update_deal(portfolio.deal_id(n), aws_opportunity_id=opportunity_id(n))
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK_OWNER[0], deal_id_property="aws_opportunity_id")
    assert run_cycle(app).summary["baseline"]
    pc_sim.update_opportunity(opportunity_id(2), {"LifeCycle": {"ReviewStatus": "Rejected"}})
    garble_deal_reads(hub_sim, b'{"status": "COMPLETE", "results": []}', times=1000)

    run_cycle(app)

    # The known link is kept: the event is recorded against its deal and goes to that deal's owner, never the
    # fallback; the link is read again next cycle.
    assert kinds(app) == [("review_rejected", opportunity_id(2))] and opportunity_id(2) in rechecks(app)
    hub_sim.clear_hooks()
    assert run_cycle(app).status == "ok" and rechecks(app) == []
    [task] = [t["properties"] for t in hub_sim.tasks()]
    assert task["hubspot_owner_id"] == OWNERS[2][0]


def test_the_portal_currency_is_an_iso_code_or_a_one_line_error():
    assert load_settings(environ={"POLLER_DEAL_CURRENCY": " eur "}).deal_currency == "EUR"
    assert load_settings(environ={}).deal_currency == "USD"
    with pytest.raises(ConfigError, match=r"^deal_currency: 'euro' is not an ISO 4217 currency code .*"
                                          r"\(POLLER_DEAL_CURRENCY\)$"):
        load_settings(environ={"POLLER_DEAL_CURRENCY": "euro"})

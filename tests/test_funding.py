"""Funding (Partner Central Benefits) through real cycles: off unless enabled; decisions on an opportunity's benefit
application become a task and a note on its deal; an allocation about to expire, one reminder; its own period,
cursor, baseline and read budget."""

from __future__ import annotations

import datetime as dt

import pytest
from cycle_helpers import cycle, event_rows, tick

from poller.clock import utc_now
from poller.config import load_settings
from poller.partner_central.access import check_benefits
from poller.run.cycle import run_cycle
from poller.simulators.benefits.records import opportunity_arn
from poller.simulators.benefits.simulator import BenefitsSimulator
from poller.simulators.portfolio import FALLBACK_OWNER, seed

HOUR = 60


@pytest.fixture
def benefits_sim(aws_env, monkeypatch):
    with BenefitsSimulator() as sim:
        monkeypatch.setenv("AWS_ENDPOINT_URL_PARTNERCENTRAL_BENEFITS", sim.url)  # boto3's own endpoint override
        yield sim


def application(sim, oid: str | None, status: str = "IN_REVIEW", name: str = "MAP 2.0 Migrate credits") -> str:
    return sim.put_application({"Name": name, "Status": status, "Programs": ["MAP"],
                                "AssociatedResources": [opportunity_arn(oid)] if oid else []})


def kinds(app, result) -> list[tuple[str, str, str]]:
    return [(r["kind"], r["subject_id"], r["priority"]) for r in event_rows(app, result.run_id)]


def test_funding_is_off_unless_enabled(pc_sim, benefits_sim, make_app, frozen):
    seed(pc_sim, None, 1)
    application(benefits_sim, "O1000000", "APPROVED")
    app = make_app()
    for _ in range(2):
        cycle(app)
        tick(frozen, 2 * HOUR)
    assert benefits_sim.calls == [] and app.benefits is None


def test_a_funding_decision_is_a_task_and_a_note_on_the_linked_deal(pc_sim, hub_sim, benefits_sim, make_app):
    # In real time (hubspot-api-client cannot run under freezegun): a funding pass every cycle (benefits_period 0).
    deal = seed(pc_sim, hub_sim, 2)[1]
    linked = application(benefits_sim, deal.opportunity_id)
    application(benefits_sim, deal.opportunity_id, "APPROVED", name="POC credits")  # decided before: baseline
    unlinked = application(benefits_sim, None, "IN_REVIEW")  # not about an opportunity: nobody to tell
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK_OWNER[0], benefits=True, benefits_period=0.0)
    first = run_cycle(app)
    assert first.summary["baseline"] and event_rows(app) == []
    benefits_sim.update_application(linked, {"Status": "APPROVED"})
    benefits_sim.update_application(unlinked, {"Status": "APPROVED"})

    approved = run_cycle(app)

    assert kinds(app, approved) == [("funding_decision", deal.opportunity_id, "HIGH")]
    task = next(t for t in hub_sim.tasks() if "funding" in t["properties"]["hs_task_subject"].lower())
    assert task["properties"]["hs_task_subject"] == f"💰 AWS approved funding: {deal.title} (Globex)"
    assert task["associations"]["deals"] == [deal.deal_id]
    note = next(n for n in hub_sim.notes() if "MAP 2.0 Migrate credits" in n["properties"]["hs_note_body"])
    assert note["associations"]["deals"] == [deal.deal_id]
    benefits_sim.update_application(linked, {"Status": "ACTION_REQUIRED",
                                             "StatusReason": "Upload the customer's signed statement of work"})
    action = run_cycle(app)
    assert kinds(app, action) == [("funding_decision", deal.opportunity_id, "HIGH")]
    assert benefits_sim.operation_counts()["GetBenefitApplication"] == 1  # AWS's reason is only in the detail
    body = next(app.store.db.query("SELECT note_body FROM outbox WHERE event_key = ?",
                                   [event_rows(app, action.run_id)[0]["key"]]))["note_body"]
    assert "Upload the customer&#x27;s signed statement of work" in body
    benefits_sim.update_application(linked, {"Status": "REJECTED", "StatusReason": "Not eligible"})
    assert kinds(app, run_cycle(app)) == [("funding_decision", deal.opportunity_id, "MEDIUM")]
    assert run_cycle(app).notifications == []  # nothing changed: nothing rings
    assert app.store.cursor("benefits") is not None


def test_an_allocation_about_to_expire_gets_one_reminder(pc_sim, benefits_sim, make_app, frozen):
    seed(pc_sim, None, 1)
    oid = "O1000000"
    approved = application(benefits_sim, oid, "APPROVED")
    later = benefits_sim.put_allocation({"Name": "MAP credits", "BenefitApplicationId": approved,
                                         "ExpiresAt": utc_now() + dt.timedelta(days=20)})
    benefits_sim.put_allocation({"Name": "Already close", "BenefitApplicationId": approved,  # baseline: silent
                                 "ExpiresAt": utc_now() + dt.timedelta(days=5)})
    app = make_app(benefits=True)
    cycle(app)
    tick(frozen, 30)
    assert cycle(app).notifications == [] and benefits_sim.operation_counts()["ListBenefitAllocations"] == 1
    tick(frozen, 5 * 24 * HOUR)  # 15 days left: not yet
    assert cycle(app).notifications == []
    tick(frozen, 24 * HOUR + 5)

    reminded = cycle(app)

    assert kinds(app, reminded) == [("funding_expiring", oid, "HIGH")]
    row = next(app.store.db.query("SELECT * FROM outbox WHERE kind = 'funding_expiring'"))
    assert row["subject"].startswith("⏳ Funding expires soon: ") and "MAP credits" in row["note_body"]
    assert "expires on 2026-03-22 09:00 UTC" in row["note_body"]
    for _ in range(2):
        tick(frozen, 2 * HOUR)
        assert cycle(app).notifications == []
    assert {r["subject_id"] for r in event_rows(app)} == {oid} and later


def test_funding_reads_have_their_own_budget_and_a_refusal_names_the_call(pc_sim, benefits_sim, make_app, frozen):
    seed(pc_sim, None, 1)
    application(benefits_sim, "O1000000")
    app = make_app(benefits=True, benefits_daily_budget=1)

    result = cycle(app)

    assert result.status == "partial"
    assert "Partner Central Benefits read budget for the last 24 h spent (1 reads)" in result.summary["deferred"]
    assert result.summary["api_calls"] == {"partner_central": 4, "partner_central_benefits": 1}
    tick(frozen, 2 * HOUR)
    denied = make_app(benefits=True)
    benefits_sim.fail_next("ListBenefitApplications", "AccessDeniedException", message="not enrolled")
    refused = cycle(denied)
    assert refused.status == "failed" and refused.exit_code == 1
    assert "ListBenefitApplications: AccessDeniedException: not enrolled" in refused.summary["error"]


def test_config_check_names_a_missing_benefits_permission(benefits_sim):
    settings = load_settings(environ={"POLLER_BENEFITS": "true"})
    benefits_sim.fail_next("ListBenefitAllocations", "AccessDeniedException", message="User is not authorized")

    checks = check_benefits(settings)

    assert [(c.name, c.ok) for c in checks] == [("ListBenefitApplications", True), ("ListBenefitAllocations", False)]
    assert "missing IAM permission partnercentral:ListBenefitAllocations" in checks[1].detail

"""EventBridge events end to end: each sample event (tests/fixtures/eventbridge/) re-reads what it names through the
real boto3 client and delivers in the same invocation through the real HubSpot client; a duplicate sends nothing; an
unknown detail-type is logged and ignored; a held lease leaves the request to the next cycle."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from poller.cli import cli
from poller.core.eventbridge import DETAIL_TYPES, parse_event
from poller.eventbridge import handle, handler
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import invitation_record, opportunity_record, seed

FIXTURES = Path(__file__).parent / "fixtures" / "eventbridge"
FALLBACK = "190"
IN_REVIEW = ("O1000001", "O1000002", "O1000003", "O1000004", "O1000005", "O1000006", "O1000007")


def sample(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def change_new_opportunity(pc_sim, hub_sim) -> None:
    record = opportunity_record(20, rng=random.Random(20), review_status="Submitted")
    pc_sim.put_opportunity(record)  # no AWS view yet: first seen after the baseline, Submitted
    hub_sim.add_deal("50020", dealname=record["Project"]["Title"], hubspot_owner_id="101")


# fixture → (the change in Partner Central it reports, the Partner Central reads it causes, the kinds it announces)
SCRIPT = {
    "opportunity_created": (change_new_opportunity, "GetOpportunity", ["submission_confirmed"]),
    "opportunity_updated": (lambda pc, hub: pc.update_opportunity("O1000001", {"LifeCycle": {
        "ReviewStatus": "Approved"}}), "GetOpportunity", ["review_approved"]),
    "opportunity_accepted": (lambda pc, hub: pc.update_opportunity("O1000002", {"LifeCycle": {
        "ReviewStatus": "Approved"}}), "GetOpportunity", ["review_approved"]),
    "opportunity_rejected": (lambda pc, hub: pc.update_opportunity("O1000003", {"LifeCycle": {
        "ReviewStatus": "Rejected", "ReviewStatusReason": "Duplicate"}}), "GetOpportunity", ["review_rejected"]),
    "engagement_invitation_created": (lambda pc, hub: pc.put_invitation(invitation_record(3)),
                                      "GetEngagementInvitation", ["new_opportunity"]),
    # A known invitation moving on is recorded and announced to nobody (the accepted one's opportunity will be).
    "engagement_invitation_accepted": (lambda pc, hub: pc.set_invitation_status("engi-0000000000004", "ACCEPTED"),
                                       "GetEngagementInvitation", []),
    "engagement_invitation_rejected": (lambda pc, hub: pc.set_invitation_status("engi-0000000000005", "REJECTED"),
                                       "GetEngagementInvitation", []),
    "engagement_invitation_expired": (lambda pc, hub: pc.set_invitation_status("engi-0000000000006", "EXPIRED"),
                                      "GetEngagementInvitation", []),
    # Engagement events name no opportunity: the listing finds what changed.
    "engagement_member_joined": (lambda pc, hub: pc.update_opportunity("O1000004", {"LifeCycle": {
        "ReviewStatus": "Approved"}}), "ListOpportunities", ["review_approved"]),
    "engagement_member_added": (lambda pc, hub: pc.update_opportunity("O1000005", {"LifeCycle": {
        "ReviewStatus": "Action Required", "ReviewComments": "Add the use case"}}), "ListOpportunities",
                                ["review_action_required"]),
    "engagement_created": (lambda pc, hub: pc.update_opportunity("O1000006", {"LifeCycle": {
        "ReviewStatus": "Submitted"}}), "ListOpportunities", ["submission_confirmed"]),
    "engagement_updated": (lambda pc, hub: pc.update_opportunity("O1000007", {"LifeCycle": {
        "ReviewStatus": "Rejected"}}), "ListOpportunities", ["review_rejected"]),
    # AWS-side changes that do not move LastModifiedDate: only the re-read AWS summary shows them.
    "resource_snapshot_created": (lambda pc, hub: pc.update_aws_summary("O1000008", {"RelatedEntityIds": {
        "AwsProducts": ["AmazonS3", "AmazonEC2"]}}), "GetAwsOpportunitySummary", ["resources_available"]),
    "engagement_resource_snapshot_created": (lambda pc, hub: pc.update_aws_summary("O1000009", {"Insights": {
        "EngagementScore": "High"}}), "GetAwsOpportunitySummary", ["engagement_score_changed"]),
}


@pytest.fixture
def baseline(pc_sim, hub_sim, make_app):
    seed(pc_sim, hub_sim, 10)
    for oid in IN_REVIEW:
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "In review"}})
    for n in (4, 5, 6):  # pending referrals, announced by the baseline itself (they expire)
        pc_sim.put_invitation(invitation_record(n))
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK)
    assert run_cycle(app).summary["baseline"] is True
    return app


def test_every_sample_event_is_known_and_names_what_to_read():
    assert {sample(p.stem)["detail-type"] for p in FIXTURES.glob("*.json")} == DETAIL_TYPES
    assert set(SCRIPT) == {p.stem for p in FIXTURES.glob("*.json")}
    for name in SCRIPT:
        parsed = parse_event(sample(name), catalog="AWS")
        assert parsed.ignored is None and len(parsed.requests) == 1, name


def test_each_sample_event_delivers_its_notification_in_the_same_invocation_and_a_duplicate_sends_nothing(
        pc_sim, hub_sim, baseline):
    app = baseline
    for name, (change, read, expected) in SCRIPT.items():
        change(pc_sim, hub_sim)
        tasks, notes = len(hub_sim.tasks()), len(hub_sim.notes())
        pc_sim.reset_calls()

        summary = handle(app, sample(name))

        assert summary["status"] == "ok", (name, summary)
        assert pc_sim.operation_counts()[read] >= 1, name  # its re-read
        assert sorted(n["kind"] for n in summary["notifications"]) == expected, name
        assert summary["delivered"] == len(expected), name
        new_tasks = hub_sim.tasks()[tasks:]
        assert len(new_tasks) == len(expected), name
        has_deal = expected and expected != ["new_opportunity"]
        assert len(hub_sim.notes()) - notes == (len(expected) if has_deal else 0), name
        rows = {r["event_key"]: r for r in app.store.db.query("SELECT * FROM outbox_status")}
        assert all(rows[n["event_key"]]["status"] == "done" for n in summary["notifications"]), name

        again = handle(app, sample(name))  # EventBridge delivers at least once

        assert (again["status"], again["notifications"], again["delivered"]) == ("ok", [], 0), name
        assert len(hub_sim.tasks()) == tasks + len(expected), name
    invitations = {r["invitation_id"]: r["status"] for r in app.store.db.query("SELECT * FROM invitations")}
    assert [invitations[f"engi-000000000000{n}"] for n in (4, 5, 6)] == ["ACCEPTED", "REJECTED", "EXPIRED"]
    assert run_cycle(app).summary["delivered"] == 0  # the poll sees the same changes: nothing more
    assert app.store.rereads.pending() == []


def test_an_unknown_detail_type_is_logged_and_ignored(pc_sim, hub_sim, baseline, caplog):
    app = baseline
    pc_sim.reset_calls()
    runs, tasks = app.store.db.execute("SELECT count(*) FROM runs").fetchone()[0], len(hub_sim.tasks())
    unknown = {**sample("opportunity_updated"), "detail-type": "Opportunity Teleported"}
    other_source = {**sample("opportunity_updated"), "source": "aws.ec2"}
    sandbox = {**sample("opportunity_updated"), "detail": {"catalog": "Sandbox", "opportunity": {
        "identifier": "O1000001"}}}

    with caplog.at_level(logging.INFO, logger="poller.eventbridge"):
        summary = handle(app, [unknown, other_source, sandbox])

    assert summary["status"] == "ignored" and summary["requested"] == []
    assert [i["reason"] for i in summary["ignored"]] == [
        "unknown detail-type 'Opportunity Teleported'", "source 'aws.ec2' is not aws.partnercentral-selling",
        "catalog 'Sandbox'; this job reads AWS"]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warned] == [
        "ignored EventBridge event 00000000-0000-0000-0000-00005eed0002 (Opportunity Teleported): unknown "
        "detail-type 'Opportunity Teleported'"]
    assert sum(pc_sim.operation_counts().values()) == 0 and len(hub_sim.tasks()) == tasks
    assert app.store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == runs  # no run at all


def test_an_event_arriving_while_a_cycle_holds_the_lease_is_read_by_the_next_cycle(pc_sim, hub_sim, baseline):
    app = baseline
    other = app.store.lease()
    assert other.acquire(app.clock()) is None  # a cycle (cron, the daemon) is running
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Approved"}})

    summary = handle(app, sample("opportunity_updated"))

    assert summary["status"] == "skipped" and "read by it or the next cycle" in summary["message"]
    tasks = len(hub_sim.tasks())
    assert [r.subject_id for r in app.store.rereads.pending()] == ["O1000001"]
    other.release()
    result = run_cycle(app)
    assert [n.kind for n in result.notifications] == ["review_approved"] and len(hub_sim.tasks()) == tasks + 1
    assert app.store.rereads.pending() == []


def test_the_lambda_handler_and_the_command_take_the_same_events(pc_sim, hub_sim, baseline, monkeypatch, capsys):
    monkeypatch.setenv("POLLER_DB", baseline.settings.db)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "sim-token")
    monkeypatch.setenv("HUBSPOT_BASE_URL", hub_sim.url)
    monkeypatch.setenv("POLLER_FALLBACK_OWNER_ID", FALLBACK)
    monkeypatch.setenv("POLLER_PC_REQUESTS_PER_SECOND", "10")
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Approved"}})
    sqs_batch = {"Records": [{"messageId": "1", "body": json.dumps(sample("opportunity_updated"))}]}

    result = handler(sqs_batch, None)  # a rule → SQS queue → this function

    assert (result["status"], [n["kind"] for n in result["notifications"]]) == ("ok", ["review_approved"])
    pc_sim.update_opportunity("O1000003", {"LifeCycle": {"ReviewStatus": "Approved"}})
    path = FIXTURES / "opportunity_rejected.json"  # its detail names O1000003; the reason is AWS's, not ours
    runner = CliRunner()
    out = runner.invoke(cli, ["handle-event", str(path)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "re-read opportunity O1000003; 1 events, 1 delivered, 0 parked" in out.output
    again = runner.invoke(cli, ["handle-event", "--json", "-"], input=path.read_text(), catch_exceptions=False)
    assert again.exit_code == 0 and json.loads(again.stdout)["delivered"] == 0
    bad = runner.invoke(cli, ["handle-event", "-"], input="{not json")
    assert bad.exit_code == 2 and "Error: <stdin>: not JSON" in bad.output
    assert [t["properties"]["hs_task_subject"][:1] for t in hub_sim.tasks()[3:]] == ["✅", "✅"]

    # The function can own the database alone: a scheduled rule (rate(5 minutes)) runs the whole cycle through it.
    pc_sim.update_opportunity("O1000004", {"LifeCycle": {"ReviewStatus": "Approved"}})
    scheduled = {"version": "0", "id": "sched-1", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2026-03-02T09:10:00Z", "region": "us-east-1",
                 "resources": ["arn:aws:events:us-east-1:123456789012:rule/poller-every-5-minutes"], "detail": {}}
    cycle = handler(scheduled, None)
    assert (cycle["status"], cycle["scheduled"], [n["kind"] for n in cycle["notifications"]]) == (
        "ok", True, ["review_approved"])
    assert baseline.store.runs.get(cycle["run_id"])["mode"] == "run"

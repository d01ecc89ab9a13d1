"""Unknown is not a change: a value missing for one read keeps its last known value, and its return is not news."""

from __future__ import annotations

import pytest
from cycle_helpers import cycle, event_rows, put, tick

from poller.simulators.portfolio import person


def sweep_app(make_app):
    return make_app(sweep_period=0.0)  # every cycle re-reads each open AWS summary


FLAPS = [
    # (what the AWS summary loses for one read, what comes back)
    ("score", {"Insights": {"EngagementScore": None}}, {"Insights": {"EngagementScore": "High"}}),
    ("next best actions", {"Insights": {"NextBestActions": None}},
     {"Insights": {"NextBestActions": "Share the reference architecture"}}),
    ("program categories", {"Insights": {"AwsProductsSpendInsightsBySource": None}},
     {"Insights": {"AwsProductsSpendInsightsBySource": {"AWS": {
         "CurrencyCode": "USD", "Frequency": "Monthly", "TotalAmount": "1200.00",
         "TotalAmountByCategory": {"Pathway - Move to Cloud Native": "1200.00"},
         "AwsProducts": [{"ProductCode": "AmazonS3", "Categories": [], "Optimizations": []}]}}}}),
    ("the whole insights block", {"Insights": None}, {"Insights": {
        "EngagementScore": "High", "NextBestActions": "Share the reference architecture"}}),
    ("the AWS team", {"OpportunityTeam": []}, {"OpportunityTeam": [person("Maria", "Lopez", "AWSSalesRep")]}),
    ("AWS products", {"RelatedEntityIds": {"AwsProducts": []}}, {"RelatedEntityIds": {"AwsProducts": ["AmazonS3"]}}),
    ("the AWS stage and next steps", {"LifeCycle": None},
     {"LifeCycle": {"Stage": "Qualify", "NextSteps": "Align on the customer's timeline"}}),
]


@pytest.mark.parametrize(("gone", "back"), [f[1:] for f in FLAPS], ids=[f[0] for f in FLAPS])
def test_an_aws_value_that_vanishes_for_one_read_and_returns_is_no_news(pc_sim, make_app, frozen, gone, back):
    oid = put(pc_sim, 0, review="Approved", score="High")  # Maria Lopez, AWSSalesRep; S3; next best actions
    app = sweep_app(make_app)
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, gone)
    missing = cycle(app)
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, back)

    returned = cycle(app)

    assert missing.summary["swept"] == returned.summary["swept"] == 1
    assert missing.notifications == [] and returned.notifications == [] and event_rows(app) == []
    # the stored snapshot kept the last known values throughout: no history row for the flap
    assert app.store.db.execute("SELECT count(*) FROM snapshot_history").fetchone()[0] == 1


def test_review_status_that_goes_missing_and_returns_is_no_news(pc_sim, make_app, frozen):
    oid = put(pc_sim, 0, review="In review")
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Approved"}})
    approved = cycle(app)
    assert [n.kind for n in approved.notifications] == ["review_approved"]
    tick(frozen, 5)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": None}})
    missing = cycle(app)
    tick(frozen, 5)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Approved"}})

    back = cycle(app)

    assert missing.notifications == [] and back.notifications == []
    assert [r["kind"] for r in event_rows(app)] == ["review_approved"]  # announced once, never again
    stored = app.store.records.opportunities([oid])[oid].snapshot
    assert stored.review_status == "Approved"


def test_a_real_change_after_a_gap_is_still_news(pc_sim, make_app, frozen):
    oid = put(pc_sim, 0, review="Approved", score="High")
    app = sweep_app(make_app)
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"Insights": {"EngagementScore": None}})
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"Insights": {"EngagementScore": "Low"}})

    dropped = cycle(app)  # compared with the last known High, not with the gap

    assert [(n.kind, n.priority) for n in dropped.notifications] == [("engagement_score_changed", "MEDIUM")]
    assert "dropped to Low" in dropped.notifications[0].subject

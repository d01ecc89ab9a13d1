"""The 2026 AWS signals through real cycles: deal quality, recommendations, co-sell motion, deal terms, signatory.

Each kind: it rings on its transition, stays silent when nothing changed, one event per kind per transition, a
flap does not ring each cycle, and a backfill over the history derives the same events (same keys) as the cycle.
"""

from __future__ import annotations

import json

from cycle_helpers import cycle, event_rows, put, tick

from poller.clock import utc_now
from poller.run.backfill import backfill
from poller.run.window import Window
from poller.simulators.portfolio import person

SPECIALIST = {"Type": "SpecialistRecommendation", "Details": "Involve an AWS SAP specialist for the migration plan",
              "Attributes": {"SpecialistName": "Nia Okoro", "Email": "nia.okoro@amazon.com"}}
SOLUTION = {"Type": "SolutionRecommendation", "Details": "Use AWS Launch Wizard for SAP"}
QUALITY_TIP = {"Type": "OpportunityQuality", "Details": "Add the customer's business problem in more detail"}


def quality(score: int | None, trend: str | None = "No Change", *recommendations: dict) -> dict:
    insights: dict = {"OpportunityQuality": {"Score": score, "Trend": trend}}
    if recommendations:
        insights["Recommendations"] = list(recommendations)
    return {"Insights": insights}


def new_events(app, result) -> list[tuple[str, str]]:
    return [(r["kind"], r["priority"]) for r in event_rows(app, result.run_id)]


def note(app, kind: str, subject: str, nth: int = -1) -> str:
    """The note and subject of the `nth` notification of this kind on this opportunity (the last by default)."""
    rows = [r for r in app.store.db.query("SELECT * FROM outbox WHERE kind = ? AND subject_id = ? ORDER BY rowid",
                                          [kind, subject])]
    return rows[nth]["note_body"] + rows[nth]["subject"]


def baseline(pc_sim, make_app, changes: dict, **settings):
    """One approved opportunity with `changes` in its AWS summary, recorded by a silent baseline; swept every cycle."""
    oid = put(pc_sim, 1, review="Approved")
    pc_sim.update_aws_summary(oid, changes)
    app = make_app(sweep_period=0.0, **settings)
    first = cycle(app)
    assert first.summary["baseline"] and event_rows(app) == []  # at baseline nothing rings
    return app, oid


def test_quality_rings_on_band_crossings_only_and_a_wobble_around_an_edge_rings_once(pc_sim, make_app, frozen):
    app, oid = baseline(pc_sim, make_app, quality(72, "No Change", QUALITY_TIP))
    seen = []
    # 70 is an edge: with the 5-point hysteresis the band leaves 70+ at 65 and returns at 75.
    for score in (68, 71, 66, 69, 64, 66, 69, 74, 75, 71, 66, 36, 41, 44, 46):
        tick(frozen, 5)
        pc_sim.update_aws_summary(oid, quality(score, "No Change", QUALITY_TIP))
        seen.append((score, new_events(app, cycle(app))))

    assert [(s, e) for s, e in seen if e] == [
        (64, [("quality_changed", "MEDIUM")]),  # into 40–69
        (75, [("quality_changed", "LOW")]),  # back into 70–100: a rise
        (36, [("quality_changed", "HIGH")]),  # into 0–39: the deal is at risk
        (46, [("quality_changed", "LOW")]),  # out of it again, 5 points past the edge
    ]
    text = note(app, "quality_changed", oid, 2)
    assert "⚠️ Deal quality dropped to 36" in text and "band 0–39" in text and "36 of 100" in text
    # AWS's recommendations, escaped
    assert ("Act on AWS&#x27;s recommendations: Add the customer&#x27;s business problem in more detail "
            "(deal quality)") in text
    tick(frozen, 5)
    assert cycle(app).notifications == []  # nothing changed: nothing rings


def test_a_declining_trend_rings_once_per_band_however_often_it_flips(pc_sim, make_app, frozen):
    app, oid = baseline(pc_sim, make_app, quality(60, "Declining"))  # already declining at the baseline: silent
    seen = []
    for score, trend in ((60, "No Change"), (58, "Declining"), (59, "No Change"), (57, "Declining"),
                         (34, "Declining"), (35, "No Change"), (33, "Declining"), (52, "Improving"),
                         (50, "Declining")):
        tick(frozen, 5)
        pc_sim.update_aws_summary(oid, quality(score, trend))
        seen.append(((score, trend), new_events(app, cycle(app))))

    assert [(s, e) for s, e in seen if e] == [
        ((34, "Declining"), [("quality_changed", "HIGH")]),  # a new band; the trend flips before it rang nothing
        ((52, "Improving"), [("quality_changed", "LOW")]),
        ((50, "Declining"), [("quality_changed", "MEDIUM")]),  # a new band since the last Declining bell
    ]
    assert "Deal quality is declining" in note(app, "quality_changed", oid)


def test_quality_unknown_for_one_read_is_no_change(pc_sim, make_app, frozen):
    app, oid = baseline(pc_sim, make_app, quality(80))
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"Insights": {"OpportunityQuality": None}})
    assert cycle(app).notifications == []
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, quality(80))
    assert cycle(app).notifications == []


def test_new_recommendations_ring_once_each_a_specialist_asks_to_bring_them_in(pc_sim, make_app, frozen):
    app, oid = baseline(pc_sim, make_app, quality(55, "No Change", QUALITY_TIP))
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, quality(55, "No Change", QUALITY_TIP, SPECIALIST))

    first = cycle(app)

    assert new_events(app, first) == [("recommendation_added", "MEDIUM")]
    text = note(app, "recommendation_added", oid)
    assert "AWS recommends a specialist" in text
    assert "Bring the specialist in: Involve an AWS SAP specialist for the migration plan" in text
    assert "Nia Okoro" in text and "AWS recommendation (specialist)" in text
    # It disappears for a while and comes back (AWS regenerates its list): that is not a new recommendation.
    for recommendations in ((QUALITY_TIP,), (QUALITY_TIP, SPECIALIST), (SPECIALIST, QUALITY_TIP)):
        tick(frozen, 5)
        pc_sim.update_aws_summary(oid, quality(55, "No Change", *recommendations))
        assert cycle(app).notifications == []
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, quality(55, "No Change", QUALITY_TIP, SPECIALIST, SOLUTION))
    solution = cycle(app)
    assert new_events(app, solution) == [("recommendation_added", "LOW")]
    text = note(app, "recommendation_added", oid)
    assert "Review AWS&#x27;s solution recommendations below" in text
    assert "AWS recommendation (solution): Use AWS Launch Wizard for SAP" in text


def test_a_co_sell_motion_change_says_who_drives_the_deal_now(pc_sim, make_app, frozen):
    app, oid = baseline(pc_sim, make_app, {"CosellMotion": "AWS Field-engaged"})
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"CosellMotion": "aws field engaged"})  # the same motion, spelled otherwise
    assert cycle(app).notifications == []
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"CosellMotion": None})  # unknown for one read
    assert cycle(app).notifications == []
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"CosellMotion": "Partner-led", "CosellMotionReason": "Customer prefers partner"})

    changed = cycle(app)

    assert new_events(app, changed) == [("cosell_motion_changed", "MEDIUM")]
    text = note(app, "cosell_motion_changed", oid)
    assert "Co-sell motion now Partner-led" in text and "you drive it and AWS supports on request" in text
    assert "Customer prefers partner" in text and "aws field engaged → Partner-led" in text  # as last read
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"CosellMotionReason": "Reviewed again"})  # the reason alone is not news
    assert cycle(app).notifications == []


def test_deal_terms_and_the_signatory_fold_into_updates_and_seller_assignments(pc_sim, make_app, frozen):
    app, oid = baseline(pc_sim, make_app, {})
    tick(frozen, 5)
    terms = {"Value": {"Amount": "120000", "CurrencyCode": "USD"}, "Discount": "5%",
             "EffectiveDate": "2026-04-01", "ExpirationDate": "2027-03-31"}
    pc_sim.update_aws_summary(oid, {"SoftwareRevenue": terms})

    updated = cycle(app)

    assert new_events(app, updated) == [("opportunity_updated", "MEDIUM")]
    assert "AWS deal terms (software revenue): (none) → USD 120000 (discount 5%), 2026-04-01 to 2027-03-31" in note(
        app, "opportunity_updated", oid)
    tick(frozen, 5)
    team = pc_sim.aws_summary(oid)["OpportunityTeam"]
    pc_sim.update_aws_summary(oid, {"OpportunityTeam": [*team, person("Ravi", "Shah", "Signatory")]})

    signatory = cycle(app)

    assert new_events(app, signatory) == [("aws_seller_assigned", "HIGH")]
    text = note(app, "aws_seller_assigned", oid)
    assert "Send Ravi Shah the deal terms for signature (USD 120000 (discount 5%), 2026-04-01 to 2027-03-31)" in text
    tick(frozen, 5)
    assert cycle(app).notifications == []


def test_a_view_first_seen_after_the_baseline_compares_the_signals_with_empty(pc_sim, make_app, frozen):
    app, _known = baseline(pc_sim, make_app, {**quality(30, "Declining", SPECIALIST), "CosellMotion": "Partner-led"})
    tick(frozen, 5)
    fresh = put(pc_sim, 2, review="Approved")  # submitted and decided during an outage: seen for the first time
    pc_sim.update_aws_summary(fresh, {**quality(30, "Declining", SPECIALIST), "CosellMotion": "Partner-led"})

    result = cycle(app)

    kinds = {(r["kind"], r["subject_id"]) for r in event_rows(app, result.run_id)}
    assert {("quality_changed", fresh), ("recommendation_added", fresh), ("cosell_motion_changed", fresh)} <= kinds
    assert _known not in {subject for _kind, subject in kinds}
    assert "AWS rates deal quality 30" in note(app, "quality_changed", fresh)


def test_a_view_stored_before_the_signals_existed_is_their_baseline(pc_sim, make_app, frozen):
    """After an upgrade, the first read of the new fields announces nothing; their next change does."""
    app, oid = baseline(pc_sim, make_app, {})
    # What a version before the 2026 signals stored: an AWS view without any of their fields.
    stored = json.loads(app.store.db.execute("SELECT snapshot FROM opportunities").fetchone()[0])
    for field in ("quality_score", "quality_trend", "recommendations", "cosell_motion", "cosell_motion_reason",
                  "software_revenue", "quality_band", "quality_decline_noted", "seen_recommendations",
                  "signals_known"):
        stored["aws"].pop(field)
    stored.pop("review_since")
    app.store.db.execute("UPDATE opportunities SET snapshot = ?", [json.dumps(stored)])
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {**quality(20, "Declining", SPECIALIST), "CosellMotion": "Partner-led",
                                    "SoftwareRevenue": {"Value": {"Amount": "9000", "CurrencyCode": "USD"}}})

    assert cycle(app).notifications == []
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"CosellMotion": "AWS Field-engaged"})
    assert new_events(app, cycle(app)) == [("cosell_motion_changed", "MEDIUM")]


def test_backfill_derives_the_same_signal_events_as_the_cycle(pc_sim, make_app, frozen, tmp_path):
    """Two databases watch the same Partner Central; one has the new kinds muted. A backfill of its history derives
    exactly the events (same keys) the other's cycles raised; and a backfill of the other finds nothing new."""
    kinds = ("quality_changed", "recommendation_added", "cosell_motion_changed")
    oid = put(pc_sim, 1, review="Approved")
    pc_sim.update_aws_summary(oid, {**quality(72), "CosellMotion": "AWS Field-engaged"})
    watching = make_app(db=tmp_path / "a.db", sweep_period=0.0)
    muted = make_app(db=tmp_path / "b.db", sweep_period=0.0, muted_kinds=kinds)
    for app in (watching, muted):
        cycle(app)
    for change in (quality(64, "Declining", SPECIALIST), quality(66, "No Change", SPECIALIST),
                   quality(62, "Declining", SPECIALIST, SOLUTION), {"CosellMotion": "Partner-led"},
                   quality(30, "Declining", SPECIALIST, SOLUTION)):
        tick(frozen, 5)
        pc_sim.update_aws_summary(oid, change)
        for app in (watching, muted):
            cycle(app)
    raised = {(r["kind"], r["key"]) for r in event_rows(watching)}
    assert {kind for kind, _key in raised} == set(kinds) and len(raised) == 5
    assert event_rows(muted) == []
    tick(frozen, 5)
    unmuted = make_app(db=tmp_path / "b.db", sweep_period=0.0)

    replayed = backfill(unmuted, Window.parse("2026-03-02", None, utc_now()))

    assert replayed.status == "ok"
    assert {(r["kind"], r["key"]) for r in event_rows(unmuted)} == raised
    again = backfill(make_app(db=tmp_path / "a.db", sweep_period=0.0), Window.parse("2026-03-02", None, utc_now()))
    assert again.summary["new"] == 0

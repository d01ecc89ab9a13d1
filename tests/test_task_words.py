"""What a seller reads in HubSpot: plain-text subjects, who sent an invitation and when it expires, score advice
worded for its tier. Real boto3 and hubspot-api-client against both simulators, in real time."""

from __future__ import annotations

import datetime as dt
import html
import re

from poller.run.cycle import run_cycle
from poller.simulators.portfolio import FALLBACK_OWNER, invitation_record, opportunity_id, seed

CUSTOMER = "O'Neil & Sons (AT&T)"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: would show the rest of the subject reversed


def start(pc_sim, hub_sim, make_app, count: int = 4, prepare=None):
    seed(pc_sim, hub_sim, count)
    if prepare is not None:
        prepare()
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK_OWNER[0], sweep_period=0.0)
    assert run_cycle(app).summary["baseline"]
    return app


def tasks_by_subject_start(hub_sim, emoji: str) -> list[dict]:
    return [t["properties"] for t in hub_sim.tasks() if t["properties"]["hs_task_subject"].startswith(emoji)]


def ms_to_datetime(text: str) -> dt.datetime:
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, dt.UTC)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_subjects_are_plain_text_cleaned_of_invisible_characters(pc_sim, hub_sim, make_app):
    oid = opportunity_id(1)

    def prepare():
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "In review"},
                                        "Project": {"Title": f"Fiber\u200b rollout {RLO}evil\u202c\nphase\t2"},
                                        "Customer": {"Account": {"CompanyName": CUSTOMER}}})

    app = start(pc_sim, hub_sim, make_app, prepare=prepare)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Approved"}})

    result = run_cycle(app)

    assert result.status == "ok"
    [task] = tasks_by_subject_start(hub_sim, "✅")
    assert task["hs_task_subject"] == f"✅ AWS approved co-sell: Fiber rollout evil phase 2 ({CUSTOMER})"
    [note] = [n["properties"]["hs_note_body"] for n in hub_sim.notes()]
    assert html.escape(CUSTOMER) in note and CUSTOMER not in note  # bodies stay escaped HTML
    assert html.escape(CUSTOMER) in task["hs_task_body"]


def test_a_long_subject_is_clipped_after_cleaning(pc_sim, hub_sim, make_app):
    oid = opportunity_id(2)
    title = "\u200b".join("Migration") + " " + "x" * 400  # zero-width spaces between every letter

    def prepare():
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "In review"}, "Project": {"Title": title}})

    app = start(pc_sim, hub_sim, make_app, prepare=prepare)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Rejected"}})

    run_cycle(app)

    [task] = tasks_by_subject_start(hub_sim, "❌")
    subject = task["hs_task_subject"]
    assert len(subject) == 250 and subject.endswith("…")
    assert subject.startswith("❌ AWS rejected co-sell: Migration xxx") and "\u200b" not in subject


def test_an_invitation_from_another_partner_says_who_sent_it(pc_sim, hub_sim, make_app):
    app = start(pc_sim, hub_sim, make_app)
    invitation = invitation_record(7)
    invitation["SenderCompanyName"] = "Globex Partners & Co"
    pc_sim.put_invitation(invitation)

    run_cycle(app)

    [task] = tasks_by_subject_start(hub_sim, "🆕")
    assert task["hs_task_subject"].startswith("🆕 Co-sell invitation from Globex Partners & Co: ")
    assert "AWS co-sell referral" not in task["hs_task_subject"]
    assert "Globex Partners &amp; Co invited you to co-sell" in task["hs_task_body"]
    assert task["hubspot_owner_id"] == FALLBACK_OWNER[0]


def test_an_invitation_task_is_due_before_the_invitation_expires(pc_sim, hub_sim, make_app):
    app = start(pc_sim, hub_sim, make_app)
    now = dt.datetime.now(dt.UTC)
    soon = invitation_record(8)  # sent 14 days ago: expires in a day, before the usual 24 h due time would pass
    soon["InvitationDate"] = now - dt.timedelta(days=14)
    almost = invitation_record(9)  # expires in 5 hours: less than the 12-hour margin left
    almost["InvitationDate"] = now - dt.timedelta(days=15) + dt.timedelta(hours=5)
    gone = invitation_record(10)  # still listed PENDING, but its ExpirationDate has passed: nothing left to act on
    gone["InvitationDate"] = now - dt.timedelta(days=16)
    ids = [pc_sim.put_invitation(i) for i in (soon, almost, gone)]
    expires = {iid: ms_to_datetime(pc_sim.invitation(iid)["ExpirationDate"]) for iid in ids}

    before = dt.datetime.now(dt.UTC)
    run_cycle(app)
    after = dt.datetime.now(dt.UTC)

    tasks = {re.search(r"engi-[0-9a-z]+", t["hs_task_body"]).group(0): t for t in tasks_by_subject_start(hub_sim, "🆕")}
    assert set(tasks) == set(ids[:2])
    due_soon = ms_to_datetime(tasks[ids[0]]["hs_timestamp"])
    assert abs(due_soon - (expires[ids[0]] - dt.timedelta(hours=12))) < dt.timedelta(seconds=1)
    due_almost = ms_to_datetime(tasks[ids[1]]["hs_timestamp"])
    assert before - dt.timedelta(seconds=1) <= due_almost <= after + dt.timedelta(seconds=1)  # due now, not in the past
    for iid in ids[:2]:
        assert f"expires on {expires[iid].strftime('%Y-%m-%d %H:%M UTC')}" in tasks[iid]["hs_task_body"]


def test_a_first_low_score_is_a_warning_not_momentum(pc_sim, hub_sim, make_app):
    oid = opportunity_id(3)

    def prepare():
        pc_sim.update_aws_summary(oid, {"Insights": {"EngagementScore": None}})

    app = start(pc_sim, hub_sim, make_app, prepare=prepare)
    pc_sim.update_aws_summary(oid, {"Insights": {"EngagementScore": "Low"}})

    run_cycle(app)

    [task] = [t["properties"] for t in hub_sim.tasks()]
    assert task["hs_task_subject"].startswith("⚠️ AWS rates the engagement Low: ")
    [note] = [n["properties"]["hs_note_body"] for n in hub_sim.notes()]
    assert "momentum" not in note and "rose" not in note
    assert "Engagement starts Low: confirm this week" in note

"""The seed's library API (poller.integration.notify_from_*, HubSpotNotificationService.notify_*), called with the
seed's own arguments against both simulators through the real clients: the right task and note, once, whether the
call, a second call or a cycle sees the change first; a failing HubSpot never raises into the caller."""

from __future__ import annotations

import inspect
import re

import pytest
from hubspot import HubSpot

from poller import integration
from poller.errors import FatalError
from poller.integration import (
    notify_from_conflict,
    notify_from_invitation,
    notify_from_resources,
    notify_from_score_change,
    notify_from_seller_assignment,
    notify_from_status_change,
    notify_from_submission,
    notify_from_sync,
)
from poller.notification_service import HubSpotNotificationService
from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.simulators.portfolio import person, seed

FALLBACK = "190"
TASK_BATCH = "/crm/v3/objects/tasks/batch/create"
SEED_SIGNATURES = {  # the seed's integration.py, parameter for parameter
    "notify_from_invitation": ["hubspot_client", "deal_id", "opportunity_id", "deal"],
    "notify_from_sync": ["hubspot_client", "deal_id", "opportunity_id", "deal", "changes"],
    "notify_from_score_change": ["hubspot_client", "deal_id", "opportunity_id", "deal", "old_score", "new_score"],
    "notify_from_status_change": ["hubspot_client", "deal_id", "opportunity_id", "deal", "old_status", "new_status",
                                  "feedback"],
    "notify_from_submission": ["hubspot_client", "deal_id", "opportunity_id", "deal", "involvement_type"],
    "notify_from_seller_assignment": ["hubspot_client", "deal_id", "opportunity_id", "deal", "seller_name",
                                      "seller_email"],
    "notify_from_resources": ["hubspot_client", "deal_id", "opportunity_id", "deal", "resource_count",
                              "resource_types"],
    "notify_from_conflict": ["hubspot_client", "deal_id", "opportunity_id", "deal", "conflicts"],
}
SERVICE_EXTRA = {  # HubSpotNotificationService: (deal_id, opportunity_id, deal_name, deal_owner_id) + these
    "notify_new_opportunity": ["invitation_sender"], "notify_opportunity_updated": ["changes"],
    "notify_engagement_score_change": ["old_score", "new_score", "delta"],
    "notify_review_status_change": ["old_status", "new_status", "feedback"],
    "notify_submission_confirmed": ["involvement_type"], "notify_aws_seller_assigned": ["seller_name", "seller_email"],
    "notify_resources_available": ["resource_count", "resource_types"], "notify_conflict_detected": ["conflicts"],
}


def deal(n: int) -> dict:
    """The HubSpot deal as the seed's handlers read it."""
    return {"id": portfolio.deal_id(n), "properties": {"dealname": f"Deal {n}",
                                                       "hubspot_owner_id": portfolio.OWNERS[n % 4][0]}}


def owner(n: int) -> str:
    return portfolio.OWNERS[n % 4][0]


@pytest.fixture
def app(pc_sim, hub_sim, make_app):
    seed(pc_sim, hub_sim, 10)
    for oid in ("O1000001", "O1000002"):
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "In review"}})
    built = make_app(hub=hub_sim, fallback_owner_id=FALLBACK, settle_time=0)
    assert run_cycle(built).summary["baseline"] is True and hub_sim.tasks() == []
    return built


def sent(hub_sim, since: int = 0) -> list[tuple[dict, dict | None]]:
    """(task, its note) for each task HubSpot received after the first `since`, matched by the event key."""
    notes = {re.search(r"Ref: (evk_\w+)", n["properties"]["hs_note_body"]).group(1): n for n in hub_sim.notes()}
    return [(t, notes.get(re.search(r"Ref: (evk_\w+)", t["properties"]["hs_task_body"]).group(1)))
            for t in hub_sim.tasks()[since:]]


def test_the_seed_names_and_parameters_are_all_there():
    for name, params in SEED_SIGNATURES.items():
        assert list(inspect.signature(getattr(integration, name)).parameters) == params, name
    for name, extra in SERVICE_EXTRA.items():
        params = list(inspect.signature(getattr(HubSpotNotificationService, name)).parameters)
        assert params == ["self", "deal_id", "opportunity_id", "deal_name", "deal_owner_id", *extra], name


# Partner Central shows none of these: each is sent as the caller described it, to the deal's owner, with a note.
CLAIMS = [
    (notify_from_invitation, 0, (), "🆕", "HIGH", ["AWS referred"]),
    (notify_from_sync, 3, ({"Stage": "Technical Validation"},), "🔄", "MEDIUM",
     ["AWS stage: (not given) → Technical Validation"]),
    (notify_from_score_change, 4, (70, 85), "🎯", "HIGH", ["AWS engagement score rose to 85", "70 → 85"]),
    (notify_from_status_change, 5, ("Submitted", "Action Required", "Add the customer's use case"), "⚠️", "HIGH",
     ["Add the customer&#x27;s use case"]),
    (notify_from_submission, 6, ("Co-Sell",), "📤", "MEDIUM", ["with involvement type Co-Sell"]),
    (notify_from_seller_assignment, 7, ("Ada Lovelace", "ada@amazon.com"), "👤", "HIGH",
     ["Ada Lovelace &lt;ada@amazon.com&gt;"]),
    (notify_from_resources, 8, (2, ["Case Study", "Whitepaper"]), "📚", "LOW", ["Case Study, Whitepaper"]),
    (notify_from_conflict, 9, (["Close date differs", "Amount <b>differs</b>"],), "⚡", "HIGH",
     ["<li>Amount &lt;b&gt;differs&lt;/b&gt;</li>", "<li>Close date differs</li>"]),
]


def test_every_seed_function_sends_one_task_and_note_and_a_second_call_or_a_cycle_sends_nothing(app, hub_sim):
    for function, n, args, emoji, priority, in_note in CLAIMS:
        before = len(hub_sim.tasks())
        result = function(app, portfolio.deal_id(n), portfolio.opportunity_id(n), deal(n), *args)

        assert (result.status, bool(result)) == ("sent", True), (function.__name__, result)
        ((task, note),) = sent(hub_sim, before)
        props = task["properties"]
        assert props["hs_task_subject"].startswith(emoji), function.__name__
        assert f"#{n} (" in props["hs_task_subject"]  # the deal, by Partner Central's title and customer
        assert (props["hubspot_owner_id"], props["hs_task_priority"]) == (owner(n), priority), function.__name__
        assert task["associations"]["deals"] == [portfolio.deal_id(n)]
        assert note is not None and all(text in note["properties"]["hs_note_body"] for text in in_note), (
            function.__name__, note["properties"]["hs_note_body"])

        again = function(app, portfolio.deal_id(n), portfolio.opportunity_id(n), deal(n), *args)

        assert (again.status, again.event_key) == ("already sent", result.event_key), function.__name__
        assert len(hub_sim.tasks()) == before + 1 and len(hub_sim.notes()) == before + 1
    cycle = run_cycle(app)
    assert (cycle.summary["events"], cycle.summary["delivered"]) == (0, 0)
    assert len(hub_sim.tasks()) == len(CLAIMS)


def test_a_change_partner_central_shows_is_the_polls_own_event_whoever_sees_it_first(app, pc_sim, hub_sim):
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Approved"}})
    team = pc_sim.aws_summary("O1000003")["OpportunityTeam"]
    pc_sim.update_aws_summary("O1000003", {"OpportunityTeam": [*team, person("Ada", "Lovelace", "AWSSalesRep")]})

    approved = notify_from_status_change(app, "50001", "O1000001", deal(1), "In review", "Approved")
    seller = notify_from_seller_assignment(app, "50003", "O1000003", deal(3), "Ada Lovelace", "ada.lovelace@amazon.com")

    assert (approved.status, approved.reason, seller.status, seller.reason) == ("sent", "found", "sent", "found")
    sources = dict(app.store.db.execute("SELECT key, source FROM events").fetchall())
    assert sources[approved.event_key] == sources[seller.event_key] == "cycle"  # derived by the poll's own diff
    assert [t["properties"]["hs_task_subject"][:1] for t in hub_sim.tasks()] == ["✅", "👤"]
    assert run_cycle(app).summary["delivered"] == 0  # the cycle that sees the same change sends nothing

    # The other way round: the cycle sees it first, the (late) call sends nothing.
    pc_sim.update_opportunity("O1000002", {"LifeCycle": {"ReviewStatus": "Approved"}})
    assert run_cycle(app).summary["delivered"] == 1
    late = notify_from_status_change(app, "50002", "O1000002", deal(2), "In review", "Approved")
    assert (late.status, late.reason) == ("already sent", "already") and len(hub_sim.tasks()) == 3


def test_a_call_ahead_of_partner_central_and_the_cycle_that_then_sees_the_change_send_once(app, pc_sim, hub_sim):
    early = notify_from_status_change(app, "50001", "O1000001", deal(1), "In review", "Approved")
    assert (early.status, early.reason) == ("sent", "claimed")  # Partner Central still says In review

    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Approved"}})
    cycle = run_cycle(app)

    assert cycle.summary["delivered"] == 0 and len(hub_sim.tasks()) == 1
    kinds = app.store.db.execute("SELECT kind, source FROM events ORDER BY rowid").fetchall()
    assert kinds == [("review_approved", "api"), ("review_approved", "cycle")]  # recorded, not sent again


def test_what_poller_does_not_notify_is_said_not_sent(app, hub_sim):
    in_review = notify_from_status_change(app, "50001", "O1000001", deal(1), "Submitted", "In Review")
    small = notify_from_score_change(app, "50004", "O1000004", deal(4), 70, 75)

    assert (in_review.status, bool(in_review)) == ("not notified", False)
    assert in_review.reason == "review status 'In Review' notifies nobody"
    assert (small.status, small.reason) == (
        "not notified", "engagement score 70 → 75 is under the threshold (score_change_threshold 10)")
    assert hub_sim.tasks() == []


def test_a_hubspot_failure_inside_a_call_does_not_raise_and_the_row_is_retried_like_any(app, hub_sim):
    hub_sim.fail_next(TASK_BATCH, 503, times=3)

    result = notify_from_conflict(app, "50009", "O1000009", deal(9), ["Amount differs"])

    assert (result.status, bool(result)) == ("queued", False) and "the outbox sends it" in result.reason
    row = next(app.store.db.query("SELECT * FROM outbox_status WHERE event_key = ?", [result.event_key]))
    # Each 5xx may have been applied: looked up (absent), then sent again, within the call; then left to the cycles.
    assert (row["status"], "HTTP 503" in row["last_error"]) == ("pending", True)
    assert hub_sim.tasks() == []

    cycle = run_cycle(app)

    assert cycle.summary["delivered"] == 1 and len(hub_sim.tasks()) == 1 and len(hub_sim.notes()) == 1
    hub_sim.fail_next(TASK_BATCH, 503, times=3)
    with pytest.raises(FatalError, match="conflict_detected on O1000008: queued"):
        HubSpotNotificationService(app, raise_errors=True).notify_conflict_detected(
            "50008", "O1000008", "Deal 8", "101", ["Stage mismatch"])
    broken = notify_from_status_change(app, None, None, None, None, None)  # never a crash, whatever comes in
    assert (broken.status, bool(broken)) == ("not notified", False)
    nameless = notify_from_conflict(app, "50001", "", None, ["x"])
    assert nameless.status == "failed" and "opportunity_id" in nameless.reason
    one = notify_from_conflict(app, "50007", "O1000007", deal(7), "Close date differs")  # a string, not a list
    assert one.status == "sent" and "<li>Close date differs</li>" in hub_sim.notes()[-1]["properties"]["hs_note_body"]


def test_the_seed_call_as_written_with_a_hubspot_client_and_settings_from_the_environment(app, hub_sim, monkeypatch):
    for name, value in {"POLLER_DB": app.settings.db, "HUBSPOT_ACCESS_TOKEN": "sim-token",
                        "HUBSPOT_BASE_URL": hub_sim.url, "POLLER_FALLBACK_OWNER_ID": FALLBACK,
                        "POLLER_PC_REQUESTS_PER_SECOND": "10", "POLLER_RETRY_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    hubspot = HubSpot(access_token="sim-token")  # what the seed's handlers hold; poller uses its own settings

    result = notify_from_status_change(hubspot, "50005", "O1000005", deal(5), "Submitted", "Rejected",
                                       feedback="Duplicate of O1000004")
    direct = HubSpotNotificationService(hubspot).notify_new_opportunity(
        deal_id="50006", opportunity_id="O1000006", deal_name="Test Opportunity", deal_owner_id=owner(6))

    assert (result.status, direct.status) == ("sent", "sent")
    assert [t["properties"]["hs_task_subject"][:1] for t in hub_sim.tasks()] == ["❌", "🆕"]
    assert "Duplicate of O1000004" in sent(hub_sim)[0][1]["properties"]["hs_note_body"]


def test_a_team_that_only_calls_the_library_gets_its_notifications_and_a_later_first_cycle_stays_silent(
        pc_sim, hub_sim, make_app):
    seed(pc_sim, hub_sim, 3)
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK)  # no cycle has ever run on this database

    result = notify_from_status_change(app, "50001", "O1000001", deal(1), "Submitted", "Approved")

    assert (result.status, result.reason) == ("sent", "claimed") and len(hub_sim.tasks()) == 1
    assert sum(pc_sim.operation_counts().values()) == 0  # nothing compared before a baseline: nothing read
    first = run_cycle(app)
    assert (first.summary["baseline"], first.summary["delivered"], len(hub_sim.tasks())) == (True, 0, 1)

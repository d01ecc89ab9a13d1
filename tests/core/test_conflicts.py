"""detect_conflicts(): both-sides changes that disagree, broken links, the 24 h re-raise rule, the stored pairs."""

from __future__ import annotations

import datetime as dt

import pytest
from core_builders import NOW, RULES, snap

from poller.core.conflicts import LINK, ReconciledField, detect_conflicts, mapped_pairs
from poller.core.keys import event_key
from poller.core.model import Deal, Spend
from poller.core.timefmt import iso

DEAL_KW = {"deal_id": "9001", "owner_id": "7", "dealname": "Data lake migration", "amount": "1000", "currency": "USD",
           "closedate": "2025-06-30T00:00:00.000Z"}
DEAL = Deal(**DEAL_KW)
AGREED = {name: ReconciledField(pc_value=pc, deal_value=d) for name, (pc, d) in mapped_pairs(snap(), DEAL).items()}
LATER = NOW + dt.timedelta(hours=1)


def _both_moved_close_date():
    return snap(target_close_date="2025-07-15"), Deal(**{**DEAL_KW, "closedate": "2025-08-01"})


def test_mapped_values_are_comparable():
    assert mapped_pairs(snap(), DEAL) == {"title": ("Data lake migration", "Data lake migration"),
                                          "expected_spend": ("1000.00", "1000.00"),
                                          "target_close_date": ("2025-06-30", "2025-06-30")}


@pytest.mark.parametrize(("closedate", "expected"), [
    ("2025-06-30", "2025-06-30"),
    ("2025-06-30T00:00:00Z", "2025-06-30"),
    ("2025-06-29T22:00:00-05:00", "2025-06-30"),  # a US evening is already the next UTC day
    ("1751241600000", "2025-06-30"),  # epoch milliseconds
    ("", None),
    (None, None),
    ("not a date", "not a date"),
])
def test_closedate_as_utc_calendar_date(closedate, expected):
    assert mapped_pairs(snap(), Deal(deal_id="1", closedate=closedate))["target_close_date"][1] == expected


def test_spend_is_summed_and_compared_to_the_cent():
    spends = (Spend(amount="1000.50", currency="USD", frequency="Monthly"),
              Spend(amount="200", currency="usd", frequency="Monthly"),
              Spend(amount=None, currency="USD", frequency="Monthly"))
    deal = Deal(deal_id="1", amount="1200.5", currency="USD")
    pc, amount = mapped_pairs(snap(expected_spend=spends), deal)["expected_spend"]
    assert pc == amount == "1200.50"


USD_1000 = Spend(amount="1000", currency="USD", frequency="Monthly", target_company="AWS")
EUR_900 = Spend(amount="900", currency="EUR", frequency="Monthly", target_company="AWS")


@pytest.mark.parametrize(("spends", "currency", "expected"), [
    ((USD_1000, EUR_900), "USD", "1000.00"),  # the EUR entry is left out, never added: not 1900
    ((USD_1000, EUR_900), "EUR", "900.00"),
    ((EUR_900,), "USD", None),  # nothing in the deal's currency: nothing to compare
    ((USD_1000, Spend(amount="12000", currency="USD", frequency="None", target_company="Self")), "USD", None),
    ((Spend(amount="1000", currency="USD"),), "USD", None),  # no stated frequency
    ((USD_1000,), None, None),  # the deal's currency is unknown
])
def test_only_like_is_compared_with_like(spends, currency, expected):
    pairs = mapped_pairs(snap(expected_spend=spends), Deal(deal_id="1", amount="1900", currency=currency))
    assert pairs.get("expected_spend", (None, None))[0] == expected
    assert ("expected_spend" in pairs) == (expected is not None)


def test_spend_in_other_currencies_raises_no_false_conflict():
    """USD 1,000 + EUR 900 against a USD 1,900 deal was once a conflict (1,900 = 1,900 only by adding currencies);
    now the like-with-like values (1,000 vs 1,900) are compared, and a change in EUR alone is not a conflict."""
    agreed = {"expected_spend": ReconciledField(pc_value="1000.00", deal_value="1000.00")}
    eur_moved = snap(expected_spend=(USD_1000, Spend(amount="5000", currency="EUR", frequency="Monthly")))
    deal = Deal(**{**DEAL_KW, "amount": "1100"})  # the seller changed the deal; in USD the spend did not move
    result = detect_conflicts(eur_moved, deal, agreed, NOW, rules=RULES)
    assert result.events == () and "expected_spend" not in result.fields
    mixed = snap(expected_spend=(USD_1000, Spend(amount="1200", currency="USD", frequency="None")))
    kept = detect_conflicts(mixed, deal, agreed, NOW, rules=RULES).reconciled
    assert kept["expected_spend"] == agreed["expected_spend"]  # not comparable: its last pair is kept


def test_no_link_means_no_conflicts_and_state_kept():
    result = detect_conflicts(snap(), None, AGREED, NOW, rules=RULES)
    assert result.events == () and result.fields == frozenset() and result.reconciled == AGREED


def test_first_sight_stores_the_pair_without_event():
    new, deal = _both_moved_close_date()
    result = detect_conflicts(new, deal, {}, NOW, rules=RULES)
    assert result.events == () and result.fields == frozenset()
    assert result.reconciled["target_close_date"] == ReconciledField(pc_value="2025-07-15", deal_value="2025-08-01")


def test_both_sides_changed_and_disagree_is_one_high_event():
    new, deal = _both_moved_close_date()
    result = detect_conflicts(new, deal, AGREED, NOW, rules=RULES)
    [event] = result.events
    assert (event.kind, event.priority, event.due_hours, event.deal_id) == ("conflict_detected", "HIGH", 12, "9001")
    assert [(c.field, c.old, c.new) for c in event.changes] == [("target_close_date", "2025-07-15", "2025-08-01")]
    assert event.key == event_key("conflict_detected", "O1234567",
                                  [("target_close_date", "2025-07-15", "2025-08-01")], iso(NOW))
    assert result.fields == frozenset({"target_close_date"})
    stored = result.reconciled["target_close_date"]
    assert (stored.pc_value, stored.deal_value, stored.raised_at) == ("2025-06-30", "2025-06-30", iso(NOW))


def test_reraised_at_most_once_per_period():
    new, deal = _both_moved_close_date()
    first = detect_conflicts(new, deal, AGREED, NOW, rules=RULES)
    soon = detect_conflicts(new, deal, first.reconciled, NOW + dt.timedelta(hours=23), rules=RULES)
    assert soon.events == () and soon.fields == frozenset({"target_close_date"})  # still in conflict, still quiet
    later = detect_conflicts(new, deal, soon.reconciled, NOW + dt.timedelta(hours=24), rules=RULES)
    assert len(later.events) == 1 and later.events[0].key != first.events[0].key
    short = RULES.with_overrides(conflict_reraise_hours=1)
    assert detect_conflicts(new, deal, first.reconciled, LATER, rules=short).events


def test_only_one_side_changed_is_not_a_conflict():
    for new, deal in ((snap(target_close_date="2025-07-15"), DEAL), (snap(), Deal(**{**DEAL_KW, "amount": "5"}))):
        result = detect_conflicts(new, deal, AGREED, NOW, rules=RULES)
        assert result.events == () and result.fields == frozenset()
        assert result.reconciled == AGREED  # the baseline stays, so a later move of the other side is caught


def test_resolution_clears_raised_at():
    new, deal = _both_moved_close_date()
    raised = detect_conflicts(new, deal, AGREED, NOW, rules=RULES)
    fixed = Deal(**{**DEAL_KW, "closedate": "2025-07-15"})
    result = detect_conflicts(new, fixed, raised.reconciled, LATER, rules=RULES)
    assert result.events == () and result.fields == frozenset()
    assert result.reconciled["target_close_date"] == ReconciledField(pc_value="2025-07-15", deal_value="2025-07-15")


def test_several_fields_are_one_event():
    new = snap(target_close_date="2025-07-15", title="Data lake v2",
               expected_spend=(Spend(amount="3000", currency="USD", frequency="Monthly"),))
    deal = Deal(deal_id="9001", dealname="Lake house", amount="2500", currency="USD", closedate="2025-08-01")
    [event] = detect_conflicts(new, deal, AGREED, NOW, rules=RULES).events
    assert [c.field for c in event.changes] == ["expected_spend", "target_close_date", "title"]


def test_missing_deal_is_a_link_conflict():
    gone = Deal(deal_id="9001", exists=False)
    result = detect_conflicts(snap(), gone, AGREED, NOW, rules=RULES)
    [event] = result.events
    assert event.changes[0].field == LINK and "deal 9001 not found in HubSpot" in event.changes[0].new
    assert result.fields == frozenset() and result.reconciled[LINK].raised_at == iso(NOW)
    assert {k: v for k, v in result.reconciled.items() if k != LINK} == AGREED
    again = detect_conflicts(snap(), gone, result.reconciled, LATER, rules=RULES)
    assert again.events == ()
    healed = detect_conflicts(snap(), DEAL, again.reconciled, LATER, rules=RULES)
    assert healed.events == () and healed.reconciled[LINK].raised_at is None
    broken_again = detect_conflicts(snap(), gone, healed.reconciled, LATER, rules=RULES)
    assert len(broken_again.events) == 1  # a new break is news at once, whatever the last one's time
    assert LINK not in detect_conflicts(snap(), DEAL, AGREED, NOW, rules=RULES).reconciled


def test_deal_claimed_twice_names_the_others():
    result = detect_conflicts(snap(), DEAL, AGREED, NOW, rules=RULES, claimed_by=("O7", "O5"))
    [event] = result.events
    assert event.changes[0].new == "deal 9001 is also claimed by O5, O7"


def test_link_and_field_conflicts_share_one_event():
    new, deal = _both_moved_close_date()
    [event] = detect_conflicts(new, deal, AGREED, NOW, rules=RULES, claimed_by=("O5",)).events
    assert [c.field for c in event.changes] == [LINK, "target_close_date"]


def test_muted_conflicts_still_track_state():
    new, deal = _both_moved_close_date()
    result = detect_conflicts(new, deal, AGREED, NOW, rules=RULES.with_overrides(muted_kinds={"conflict_detected"}))
    assert result.events == () and result.fields == frozenset({"target_close_date"})


def test_fields_left_out_of_the_mapping_are_never_compared():
    rules = RULES.with_overrides(conflict_fields=frozenset({"title", "expected_spend"}))
    new, deal = _both_moved_close_date()
    result = detect_conflicts(new, deal, AGREED, NOW, rules=rules)
    assert result.events == () and result.fields == frozenset()
    assert detect_conflicts(new, deal, AGREED, NOW, rules=RULES).fields == {"target_close_date"}

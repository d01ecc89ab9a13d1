"""Conflicts between an opportunity and its HubSpot deal: mapped fields changed on both sides, or a broken link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from poller.core.events import make_event
from poller.core.model import Change, Deal, Event, Snapshot, Spend
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso, parse_iso

LINK = "_link"  # pseudo-field for a broken deal link; never a snapshot field, so not in ConflictResult.fields


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciledField:
    """The last pair both sides were compared at, and when a conflict on it was last raised (None: not raised)."""

    pc_value: str | None
    deal_value: str | None
    raised_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConflictResult:
    events: tuple[Event, ...] = ()
    reconciled: dict[str, ReconciledField] = field(default_factory=dict)  # the state to store after this pass
    fields: frozenset[str] = frozenset()  # snapshot fields now in conflict (raised now or earlier)


def _text(value: str | None) -> str | None:
    return (" ".join(value.split()) or None) if value else None


def _money(value: Decimal | str | None) -> str | None:
    # HubSpot sends "1200", Partner Central "1200.00": compare to the cent.
    try:
        return str(Decimal(value).quantize(Decimal("0.01"))) if value not in (None, "") else None
    except (InvalidOperation, ValueError, TypeError):
        return _text(str(value))


def _spend_total(spends: tuple[Spend, ...], currency: str | None) -> str | None:
    """The deal amount's counterpart, or None when nothing in the spend compares with it.

    Only like with like: the entries in the deal's currency, and only when they all state the same frequency (a
    monthly figure never adds up with a one-off one); other currencies are left out, never converted or added.
    """
    wanted = (currency or "").strip().upper()
    entries = [s for s in spends if wanted and (s.currency or "").strip().upper() == wanted]
    frequencies = {(s.frequency or "").strip().casefold() for s in entries}
    if not entries or len(frequencies) != 1 or "" in frequencies:
        return None
    total, found = Decimal(0), False
    for spend in entries:
        try:
            total += Decimal(spend.amount or "")
            found = True
        except InvalidOperation:
            continue
    return _money(total) if found else None


def _utc_date(value: str | None) -> str | None:
    """A UTC calendar date from YYYY-MM-DD, an ISO datetime or epoch milliseconds (HubSpot sends either)."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        if text.lstrip("-").isdigit():
            return dt.datetime.fromtimestamp(int(text) / 1000, dt.UTC).date().isoformat()
        return parse_iso(text).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return text  # kept as is: it will disagree, and the owner will see the odd value in the note


def mapped_pairs(snapshot: Snapshot, deal: Deal) -> dict[str, tuple[str | None, str | None]]:
    """(Partner Central value, deal value) per mapped snapshot field, both in comparable form.

    The amount is left out when the spend has nothing comparable with it (see _spend_total): no conflict is
    better than a false one, and its last reconciled pair stays as it was.
    """
    pairs = {
        "title": (_text(snapshot.title), _text(deal.dealname)),
        "target_close_date": (_utc_date(snapshot.target_close_date), _utc_date(deal.closedate)),
    }
    spend = _spend_total(snapshot.expected_spend, deal.currency)
    if spend is not None:
        pairs["expected_spend"] = (spend, _money(deal.amount))
    return pairs


def _link_problem(deal: Deal, claimed_by: tuple[str, ...]) -> str | None:
    problems = []
    if not deal.exists:
        problems.append(f"deal {deal.deal_id} not found in HubSpot")
    if claimed_by:
        problems.append(f"deal {deal.deal_id} is also claimed by {', '.join(sorted(claimed_by))}")
    return "; ".join(problems) or None


def _due(record: ReconciledField, now: dt.datetime, rules: RuleConfig) -> bool:
    if record.raised_at is None:
        return True
    return now - parse_iso(record.raised_at) >= dt.timedelta(hours=rules.conflict_reraise_hours)


def detect_conflicts(
    snapshot: Snapshot,
    deal: Deal | None,
    reconciled: Mapping[str, ReconciledField],
    now: dt.datetime,
    *,
    rules: RuleConfig,
    claimed_by: tuple[str, ...] = (),
) -> ConflictResult:
    """One conflict_detected event for everything in conflict (at most once per reraise period), and new state."""
    state = dict(reconciled)
    if deal is None:
        return ConflictResult(reconciled=state)  # no link: nothing to compare, and nothing to forget
    current: dict[str, tuple[str | None, str | None]] = {}  # field → (pc, deal) pairs now in conflict
    problem, link = _link_problem(deal, claimed_by), state.get(LINK)
    if problem:
        current[LINK] = (deal.deal_id, problem)
        if link is None or link.raised_at is None:
            state[LINK] = ReconciledField(pc_value=deal.deal_id, deal_value=problem)
    elif link is not None:
        # Resolved; kept as a row (not dropped) so a store that upserts rows also forgets the old raised_at.
        state[LINK] = ReconciledField(pc_value=deal.deal_id, deal_value=None)
    pairs = {name: pair for name, pair in mapped_pairs(snapshot, deal).items()
             if name in rules.conflict_fields} if deal.exists else {}  # a missing deal has no values to compare
    for name, (pc, other) in pairs.items():
        record = state.get(name)
        if record is None or pc == other:
            state[name] = ReconciledField(pc_value=pc, deal_value=other)  # first sight, or agreed: resolved
        elif pc != record.pc_value and other != record.deal_value:
            current[name] = (pc, other)  # both moved and they disagree; the stored pair stays until resolved
        # Only one side moved: a sync not yet done, not a conflict; the stored pair stays as the baseline.
    if not current or not any(_due(state[name], now, rules) for name in current):
        return ConflictResult(reconciled=state, fields=frozenset(current) - {LINK})
    raised_at = iso(now)
    for name in current:
        state[name] = replace(state[name], raised_at=raised_at)
    events: tuple[Event, ...] = ()
    if "conflict_detected" not in rules.muted_kinds:
        changes = [Change(field=name, old=pc, new=other) for name, (pc, other) in sorted(current.items())]
        events = (make_event("conflict_detected", snapshot.opportunity_id, version=raised_at, occurred_at=raised_at,
                             value=sorted((c.field, c.old or "", c.new or "") for c in changes), rules=rules,
                             changes=changes, deal_id=deal.deal_id, facts=(("deal_id", deal.deal_id),)),)
    return ConflictResult(events=events, reconciled=state, fields=frozenset(current) - {LINK})

"""`poller state …`: read-only answers to operators' questions about runs, the outbox, opportunities and budgets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from poller.clock import utc_now
from poller.commands.common import emit_json, fail, say, settings_from, shown, table
from poller.store import queries
from poller.store.open import reading
from poller.store.signals import reminder_schedule


@click.group(name="state")
def state_group() -> None:
    """Inspect the job's state (read-only: a missing database is an error, never created).

    Example:

    \b
        poller state runs
        poller state outbox --status unroutable
    """


@state_group.command(name="runs")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The last runs: status, counts, API calls, cursor movement, skipped records.

    Example:

    \b
        poller state runs --limit 5 --json
    """
    with reading(settings_from(ctx).db) as db:
        rows = queries.runs(db, limit)
    if as_json:
        return emit_json(rows)
    say(table(rows, ["id", "mode", "status", "started_at", "duration_ms", "pages", "opportunities_changed",
                            "swept", "events", "delivered", "parked", "api_calls", "skipped_ids", "deferred", "error"],
                     {"started_at": 19, "deferred": 50, "error": 60}))


@state_group.command(name="outbox")
@click.option("--status", type=click.Choice(queries.OUTBOX_STATUSES), help="Only rows in this status.")
@click.option("--limit", default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def outbox(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """Notifications and their delivery: pending, sending, done, failed, unknown, unroutable (with the reason).

    Example:

    \b
        poller state outbox --status failed
    """
    with reading(settings_from(ctx).db) as db:
        rows = queries.outbox(db, status, limit)
        counts = queries.outbox_counts(db)
    if as_json:
        return emit_json({"counts": counts, "rows": rows})
    say("counts: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"))
    for row in rows:  # the latest entry of the row's history, and how many there are
        latest = row["history"][-1] if row["history"] else None
        row["history"] = latest and f"{latest['action']} {latest['at'][:16]} ({len(row['history'])})"
    say(table(rows, ["event_key", "sink", "kind", "subject_id", "deal_id", "owner_id", "status", "attempts",
                     "route_reason", "decision", "last_error", "history", "subject"],
                     {"subject": 60, "last_error": 50, "route_reason": 50, "decision": 50}))


@state_group.command(name="opportunity")
@click.argument("opportunity_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def opportunity(ctx: click.Context, opportunity_id: str, as_json: bool) -> None:
    """One opportunity: its current snapshot and timeline (snapshots, events, deliveries).

    Example:

    \b
        poller state opportunity O1234567
    """
    with reading(settings_from(ctx).db) as db:
        row = queries.opportunity(db, opportunity_id)
    if row is None:
        fail(f"opportunity {opportunity_id} is not in the state database", 1)
    if as_json:
        return emit_json(row)
    snap = row["snapshot"]
    say(f"{shown(opportunity_id)}: {shown(snap.get('title'))} ({shown(snap.get('customer_name'))}) "
        f"deal {shown(row['deal_id'] or '-')}")
    say(f"  review {shown(snap.get('review_status'))}, stage {shown(snap.get('stage'))}, "
        f"last modified {shown(row['last_modified'])}, AWS view revision {row['aws_revision']}")
    say(table(row["timeline"], ["at", "entry", "detail"], {"detail": 100}))


@state_group.command(name="cursors")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def cursors(ctx: click.Context, as_json: bool) -> None:
    """Cursors: the largest AWS-supplied LastModifiedDate committed.

    Example:

    \b
        poller state cursors
    """
    with reading(settings_from(ctx).db) as db:
        rows = queries.cursors(db)
    if as_json:
        return emit_json(rows)
    say(table(rows, ["name", "value", "updated_at"]))


@state_group.command(name="budget")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def budget(ctx: click.Context, as_json: bool) -> None:
    """API calls today per host and the persisted request budgets.

    Example:

    \b
        poller state budget --json
    """
    with reading(settings_from(ctx).db) as db:
        data = queries.budget(db, utc_now())
    if as_json:
        return emit_json(data)
    say(f"day {data['day']} (UTC): " + (", ".join(f"{h} {n} calls" for h, n in data["calls"].items()) or "no calls"))
    say("last 24 h: " + (", ".join(f"{h} {n} calls" for h, n in data["calls_last_24h"].items()) or "no calls")
               + " (Partner Central's read quota is per rolling 24 h)")
    say(table(data["buckets"], ["name", "capacity", "refill_per_second", "tokens", "updated_at"]))


@state_group.command(name="preferences")
@click.argument("owner")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def preferences(ctx: click.Context, owner: str, as_json: bool) -> None:
    """The effective preferences of one HubSpot owner (id or email), and where each value comes from.

    The database, when there is one, tells an owner's email from their id (and back), as HubSpot last listed them.

    Example:

    \b
        poller state preferences 12345678
        poller state preferences anna@example.com --json
    """
    settings = settings_from(ctx)
    found = None
    if Path(settings.db).exists():
        with reading(settings.db) as db:
            found = queries.owner(db, owner)
    owner_id = found["owner_id"] if found else owner if owner.isdigit() else None
    email = found["email"] if found else None if owner.isdigit() else owner
    prefs, source = settings.preferences.explain(owner_id, email)
    levels = [label for label, _entry in settings.preferences.levels(owner_id, email)]
    manages = [team.name for name, team in settings.preferences.managers() if name in (owner_id, email)
               or (email and name.casefold() == email.casefold())]
    rows = [{"setting": name, "value": value, "from": source[name]} for name, value in (
        (f, getattr(prefs, f)) for f in source)]
    for row in rows:
        value = row["value"]
        row["value"] = sorted(value) if isinstance(value, frozenset) else dict(value) if isinstance(value, Mapping) \
            else value
    if as_json:
        return emit_json({"owner_id": owner_id, "email": email, "levels": levels, "manager_of": manages,
                          "preferences": {r["setting"]: r["value"] for r in rows},
                          "sources": {r["setting"]: r["from"] for r in rows}})
    say(f"owner {shown(owner_id or '?')} ({shown(email or 'email unknown')}): " + " < ".join(levels)
        + (f"; manager of {', '.join(manages)}" if manages else ""))
    say(table(rows, ["setting", "value", "from"], {"value": 80}))


@state_group.command(name="reminders")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def reminders(ctx: click.Context, as_json: bool) -> None:
    """Reminders that may still come: invitations about to expire, opportunities left at Action Required.

    Example:

    \b
        poller state reminders
    """
    from poller.app import rules_from

    settings = settings_from(ctx)
    with reading(settings.db) as db:
        rows = reminder_schedule(db, utc_now(), rules_from(settings))
    if as_json:
        return emit_json(rows)
    say(table(rows, ["kind", "subject_id", "deal_id", "sent", "next_at", "until"]) if rows else "no reminders")

"""`poller state …`: read-only answers to operators' questions about runs, the outbox, opportunities and budgets."""

from __future__ import annotations

import sys

import click

from poller.clock import utc_now
from poller.commands.common import emit_json, handle_errors, settings_from, table
from state import open_store, queries


def _db(ctx: click.Context):  # noqa: ANN202
    return open_store(settings_from(ctx).db).db


@click.group(name="state")
def state_group() -> None:
    """Inspect the job's state (read-only).

    Example:

    \b
        poller state runs
        poller state outbox --status unroutable
    """


@state_group.command(name="runs")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def runs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The last runs: status, counts, API calls, cursor movement, skipped records.

    Example:

    \b
        poller state runs --limit 5 --json
    """
    rows = queries.runs(_db(ctx), limit)
    if as_json:
        return emit_json(rows)
    click.echo(table(rows, ["id", "mode", "status", "started_at", "duration_ms", "pages", "opportunities_changed",
                            "swept", "events", "delivered", "parked", "api_calls", "skipped_ids", "deferred", "error"],
                     {"started_at": 19, "deferred": 50, "error": 60}))


@state_group.command(name="outbox")
@click.option("--status", type=click.Choice(queries.OUTBOX_STATUSES), help="Only rows in this status.")
@click.option("--limit", default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def outbox(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """Notifications and their delivery: pending, sending, done, failed, unknown, unroutable (with the reason).

    Example:

    \b
        poller state outbox --status failed
    """
    db = _db(ctx)
    rows = queries.outbox(db, status, limit)
    if as_json:
        return emit_json({"counts": queries.outbox_counts(db), "rows": rows})
    counts = queries.outbox_counts(db)
    click.echo("counts: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"))
    for row in rows:  # the latest entry of the row's history, and how many there are
        latest = row["history"][-1] if row["history"] else None
        row["history"] = latest and f"{latest['action']} {latest['at'][:16]} ({len(row['history'])})"
    click.echo(table(rows, ["event_key", "kind", "subject_id", "deal_id", "owner_id", "status", "attempts",
                            "route_reason", "last_error", "history", "subject"],
                     {"subject": 60, "last_error": 50, "route_reason": 50}))


@state_group.command(name="opportunity")
@click.argument("opportunity_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def opportunity(ctx: click.Context, opportunity_id: str, as_json: bool) -> None:
    """One opportunity: its current snapshot and timeline (snapshots, events, deliveries).

    Example:

    \b
        poller state opportunity O1234567
    """
    row = queries.opportunity(_db(ctx), opportunity_id)
    if row is None:
        click.echo(f"Error: opportunity {opportunity_id} is not in the state database", err=True)
        sys.exit(1)
    if as_json:
        return emit_json(row)
    snap = row["snapshot"]
    click.echo(f"{opportunity_id}: {snap.get('title')} ({snap.get('customer_name')}) deal {row['deal_id'] or '-'}")
    click.echo(f"  review {snap.get('review_status')}, stage {snap.get('stage')}, last modified {row['last_modified']}"
               f", AWS view revision {row['aws_revision']}")
    click.echo(table(row["timeline"], ["at", "entry", "detail"], {"detail": 100}))


@state_group.command(name="cursors")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def cursors(ctx: click.Context, as_json: bool) -> None:
    """Cursors: the largest AWS-supplied LastModifiedDate committed.

    Example:

    \b
        poller state cursors
    """
    rows = queries.cursors(_db(ctx))
    if as_json:
        return emit_json(rows)
    click.echo(table(rows, ["name", "value", "updated_at"]))


@state_group.command(name="budget")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def budget(ctx: click.Context, as_json: bool) -> None:
    """API calls today per host and the persisted request budgets.

    Example:

    \b
        poller state budget --json
    """
    data = queries.budget(_db(ctx), utc_now())
    if as_json:
        return emit_json(data)
    click.echo(f"day {data['day']} (UTC): " + (", ".join(f"{h} {n} calls" for h, n in data["calls"].items()) or "no calls"))
    click.echo("last 24 h: " + (", ".join(f"{h} {n} calls" for h, n in data["calls_last_24h"].items()) or "no calls")
               + " (Partner Central's read quota is per rolling 24 h)")
    click.echo(table(data["buckets"], ["name", "capacity", "refill_per_second", "tokens", "updated_at"]))

"""`poller outbox retry`: put failed notifications back in line on the operator's word, and say what was done."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from poller.clock import utc_now
from poller.commands.common import settings_from, table
from poller.core.model import KINDS
from poller.core.timefmt import iso, parse_moment
from poller.store import open_store


@click.group(name="outbox")
def outbox_group() -> None:
    """Act on the delivery outbox (read it with `poller state outbox`).

    Example:

    \b
        poller state outbox --status failed
        poller outbox retry --kind review_approved --since 2026-03-01
    """


@outbox_group.command(name="retry")
@click.argument("event_keys", nargs=-1, metavar="[EVENT_KEY]...")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Only failed rows of this kind "
              "(repeatable).")
@click.option("--since", metavar="DATE", help="Only rows that failed at or after DATE: YYYY-MM-DD (UTC) or ISO 8601.")
@click.option("--all", "every", is_flag=True, help="Every failed row: required when no EVENT_KEY or filter is given.")
@click.option("--dry-run", is_flag=True, help="Show what would be retried; change nothing.")
@click.pass_context
def retry(ctx: click.Context, event_keys: tuple[str, ...], kinds: tuple[str, ...], since: str | None, every: bool,
          dry_run: bool) -> None:
    """Put failed notifications back to pending; the next `poller run` sends them.

    Selects the rows whose task or note is `failed` (see `poller state outbox
    --status failed`): the EVENT_KEYs named, narrowed by --kind and --since
    when given. With none of these it retries nothing unless --all says
    every failed row. Each selected row's failed half (task, note or both)
    goes back to pending with a fresh attempt count, and the retry is
    recorded in the row's history (shown by `poller state outbox` and
    `poller state opportunity`). Retrying a row HubSpot refused for its
    content fails it again unless the cause was fixed first (an owner, a
    deal, a property).

    Exit codes: 0 done (also when nothing matched), 1 the database could not
    be updated, 2 bad usage (no selection, an unknown EVENT_KEY, a bad date).

    Example:

    \b
        poller outbox retry evk_0f1e2d3c4b5a69788796a5b4
        poller outbox retry --kind review_approved --since 2026-03-01 --dry-run
        poller outbox retry --all
    """
    if not (event_keys or kinds or since or every):
        raise click.UsageError("say what to retry: EVENT_KEY…, --kind, --since, or --all for every failed row")
    if every and (event_keys or kinds or since):
        raise click.UsageError("--all retries every failed row: give it alone, or select with EVENT_KEY/--kind/--since")
    try:
        cutoff = iso(parse_moment(since)) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--since'") from None
    store = open_store(settings_from(ctx).db)
    statuses = store.failures.statuses(event_keys)
    unknown = [k for k in event_keys if k not in statuses]
    if unknown:
        raise click.BadParameter(f"no outbox row has event key {', '.join(unknown)}", param_hint="EVENT_KEY")
    selected = [r for r in store.failures.failed(kinds=kinds, since=cutoff)
                if not event_keys or r["event_key"] in statuses]
    for key in event_keys:
        if statuses[key] != "failed":
            click.echo(f"{key}: {statuses[key]}, not failed; left as it is")
    if not selected:
        click.echo("no failed notifications match; nothing changed")
        return
    if not dry_run:
        with store.atomic():
            store.failures.retry([r["event_key"] for r in selected], iso(utc_now()), "by `poller outbox retry`")
    verb = "would put" if dry_run else "put"
    click.echo(f"{verb} {len(selected)} failed notification{'s' if len(selected) != 1 else ''} back to pending"
               + ("" if dry_run else "; the next `poller run` sends them") + ":")
    click.echo(table([_shown(r) for r in selected], ["event_key", "kind", "subject_id", "failed", "attempts",
                                                      "last_error"], {"last_error": 70}))


def _shown(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "failed": "+".join(p for p in ("task", "note") if row[f"{p}_state"] == "failed")}

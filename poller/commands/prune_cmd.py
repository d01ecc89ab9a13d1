"""`poller prune`: delete stored personal data older than the retention period."""

from __future__ import annotations

from pathlib import Path

import click

from poller.clock import utc_now
from poller.commands.common import emit_json, say, settings_from, table
from poller.config.values import bounded_duration, human
from poller.errors import StoreUnusable
from poller.store import open_store
from poller.store.prune import prune


@click.command(name="prune")
@click.option("--older-than", "older_than", metavar="DURATION",
              help="Delete what is older than this, e.g. 90d or 12h (default: the `retention` setting, 180d).")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def prune_command(ctx: click.Context, older_than: str | None, dry_run: bool, as_json: bool) -> None:
    """Delete stored history older than a cutoff (snapshots, delivered notifications, events, finished
    invitations, unlinked deals, cached owners, runs).

    Never deleted: the current snapshot of each opportunity and the one
    later snapshots are compared with, anything an undelivered outbox row
    needs (pending, unknown, unroutable or failed), pending invitations,
    and the deals opportunities link to. The daemon runs this once a day;
    with cron, add a daily line (see the crontab file).

    Example:

    \b
        poller prune --dry-run
        poller prune --older-than 90d
    """
    settings = settings_from(ctx)
    seconds = settings.retention if older_than is None else bounded_duration(older_than, "--older-than")
    if not Path(settings.db).exists():  # a mistyped path: nothing to prune, and nothing to create
        raise StoreUnusable(settings.db, "does not exist")
    store = open_store(settings.db)
    result = prune(store, older_than=seconds, now=utc_now(), dry_run=dry_run)
    if as_json:
        emit_json({"cutoff": result.cutoff, "dry_run": result.dry_run, "skipped": result.skipped is not None,
                   "removed": dict(result.removed)})
        return
    if result.skipped is not None:
        say(f"another run holds the lease ({result.skipped.holder}); nothing pruned, run it again later")
        return
    verb = "would remove" if dry_run else "removed"
    say(f"older than {human(seconds)} (before {result.cutoff}): {verb} {result.total} rows")
    say(table([{"what": what, "rows": n} for what, n in result.removed], ["what", "rows"]))

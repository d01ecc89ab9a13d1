"""`poller backfill`: re-derive a past window's notifications after an outage; never sends anything twice."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict

import click

from poller.app import build_app
from poller.commands.common import (
    emit_json,
    print_outcome,
    require_delivery,
    say,
    settings_from,
    shown,
)
from poller.run.backfill import backfill
from poller.run.window import Progress, Window
from poller.stopping import stop_on_signals


@click.command(name="backfill")
@click.option("--since", required=True, metavar="DATE", help="Window start: YYYY-MM-DD (UTC) or ISO 8601.")
@click.option("--until", metavar="DATE", help="Window end (default now): YYYY-MM-DD (that whole UTC day) or ISO 8601.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; write nothing to the state database.")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON summary on stdout (logs go to stderr).")
@click.pass_context
def backfill_command(ctx: click.Context, since: str, until: str | None, dry_run: bool, as_json: bool) -> None:
    """Re-derive the notifications of a past window (after an outage).

    Replays the snapshots stored inside the window, then lists the window
    again in Partner Central and reads every opportunity that changed since
    it was stored. Event keys make it safe: whatever a cycle or an earlier
    backfill already recorded is counted as already known and is never sent
    twice. The main cursor does not move; the window has its own checkpoint,
    so an interrupted backfill (SIGTERM, SIGINT, SIGHUP: it stops at the next
    record) continues where it stopped when you run the same command again.
    New notifications are delivered (with `deliver = false`, the next
    `poller run` that delivers sends them).

    With --dry-run it does all of this on an in-memory copy of the state
    database and prints what would be sent; nothing is written.

    Example:

    \b
        poller backfill --since 2026-03-01 --dry-run
        poller backfill --since 2026-03-01 --until 2026-03-03
        poller backfill --since 2026-03-02T08:00:00Z --json
    """
    settings = settings_from(ctx)
    require_delivery(settings, dry_run=dry_run)
    app = build_app(settings)
    try:
        window = Window.parse(since, until, app.clock())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--since' / '--until'") from None
    with stop_on_signals(app.stop), _progress(enabled=not as_json and sys.stderr.isatty()) as report:
        result = backfill(app, window, dry_run=dry_run, progress=report, stop_requested=app.stop.is_set)
    if as_json:
        emit_json({"summary": result.summary, "notifications": [
            {k: v for k, v in asdict(n).items() if k != "extra"} for n in result.notifications]})
    else:
        _print(result)
    sys.exit(result.exit_code)


@contextlib.contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[Progress], None] | None]:
    """A progress bar on a terminal (stderr); elsewhere None, and the backfill logs one line per page instead."""
    if not enabled:
        yield None
        return
    state = _Position()
    # An iterable without a length: ListOpportunities has no count, so the bar pulses and shows the position.
    pulses: Iterator[Progress | None] = itertools.repeat(None)
    with click.progressbar(pulses, label="backfill", file=sys.stderr, show_pos=True,
                           item_show_func=lambda p: _describe(p) if p else None) as bar:
        def report(p: Progress) -> None:
            if p.phase != state.phase:
                state.phase, state.done = p.phase, 0
            bar.update(p.done - state.done, p)
            state.done = p.done

        yield report


@dataclasses.dataclass
class _Position:
    """Where the bar stands: the backfill reports totals per phase, the bar wants steps."""

    phase: str = "history"
    done: int = 0


def _describe(p: Progress) -> str:
    where = f"history {p.done}/{p.total}" if p.phase == "history" else f"re-list page {p.done}"
    return f"{where}: {p.found} events found, {p.new} new"


def _print(result) -> None:  # noqa: ANN001
    s = result.summary
    if result.status == "skipped":
        say(s["message"])
        return
    head = "dry run: " if result.dry_run else f"backfill run {s['run_id']} {s['status']}: "
    say(f"{head}{s['since']} … {s['until']}: {s['found']} events found, {s['new']} new, "
               f"{s['known']} already known ({s['history_replayed']} stored snapshots replayed; "
               f"{s['pages']} pages re-listed, {s['opportunities_reread']} opportunities re-read)")
    if s.get("resumed_from"):
        say(f"resumed from checkpoint {shown(s['resumed_from'])}")
    if not result.dry_run:
        if s["queued"]:
            say(f"delivery is off: {s['queued']} notifications queued for the next `poller run`")
        else:
            say(f"{s['delivered']} delivered, {s['parked']} parked")
    if s.get("checkpoint_after"):
        say(f"stopped at checkpoint {shown(s['checkpoint_after'])}: run the same command again to continue")
    print_outcome(s, result.notifications,
                  "notifications would be sent" if result.dry_run else "new notifications", skipped_note="skipped")

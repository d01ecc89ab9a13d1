"""`poller run`: one cycle, then exit (cron, ECS scheduled task)."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from poller.app import build_app
from poller.commands.common import emit_json, print_outcome, require_delivery, say, settings_from
from poller.run.cycle import run_cycle
from poller.stopping import stop_on_signals


@click.command(name="run")
@click.option("--dry-run", is_flag=True, help="Read Partner Central and record state, but send nothing to HubSpot.")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON summary on stdout (logs go to stderr).")
@click.option("--sweep", "sweep_all", is_flag=True,
              help="Also re-read every open opportunity's AWS summary now, not only those due (within the budget).")
@click.pass_context
def run_command(ctx: click.Context, dry_run: bool, as_json: bool, sweep_all: bool) -> None:
    """Run one cycle, then exit: poll, diff, record, deliver.

    Exit codes: 0 finished (or stopped cleanly at its budget or on SIGTERM,
    SIGINT or SIGHUP, or another run holds the lease), 1 could not complete,
    2 bad configuration. Without a HubSpot token it refuses to start unless
    --dry-run or `deliver = false` says that recording only is intended.

    --sweep is for when you know AWS changed something (a score, the AWS
    team, insights) and do not want to wait for the sweep period.

    Example:

    \b
        poller run --dry-run --json
        poller run --sweep
    """
    settings = settings_from(ctx)
    require_delivery(settings, dry_run=dry_run)
    app = build_app(settings)
    with stop_on_signals(app.stop):
        result = run_cycle(app, mode="dry-run" if dry_run else "run", deliver=not dry_run and settings.deliver,
                           sweep_all=sweep_all, stop_requested=app.stop.is_set)
    if as_json:
        emit_json({"summary": result.summary, "notifications": [
            {k: v for k, v in asdict(n).items() if k not in ("extra",)} for n in result.notifications]})
    else:
        print_result(result, dry_run=dry_run)
    sys.exit(result.exit_code)


def print_result(result, *, dry_run: bool) -> None:  # noqa: ANN001
    s = result.summary
    if result.status == "skipped":
        say(s["message"])
        return
    verb = "would send" if dry_run else "queued"
    say(f"run {s['run_id']} {s['status']}{' (baseline)' if s.get('baseline') else ''}: "
               f"{s['pages']} pages, {s['opportunities_changed']} changed, {s['swept']} swept, {s['events']} events, "
               f"{s['delivered']} delivered, {s['parked']} parked; cursor {s['cursor_before']} → {s['cursor_after']}")
    print_outcome(s, result.notifications, f"notifications {verb}")

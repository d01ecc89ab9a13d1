"""`poller handle-event FILE|-`: what the Lambda handler does with EventBridge events, from a shell."""

from __future__ import annotations

import json
import sys
from typing import IO

import click

from poller.app import build_app
from poller.commands.common import emit_json, require_delivery, say, settings_from, shown
from poller.errors import UsageError
from poller.eventbridge import handle
from poller.stopping import stop_on_signals


@click.command(name="handle-event")
@click.argument("source", type=click.File("r", encoding="utf-8"), metavar="FILE|-")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON summary on stdout (logs go to stderr).")
@click.pass_context
def handle_event_command(ctx: click.Context, source: IO[str], as_json: bool) -> None:
    """Handle Partner Central EventBridge events: re-read what each names now, and deliver.

    FILE (or - for stdin) holds one event, a JSON array of events, or an SQS
    batch ({"Records": [{"body": "<event>"}, …]}). Each event marks the
    opportunity or invitation it names for an immediate re-read, then one
    targeted cycle runs under the lease. Unknown detail-types are ignored.
    Exit codes: 0 handled (or ignored, or another run holds the lease and
    the next cycle reads them), 1 could not complete, 2 unreadable input or
    bad configuration.

    Example:

    \b
        poller handle-event event.json
        aws sqs receive-message --queue-url "$Q" --query 'Messages[].Body' | poller handle-event -
    """
    settings = settings_from(ctx)
    require_delivery(settings, dry_run=False)
    try:
        payload = json.load(source)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{source.name}: not JSON ({exc})") from None
    if isinstance(payload, list) and all(isinstance(item, str) for item in payload):
        try:  # message bodies as `aws sqs receive-message --query 'Messages[].Body'` prints them
            payload = [json.loads(item) for item in payload]
        except ValueError as exc:
            raise UsageError(f"{source.name}: a message body is not JSON ({exc})") from None
    app = build_app(settings)
    with stop_on_signals(app.stop):
        summary = handle(app, payload)
    if as_json:
        emit_json(summary)
    else:
        for item in summary["ignored"]:
            say(f"ignored {shown(item['detail_type'])} ({shown(item['id'])}): {shown(item['reason'])}")
        if summary["requested"]:
            say(f"run {summary['run_id']} {summary['status']}: re-read {shown(', '.join(summary['requested']))}; "
                f"{summary['events']} events, {summary['delivered']} delivered, {summary['parked']} parked")
        for key in ("message", "deferred", "error"):
            if summary.get(key):
                say(f"{key}: {shown(summary[key])}", err=key == "error")
    sys.exit(1 if summary["status"] == "failed" else 0)

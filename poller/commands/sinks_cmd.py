"""`poller sinks list | test NAME`: the configured sinks beyond HubSpot, and one sample message to try one."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import uuid

import click

from poller.app import rules_from, sink_for
from poller.clock import utc_now
from poller.commands.common import say, settings_from, shown, table
from poller.config.sinks import RESERVED
from poller.core.card import Card
from poller.core.notes.wording import when
from poller.core.timefmt import iso
from poller.delivery.sink import BatchRefused
from poller.errors import PollerError, UnknownOutcome, UsageError
from poller.retry import RetrySettings
from poller.stopping import interruptible
from poller.store.outbox import OutboxRow, Part

TEST_KIND = "test"  # SNS subscribers can filter test messages out on the `kind` attribute


@click.group(name="sinks")
def sinks_group() -> None:
    """The sinks beyond HubSpot (Slack webhooks, SNS topics) and their routes.

    Example:

    \b
        poller sinks list
        poller sinks test deals
    """


@sinks_group.command(name="list")
@click.pass_context
def list_sinks(ctx: click.Context) -> None:
    """Show each configured sink, where it sends and what it takes (webhook URLs are never shown).

    Example:

    \b
        poller sinks list
    """
    sinks = settings_from(ctx).sinks
    rows = [{"sink": "hubspot", "type": "hubspot", "target": "HubSpot (task + note)", "kinds": "all",
             "min_priority": "LOW", "owners": "all"}]
    for sink in sinks:
        data = sink.shown()
        rows.append({**data, "sink": sink.name, "target": data.get("topic_arn") or "webhook (set)",
                     "kinds": ", ".join(sink.kinds) or "all", "owners": ", ".join(sink.owners) or "all"})
    say(table(rows, ["sink", "type", "target", "min_priority", "kinds", "owners"], {"target": None, "kinds": 80}))


@sinks_group.command(name="test")
@click.argument("name")
@click.pass_context
def test_sink(ctx: click.Context, name: str) -> None:
    """Send one sample message to the sink NAME and print what it answered.

    Nothing is recorded and no seller is notified: the message says it is a
    test (SNS: attribute kind=test). Exit codes: 0 delivered, 1 the sink
    refused it or could not be reached, 2 no sink by that name.

    Example:

    \b
        poller sinks test deals
    """
    settings = settings_from(ctx)
    config = next((s for s in settings.sinks if s.name == name), None)
    if config is None:
        known = ", ".join(s.name for s in settings.sinks) or "none configured"
        hint = " (the default sink: `poller config check` checks HubSpot)" if name in RESERVED else ""
        raise UsageError(f"no sink named {name!r}{hint}; sinks: {known}")
    sink = sink_for(config, settings, owners=None, budgets=None, retry=RetrySettings.attempts(settings.retry_attempts),
                    pause=interruptible(threading.Event()))
    now = utc_now()
    row = sample_row(name, now, rules_from(settings).partner_central_home)
    try:
        sent = sink.send(Part.TASK, [row], now)
    except (PollerError, UnknownOutcome, BatchRefused) as exc:
        outcome = "may have arrived (no answer)" if isinstance(exc, UnknownOutcome) else "not delivered"
        say(f"FAIL {name} ({config.type}): {outcome}: {shown(exc)}", err=True)
        sys.exit(1)
    if row["event_key"] in sent.created:
        answer = sent.created[row["event_key"]]
        say(f"OK {name} ({config.type}): test message delivered ({'message id ' if config.type == 'sns' else ''}"
            f"{shown(answer)})")
        return
    refusal = sent.refused.get(row["event_key"])
    say(f"FAIL {name} ({config.type}): {shown(refusal.message if refusal else 'no answer for the message')}", err=True)
    sys.exit(1)


def sample_row(sink: str, now: dt.datetime, link: str) -> OutboxRow:
    """A row as the outbox would hold one, marked as a test; its key is new each time (a FIFO topic would drop a
    repeat within 5 minutes)."""
    card = Card(emoji="🧪", headline="Test message from poller", label=f"sink {sink}",
                context="If you can read this, poller can deliver to this sink. Nothing was recorded and no seller "
                        "was notified.",
                steps=("Nothing to do: this is a test",), details=(("Sink", sink), ("Sent", when(iso(now)) or "")),
                link=link, link_text="Open Partner Central")
    stamp = iso(now)
    return OutboxRow(
        event_key=f"evk_test_{uuid.uuid4().hex[:20]}", sink=sink, kind=TEST_KIND, subject_id="test", deal_id=None,
        priority="LOW", due_at=iso(now + dt.timedelta(hours=24)), subject="🧪 Test message from poller", task_body="",
        note_body=None, owner_id=None, route_reason=None, task_state="sending", task_id=None, note_state="none",
        note_id=None, attempts=0, last_error=None, sending_since=stamp, created_at=stamp, updated_at=stamp,
        card=card.to_json())

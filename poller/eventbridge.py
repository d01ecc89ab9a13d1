"""The Lambda entry point for Partner Central's EventBridge events: re-read what each names now, then deliver.

`handler(event, context)` takes one EventBridge event (a rule whose target is the function), or an SQS batch (a rule
whose target is a queue feeding the function). Each `aws.partnercentral-selling` event marks the opportunity or
invitation it names for an immediate re-read (GetOpportunity + GetAwsOpportunitySummary; GetEngagementInvitation;
the listing for engagement events, which name no opportunity) and runs a targeted cycle under the lease, so the
notification goes out in the same invocation. Polling stays the source of truth: a lost event costs latency, never a
notification; a duplicate finds nothing changed and sends nothing; an unknown detail-type is logged and ignored.
A scheduled event (a rule's `rate(5 minutes)`) runs the whole cycle instead, so one function can own the database.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from poller import logs
from poller.app import App
from poller.config import ENV, load_settings
from poller.core.eventbridge import ReadRequest, parse_event, unwrap
from poller.errors import ConfigError
from poller.run.cycle import RunResult, run_cycle
from poller.run.targeted import queue_rereads, request_and_run, shared_app

log = logging.getLogger(__name__)
_configured = threading.Event()


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """AWS Lambda: settings from the environment (as for `poller run`), logs on stderr (CloudWatch)."""
    settings = load_settings()
    if settings.deliver and not settings.hubspot_configured:  # a function that would record for days, silently
        raise ConfigError(f"{ENV['hubspot_access_token']}: not set, so nothing would be delivered; set it, or record "
                          f"only with {ENV['deliver']}=false")
    if not _configured.is_set():  # once per container: the runtime's own handler would not redact the token
        logs.configure(settings.log_format, secrets=[settings.hubspot_access_token,
                                                     os.environ.get("AWS_SECRET_ACCESS_KEY"),
                                                     os.environ.get("AWS_SESSION_TOKEN")])
        _configured.set()
    return handle(shared_app(settings), event)


def handle(app: App, payload: Any) -> dict[str, Any]:
    """Mark what the events name, run the targeted cycle, and say what happened (also `poller handle-event`)."""
    requests: list[ReadRequest] = []
    ignored: list[dict[str, str]] = []
    cycle = False
    for event in unwrap(payload):
        parsed = parse_event(event, catalog=app.settings.catalog)
        cycle = cycle or parsed.cycle
        if parsed.ignored is not None:
            log.log(logging.WARNING if parsed.unknown else logging.INFO, "ignored EventBridge event %s (%s): %s",
                    parsed.event_id, parsed.detail_type, parsed.ignored)
            ignored.append({"id": parsed.event_id, "detail_type": parsed.detail_type, "reason": parsed.ignored})
            continue
        for request in parsed.requests:
            log.info("EventBridge %s (%s): re-reading %s %s", parsed.detail_type, parsed.event_id,
                     request.subject_type, request.subject_id)
        requests.extend(parsed.requests)
    summary: dict[str, Any] = {"requested": [f"{r.subject_type} {r.subject_id}" for r in requests],
                               "ignored": ignored, "scheduled": cycle}
    result: RunResult
    if cycle:  # the whole cycle, which also reads what these events (and earlier ones) asked for
        queue_rereads(app, requests)
        result = run_cycle(app, mode="run", deliver=app.settings.deliver, stop_requested=app.stop.is_set)
    elif requests:
        result, _ids = request_and_run(app, requests, mode="event")
    else:
        return {"status": "ignored", **summary}
    s = result.summary
    return {"status": result.status, **summary, "run_id": result.run_id, "events": s.get("events", 0),
            "delivered": s.get("delivered", 0), "parked": s.get("parked", 0),
            "notifications": [{"kind": n.kind, "subject_id": n.subject_id, "deal_id": n.deal_id,
                               "event_key": n.event_key} for n in result.notifications],
            **{k: s[k] for k in ("message", "error", "deferred") if s.get(k)}}

"""A targeted run: queue re-reads (from EventBridge events or library calls), then read them and deliver under the lease."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from poller.app import App, build_app
from poller.config import Settings
from poller.core.claims import Claim
from poller.core.eventbridge import ReadRequest
from poller.core.timefmt import iso
from poller.redaction import register
from poller.run.cycle import RunResult, run_cycle

_apps: dict[tuple[Settings, int], App] = {}
_apps_lock = threading.Lock()


def shared_app(settings: Settings) -> App:
    """One App per settings and thread, kept for the process (a Lambda container serves many invocations): the
    clients, the database connection and the cached owners are built once. The token is registered for redaction."""
    register([settings.hubspot_access_token])
    key = (settings, threading.get_ident())
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            app = _apps[key] = build_app(settings)
        return app


def queue_rereads(app: App, requests: Sequence[ReadRequest], claim: Claim | None = None) -> list[int]:
    """Queue the re-reads, committed at once: a run that cannot take the lease leaves them to the next cycle."""
    now = iso(app.clock())
    with app.store.atomic():
        return [app.store.rereads.request(r.subject_type, r.subject_id, r.source, now,
                                          claim.to_json() if claim is not None else None) for r in requests]


def request_and_run(app: App, requests: Sequence[ReadRequest], *, mode: str,
                    claim: Claim | None = None) -> tuple[RunResult, list[int]]:
    """Queue the re-reads, then run the targeted cycle. Returns its result and the request ids (a claim's decision
    is read back by its id)."""
    ids = queue_rereads(app, requests, claim)
    result = run_cycle(app, mode=mode, deliver=app.settings.deliver, targeted=True, stop_requested=app.stop.is_set)
    return result, ids

"""The HubSpot sink: each outbox row becomes a task for its owner and a note on its deal, found again by event key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from poller.delivery.sink import BatchRefused, Refusal, Sent, Verdict
from poller.hubspot.keys import KeyHome, names_key_property
from poller.hubspot.objects import SEARCH_INDEX_LAG, build_inputs, find_by_keys
from poller.hubspot.portal import HubSpotPortal, Rejected
from poller.hubspot.refusals import verdict_for
from poller.store.database import StateStore
from poller.store.outbox import OutboxRow, Part


class HubSpotSink:
    """Batch creates of tasks and notes (≤100 inputs, associations inline, objectWriteTraceId = event key)."""

    name = "hubspot"
    label = "HubSpot"
    parts: tuple[Part, ...] = (Part.TASK, Part.NOTE)
    batch_size = 100  # inputs per batch create
    personal = True  # the owner's task: preferences and digests apply

    def __init__(self, portal: HubSpotPortal, store: StateStore, *, settle_time: float):
        self.portal = portal
        self.store = store
        self.settle_time = settle_time  # an uncertain send is looked up only this long after it left
        self.keys = KeyHome(portal, store)
        self.modes: dict[str, str] = {}  # per part, where the event key is carried: "property" or "body"

    def takes_owner(self, owner_id: str) -> bool:
        return True  # the default sink: every notification, whoever owns it

    def needs_deal(self, part: Part) -> bool:
        return part is Part.NOTE  # a note needs a record to live on

    def prepare(self) -> None:
        self.modes = self.keys.ensure()

    def begin_run(self) -> None:
        self.keys.rechecked.clear()

    def send(self, part: Part, rows: Sequence[OutboxRow], now: dt.datetime) -> Sent:
        api = self.portal.tasks_batch if part is Part.TASK else self.portal.notes_batch
        try:
            data, _status, _headers = self.portal.call(api.create_with_http_info,
                                                       build_inputs(part, rows, self.modes, now), write=True)
        except Rejected as exc:
            if exc.status == 400 and self.modes.get(part) == "property" and names_key_property(exc.body):
                raise BatchRefused(Verdict.REKEY, str(exc)) from exc  # refused, so nothing was created
            # A whole-batch 400 created nothing and may name only the first bad input.
            raise BatchRefused(Verdict.SPLIT if exc.status == 400 else Verdict.FAILED, str(exc)) from exc
        if data is None or getattr(data, "results", None) is None:  # an answer the SDK could not map: check first
            return Sent(unanswered="HubSpot's answer carried no results")
        return self._answer(part, data)

    def _answer(self, part: Part, data: Any) -> Sent:
        created: dict[str, str] = {}
        for obj in data.results or []:
            key = getattr(obj, "object_write_trace_id", None) or (obj.properties or {}).get("poller_event_key")
            if key:
                created[key] = str(obj.id)
        refused: dict[str, Refusal] = {}
        for error in getattr(data, "errors", None) or []:
            context = error.context or {}
            verdict = verdict_for(error.category, error.message, context)
            if self.modes.get(part) == "property" and names_key_property(_error_text(error)):
                verdict = Verdict.REKEY  # refused for poller_event_key itself (deleted by an admin?): not this row's fault
            for key in context.get("objectWriteTraceId", []):
                refused[key] = Refusal(verdict, f"{error.category}: {error.message}")
        return Sent(created=created, refused=refused)

    def find_by_keys(self, part: Part, rows: Sequence[OutboxRow]) -> dict[str, str]:
        return find_by_keys(self.portal, part, rows, self.modes,
                            recorded=lambda deal_ids: self.store.outbox.recorded_ids(self.name, part, deal_ids))

    def settle_seconds(self, row: OutboxRow) -> float:
        # HubSpot may still be storing a create the client gave up on; search also lags behind the store.
        return self.settle_time + (0 if row["deal_id"] else SEARCH_INDEX_LAG)

    def rekey(self, part: Part) -> None:
        self.keys.refused(part, self.modes)


def _error_text(error: Any) -> str:
    details = [f"{d.message} {d.context}" for d in getattr(error, "errors", None) or []]
    return " ".join([error.message or "", str(error.context or {}), *details])

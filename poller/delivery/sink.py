"""The Sink interface: what the outbox protocol needs of a place notifications go to (HubSpot, Slack, SNS)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from poller.store.outbox import OutboxRow, Part


class Verdict(StrEnum):
    """What a sink's refusal means for the row it refused (or, for SPLIT, for the whole batch)."""

    RETRY = "retry"  # may go through later: send again, up to the cap on attempts
    FAILED = "failed"  # a resend would not change it: `failed`, with the reason (`poller outbox retry` puts it back)
    REROUTE = "reroute"  # the recipient was refused: route the row again from a fresh owners list
    REKEY = "rekey"  # refused for how the event key is carried: send again once the sink has re-homed the key
    SPLIT = "split"  # a whole batch refused for one of its inputs, nothing created: halve it to find that input


@dataclass(frozen=True, slots=True)
class Refusal:
    verdict: Verdict
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Sent:
    """A batch's answer: what was created (event key → object id) and what was refused (event key → why).

    A key in neither is recorded as `unknown` and looked up later. `unanswered`: the sink answered without results,
    so every row of the batch is `unknown` with this reason.
    """

    created: Mapping[str, str] = field(default_factory=dict)
    refused: Mapping[str, Refusal] = field(default_factory=dict)
    unanswered: str | None = None


class BatchRefused(Exception):
    """The sink refused a whole batch and created nothing; the verdict says what to do with its rows."""

    def __init__(self, verdict: Verdict, message: str):
        super().__init__(message)
        self.verdict = verdict


class Sink(Protocol):
    """A destination of notifications. The outbox protocol (poller.delivery.protocol) is written against this alone.

    `send` raises UnknownOutcome when a request may have been applied (the rows are looked up before any resend),
    BatchRefused when nothing was created, Deferred or FatalError when the sink cannot be used for now (the rows
    stay pending); anything it refuses per row comes back in Sent.refused with a Verdict.
    """

    name: str  # the value of the outbox rows' `sink`
    label: str  # how logs and stored reasons name it ("HubSpot")
    parts: tuple[Part, ...]  # the parts of a row it sends, in order
    settle_time: float  # seconds after an uncertain send before a lookup can be trusted
    # Rows per send: as many as one request carries (HubSpot 100, SNS 10); 1 where each row is its own request (a
    # Slack webhook), so that a crash or a timeout leaves at most that one row uncertain.
    batch_size: int
    personal: bool  # it rings the owner's own bell, so owners' preferences and digests shape what it gets

    def takes_owner(self, owner_id: str) -> bool:
        """Whether a row routed to this owner is for this sink (its route's owners); if not, the row is dropped."""
        ...

    def needs_deal(self, part: Part) -> bool:
        """Whether this part can only go out with a deal to live on (a HubSpot note)."""
        ...

    def prepare(self) -> None:
        """Before a delivery pass: what every send relies on (HubSpot: where the event key is carried)."""
        ...

    def send(self, part: Part, rows: Sequence[OutboxRow], now: dt.datetime) -> Sent:
        """Create one batch of objects, each carrying its row's event key so that it can be found again."""
        ...

    def find_by_keys(self, part: Part, rows: Sequence[OutboxRow]) -> dict[str, str]:
        """The objects already created for these rows (all settled): {event key: object id}."""
        ...

    def settle_seconds(self, row: OutboxRow) -> float:
        """How long after an uncertain send of this row a lookup can be trusted."""
        ...

    def rekey(self, part: Part) -> None:
        """The sink refused how the event key is carried on this part: find it a new home before the next send."""
        ...

    def begin_run(self) -> None:
        """A run begins: forget what the last one learnt about the sink (what was re-checked)."""
        ...

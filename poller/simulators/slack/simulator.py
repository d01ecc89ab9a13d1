"""A Slack incoming webhook on loopback: posts checked as Slack checks them, answered with Slack's codes, recorded.

    200 ok                       posted
    400 invalid_payload          not JSON, or no text
    400 invalid_blocks           a block Slack would refuse (blockkit.py)
    404 no_service               no such webhook (revoked, mistyped)
    410 channel_is_archived      the webhook's channel was archived
    429 rate_limited             over `per_second` posts in a second on one webhook (Retry-After: 1)

Faults: `fail_next` answers a status instead of posting; `post_then_drop` posts and drops the connection before
answering (an uncertain send); `drop_before_post` drops it without posting.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from poller.simulators.server import LoopbackServer, Request, Response, Simulator
from poller.simulators.slack.blockkit import problem


@dataclass(frozen=True, slots=True, kw_only=True)
class Posted:
    """One message as it landed in the webhook's channel."""

    webhook: str  # the path, /services/T…/B…/…
    payload: dict[str, Any]
    at: float


class SlackSimulator(Simulator):
    def __init__(self, port: int = 0, *, per_second: int | None = None, clock: Callable[[], float] | None = None):
        self._clock = clock
        self._lock = threading.RLock()
        self._per_second = per_second
        self._webhooks: dict[str, str] = {}  # path → "active" | "archived"
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._posted: list[Posted] = []
        self.refusals: list[str] = []  # why each refused payload was refused (the detail Slack's answer leaves out)
        self._faults: list[list[Any]] = []  # [kind, status, body, times]; kind: fail | post_then_drop | drop
        self._server = LoopbackServer(self, port)

    def now(self) -> float:
        return self._clock() if self._clock is not None else time.time()

    # --- seeding and inspection
    def add_webhook(self) -> str:
        """A new webhook; returns its full URL (the secret)."""
        path = f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/{secrets.token_hex(12)}"
        with self._lock:
            self._webhooks[path] = "active"
        return self.url + path

    def archive_channel(self, url: str) -> None:
        with self._lock:
            self._webhooks[self._path(url)] = "archived"

    def unarchive_channel(self, url: str) -> None:
        with self._lock:
            self._webhooks[self._path(url)] = "active"

    def revoke(self, url: str) -> None:
        with self._lock:
            self._webhooks.pop(self._path(url), None)

    def posted(self, url: str | None = None) -> list[Posted]:
        with self._lock:
            return [p for p in self._posted if url is None or p.webhook == self._path(url)]

    def _path(self, url: str) -> str:
        return url.removeprefix(self.url)

    # --- faults
    def fail_next(self, status: int, body: str = "rollup_error", times: int = 1) -> None:
        with self._lock:
            self._faults.append(["fail", status, body, times])

    def post_then_drop(self, times: int = 1) -> None:
        with self._lock:
            self._faults.append(["post_then_drop", 0, "", times])

    def drop_before_post(self, times: int = 1) -> None:
        with self._lock:
            self._faults.append(["drop", 0, "", times])

    # --- the wire
    def handle(self, request: Request) -> Response:
        with self._lock:
            state = self._webhooks.get(request.path)
            if request.method != "POST":
                return _text(405, "invalid_method")
            if state is None:
                return _text(404, "no_service")
            if state == "archived":
                return _text(410, "channel_is_archived")
            fault = self._take_fault()
            if fault is not None and fault[0] == "fail":
                return _text(fault[1], fault[2], {"Retry-After": "1"} if fault[1] == 429 else None)
            if fault is not None and fault[0] == "drop":
                return Response(status=0, drop=True)
            if self._limited(request.path):
                return _text(429, "rate_limited", {"Retry-After": "1"})
            try:
                payload = json.loads(request.body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return _text(400, "invalid_payload")
            found = problem(payload)
            if found:
                self.refusals.append(found)
                return _text(400, found.split(":")[0])
            self._posted.append(Posted(webhook=request.path, payload=payload, at=self.now()))
            if fault is not None and fault[0] == "post_then_drop":
                return Response(status=200, drop=True)
            return _text(200, "ok")

    def _take_fault(self) -> list[Any] | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault[3] -= 1
        if fault[3] <= 0:
            self._faults.pop(0)
        return fault

    def _limited(self, path: str) -> bool:
        if self._per_second is None:
            return False
        now, recent = self.now(), self._recent[path]
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self._per_second:
            return True
        recent.append(now)
        return False


def _text(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=body.encode(), headers={"Content-Type": "text/html", **(headers or {})})

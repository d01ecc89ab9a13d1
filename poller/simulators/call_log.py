"""A compact, timestamped record of every call a simulator answered, for budget checks over long simulated runs.

The simulators' own `calls` list keeps each request body; over a simulated month (millions of reads) that is
gigabytes. `log_call_times` swaps it for parallel arrays of (time, operation, status) stamped by a caller's clock.
"""

from __future__ import annotations

import re
import threading
from array import array
from collections import Counter
from collections.abc import Callable
from typing import Any

from poller.simulators.server import Call

_ID = re.compile(r"/\d+(?=/|$)")
_TARGET_PREFIX = "AWSPartnerCentralSelling."


class CallLog:
    """Calls in arrival order: `times[i]` (clock seconds), `operations[i]` (an index into `names`), `statuses[i]`."""

    def __init__(self) -> None:
        self.times = array("d")
        self.operations = array("H")
        self.statuses = array("H")
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, at: float, operation: str, status: int) -> None:
        index = self._index.get(operation)
        if index is None:
            index = self._index[operation] = len(self.names)
            self.names.append(operation)
        self.times.append(at)
        self.operations.append(index)
        self.statuses.append(status)

    def __len__(self) -> int:
        return len(self.times)

    def counts(self) -> Counter[str]:
        return Counter(self.names[i] for i in self.operations)

    def times_of(self, keep: Callable[[str, int], bool] | None = None) -> list[float]:
        """Sorted call times, optionally only the calls `keep(operation, status)` accepts."""
        if keep is None:
            return sorted(self.times)
        return sorted(t for t, op, st in zip(self.times, self.operations, self.statuses, strict=True)
                      if keep(self.names[op], st))


def operation_of(call: Call) -> str:
    """`GetOpportunity` for Partner Central; `POST /crm/v3/objects/tasks/batch/create` (ids as {id}) for HubSpot."""
    if call.target:
        return call.target.removeprefix(_TARGET_PREFIX)
    return f"{call.method} {_ID.sub('/{id}', call.path)}"


def log_call_times(simulator: Any, clock: Callable[[], float], *, keep_calls: bool = False) -> CallLog:
    """From now on `simulator` records each call's time, operation and status in a CallLog (returned).

    With keep_calls False (the default) its `calls` list stops growing, so memory stays flat however long it runs.
    """
    log = CallLog()
    server = simulator._server  # noqa: SLF001 - the simulators' own recorder, replaced from inside the package
    original_record, original_handle = server.record, simulator.handle
    arrival = threading.local()  # each request is handled and recorded in its own server thread

    def handle(request: Any) -> Any:
        # Stamped on arrival, not when recorded: a hook may hold the answer (a kill waits for its process to die),
        # and the clock may have moved on by then.
        arrival.at = clock()
        return original_handle(request)

    def record(call: Call) -> None:
        log.add(getattr(arrival, "at", None) or clock(), operation_of(call), call.status)
        arrival.at = None
        if keep_calls:
            original_record(call)

    simulator.handle = handle
    server.record = record
    return log

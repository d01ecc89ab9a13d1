"""Fault injection for the Partner Central simulator: error answers, and raw bodies where a valid answer belongs."""

from __future__ import annotations

from dataclasses import dataclass

from poller.simulators.partner_central.wire import CONTENT_TYPE, ServiceError
from poller.simulators.server import Request, Response


@dataclass(slots=True)
class _Fault:
    operation: str
    error_type: str
    remaining: int
    status: int
    message: str
    identifier: str | None = None  # only calls naming this record (Identifier or RelatedOpportunityIdentifier)


def _identifiers(request: Request) -> set[str]:
    """The record ids a request names, for faults aimed at one record."""
    try:
        params = request.json()
    except ValueError:
        return set()
    if not isinstance(params, dict):
        return set()
    return {v for v in (params.get("Identifier"), params.get("RelatedOpportunityIdentifier")) if isinstance(v, str)}


class Faults:
    """What the next calls answer instead of the truth; the simulator holds its lock while asking."""

    def __init__(self) -> None:
        self._errors: list[_Fault] = []
        self._bodies: list[tuple[str, bytes]] = []

    def fail_next(self, operation: str, error_type: str, *, times: int, status: int, message: str,
                  identifier: str | None) -> None:
        self._errors.append(_Fault(operation, error_type, times, status, message, identifier))

    def answer_next(self, operation: str, body: bytes) -> None:
        self._bodies.append((operation, body))

    def raise_error(self, operation: str, request: Request) -> None:
        for fault in self._errors:
            if fault.operation in (operation, "*") and (fault.identifier is None or
                                                         fault.identifier in _identifiers(request)):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._errors.remove(fault)
                raise ServiceError(fault.error_type, fault.message, status=fault.status)

    def raw_body(self, operation: str) -> Response | None:
        for index, (wanted, body) in enumerate(self._bodies):
            if wanted in (operation, "*"):
                del self._bodies[index]
                return Response(status=200, body=body, headers={"Content-Type": CONTENT_TYPE,
                                                                "x-amzn-RequestId": "raw-answer"})
        return None

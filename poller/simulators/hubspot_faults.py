"""Injected faults: answer with an error without committing, commit then drop the connection, or a storm of 429s."""

from __future__ import annotations

from dataclasses import dataclass, field

from poller.simulators.server import Request


@dataclass(slots=True, kw_only=True)
class _Rule:
    path_contains: str
    times: int
    method: str | None = None
    status: int = 0

    def matches(self, request: Request) -> bool:
        return self.times > 0 and self.path_contains in request.path and (
            self.method is None or self.method.upper() == request.method)


@dataclass(slots=True)
class Faults:
    failures: list[_Rule] = field(default_factory=list)
    drops: list[_Rule] = field(default_factory=list)
    storm: int = 0

    def fail_next(self, path_contains: str, status: int, times: int, method: str | None) -> None:
        self.failures.append(_Rule(path_contains=path_contains, times=times, method=method, status=status))

    def commit_then_drop(self, path_contains: str, times: int) -> None:
        self.drops.append(_Rule(path_contains=path_contains, times=times))

    def take_storm(self) -> bool:
        if self.storm <= 0:
            return False
        self.storm -= 1
        return True

    def take_failure(self, request: Request) -> int | None:
        """The status to answer instead of processing, consuming one use of the first matching rule."""
        rule = _take(self.failures, request)
        return rule.status if rule else None

    def take_drop(self, request: Request) -> bool:
        return _take(self.drops, request) is not None


def _take(rules: list[_Rule], request: Request) -> _Rule | None:
    for rule in rules:
        if rule.matches(request):
            rule.times -= 1
            if rule.times <= 0:
                rules.remove(rule)
            return rule
    return None

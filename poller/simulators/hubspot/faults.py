"""Injected faults: an error without committing, commit then drop the connection, a storm of 429s, or a test's hook.

A hook runs just before or just after a request commits (to kill a client at an exact point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from poller.simulators.server import Request, Response

# A hook returns True to drop the connection: before the commit, the request is then never processed; after it, the
# request stays committed but the client never hears back.
BeforeCommit = Callable[[Request], bool | None]
AfterCommit = Callable[[Request, Response], bool | None]


@dataclass(slots=True, kw_only=True)
class _Rule:
    path_contains: str
    times: int
    method: str | None = None
    status: int = 0

    def matches(self, request: Request) -> bool:
        return self.times > 0 and self.path_contains in request.path and (
            self.method is None or self.method.upper() == request.method)


@dataclass(slots=True, kw_only=True)
class _Hook(_Rule):
    before_commit: BeforeCommit | None = None
    after_commit: AfterCommit | None = None


@dataclass(slots=True)
class Faults:
    failures: list[_Rule] = field(default_factory=list)
    drops: list[_Rule] = field(default_factory=list)
    hooks: list[_Hook] = field(default_factory=list)
    storm: int = 0

    def on_request(self, path_contains: str, times: int, method: str | None, before_commit: BeforeCommit | None,
                   after_commit: AfterCommit | None) -> None:
        self.hooks.append(_Hook(path_contains=path_contains, times=times, method=method, before_commit=before_commit,
                                after_commit=after_commit))

    def take_hook(self, request: Request) -> _Hook | None:
        """The first matching hook, consuming one of its uses."""
        return _take(self.hooks, request)

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


R = TypeVar("R", bound=_Rule)


def _take(rules: list[R], request: Request) -> R | None:
    for rule in rules:
        if rule.matches(request):
            rule.times -= 1
            if rule.times <= 0:
                rules.remove(rule)
            return rule
    return None

"""HubSpot CRM simulator: the real hubspot-api-client talks to it over loopback HTTP; tests seed, inspect and break it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from poller.simulators.hubspot.faults import AfterCommit, BeforeCommit, Faults
from poller.simulators.hubspot.late import LateCommits, object_ids
from poller.simulators.hubspot.meta import delete_property
from poller.simulators.hubspot.ratelimit import RateLimiter
from poller.simulators.hubspot.routes import match
from poller.simulators.hubspot.store import CrmStore, Ctx, Owner
from poller.simulators.hubspot.wire import ApiError, error_body, json_response, rate_limit_body
from poller.simulators.server import LoopbackServer, Request, Response, Simulator

__all__ = ["HubSpotSimulator"]

AUTH_MESSAGE = ("Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
                "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
SCOPES_MESSAGE = ("This app hasn't been granted all required scopes to make this call. Read more about required "
                  "scopes here: https://developers.hubspot.com/scopes.")


class HubSpotSimulator(Simulator):
    """An in-memory portal with tasks, notes, deals, owners and properties behind HubSpot's v3/v4 REST paths."""

    def __init__(self, port: int = 0, *, token: str | None = "sim-token", rate_limit: int = 100,
                 rate_window: float = 10.0, daily_limit: int = 250_000, search_lag: float = 0.0,
                 allow_custom_properties: bool = True, allow_unique_on_activities: bool = False,
                 granted_scopes: set[str] | None = None, clock: Callable[[], float] | None = None):
        self.token = token
        self.granted_scopes = None if granted_scopes is None else set(granted_scopes)
        self._clock = clock
        self._lock = threading.RLock()
        self._store = CrmStore(search_lag=search_lag, allow_custom_properties=allow_custom_properties,
                               allow_unique_on_activities=allow_unique_on_activities)
        self._limiter = RateLimiter(limit=rate_limit, window=rate_window, daily_limit=daily_limit)
        self._faults = Faults()
        self._late = LateCommits()
        self._server = LoopbackServer(self, port)

    def call_count(self, path_prefix: str | None = None, method: str | None = None) -> int:
        return sum(1 for call in list(self.calls)
                   if (path_prefix is None or call.path.startswith(path_prefix))
                   and (method is None or call.method == method.upper()))

    def now(self) -> float:
        # Read at call time (not bound at construction) so freezegun's patched time.time is the one used.
        return self._clock() if self._clock is not None else time.time()

    # --- seeding and inspection
    def add_owner(self, owner_id: str, email: str, first_name: str = "", last_name: str = "", *,
                  archived: bool = False, user_id: int | None = None, kind: str = "PERSON") -> None:
        with self._lock:
            now = self.now()
            uid = user_id if user_id is not None else 9_000_000 + len(self._store.owners) + 1
            self._store.owners[str(owner_id)] = Owner(id=str(owner_id), email=email, first_name=first_name,
                                                      last_name=last_name, user_id=uid, archived=archived,
                                                      created=now, updated=now, type=kind)

    def archive_owner(self, owner_id: str) -> None:
        with self._lock:
            owner = self._store.owner(str(owner_id))
            owner.archived, owner.updated = True, self.now()

    def add_deal(self, deal_id: str, **properties: Any) -> None:
        """Seed a deal as a user would have made it: no validation, so it may name an unknown or archived owner."""
        with self._lock:
            now = self.now()
            values = self._store.normalize_seed("deals", properties, now)
            self._store.create("deals", {k: v for k, v in values.items() if v != ""}, [], now, object_id=str(deal_id))

    def update_deal(self, deal_id: str, **properties: Any) -> None:
        with self._lock:
            now = self.now()
            self._store.update("deals", str(deal_id), self._store.normalize_seed("deals", properties, now), now)

    def remove_deal(self, deal_id: str) -> None:
        with self._lock:
            self._store.remove("deals", str(deal_id))

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        with self._lock:
            self._late.release_due(self._store, self.now())
            return self._store.snapshot(object_type)

    def tasks(self) -> list[dict[str, Any]]:
        return self.objects("tasks")

    def notes(self) -> list[dict[str, Any]]:
        return self.objects("notes")

    # --- faults and limits
    def fail_next(self, path_contains: str, status: int = 500, *, times: int = 1, method: str | None = None) -> None:
        with self._lock:
            self._faults.fail_next(path_contains, status, times, method)

    def commit_then_drop(self, path_contains: str, *, times: int = 1) -> None:
        with self._lock:
            self._faults.commit_then_drop(path_contains, times)

    def commit_late(self, path_contains: str, *, delay: float = 45.0, times: int = 1) -> None:
        """The next `times` matching requests are processed but answered with a dropped connection, as when the
        client times out on a slow create; what they created becomes visible `delay` seconds later (simulator clock).
        """
        with self._lock:
            self._late.arm(path_contains, delay, times)

    def delete_property(self, object_type: str, name: str) -> None:
        """What an admin does in Settings → Properties: the definition goes, and with it every object's value."""
        with self._lock:
            delete_property(self._store, object_type, name)

    def on_request(self, path_contains: str, *, before_commit: BeforeCommit | None = None,
                   after_commit: AfterCommit | None = None, times: int = 1, method: str | None = None) -> None:
        """Call a hook on the next `times` matching requests that get past auth and the rate limit.

        `before_commit(request)` runs before the request is processed, `after_commit(request, response)` after it
        committed and before the answer is sent. Either may return True to drop the connection: before the commit
        the request is then never processed; after it the request stays committed and the client never hears back.
        Hooks run under the simulator's lock, so they see (and may change) a consistent portal.
        """
        with self._lock:
            self._faults.on_request(path_contains, times, method, before_commit, after_commit)

    def clear_hooks(self) -> None:
        """Forget every on_request hook not used up yet."""
        with self._lock:
            self._faults.hooks.clear()

    def storm_429(self, times: int) -> None:
        with self._lock:
            self._faults.storm += times

    def set_rate_limit(self, limit: int, window: float = 10.0) -> None:
        with self._lock:
            self._limiter.limit, self._limiter.window = limit, window

    def set_search_rate_limit(self, limit: int | None, window: float = 1.0) -> None:
        """Turn on HubSpot's separate search limit (off by default; see RateLimiter.search_limit)."""
        with self._lock:
            self._limiter.search_limit, self._limiter.search_window = limit, window

    def set_daily_limit(self, limit: int) -> None:
        """The portal's daily request allowance; past it every call gets a 429 with policyName DAILY."""
        with self._lock:
            self._limiter.daily_limit = limit

    def max_requests_in_window(self) -> int:
        with self._lock:
            return self._limiter.max_in_window

    def daily_usage(self) -> int:
        with self._lock:
            return self._limiter.daily_used(self.now())

    # --- HTTP
    def handle(self, request: Request) -> Response:
        with self._lock:
            now = self.now()
            self._late.release_due(self._store, now)
            return self._handle(request, now)

    def _handle(self, request: Request, now: float) -> Response:
        token = _bearer(request)
        if token is None or (self.token is not None and token != self.token):
            return json_response(401, error_body(401, AUTH_MESSAGE))
        found = match(request.method, request.path)
        if found is None:
            return json_response(404, error_body(404, f"No route for {request.method} {request.path}"))
        route, params = found
        try:
            self._check_scopes(route.scopes(params))
        except ApiError as exc:
            return json_response(exc.status, exc.body)
        if self._faults.take_storm():
            return self._refuse("TEN_SECONDLY_ROLLING", token, now, route.search)
        policy = self._limiter.admit(token, now, search=route.search)
        if policy is not None:
            return self._refuse(policy, token, now, route.search)
        headers = {} if route.search else self._limiter.headers(token, now)
        status = self._faults.take_failure(request)
        if status is not None:
            body = rate_limit_body() if status == 429 else error_body(status, _fault_message(status))
            return _with(json_response(status, body), headers)
        hook = self._faults.take_hook(request)
        if hook is not None and hook.before_commit is not None and hook.before_commit(request):
            return Response(status=0, drop=True)  # never processed, and the client never hears back
        late = self._late.take(request)
        before = object_ids(self._store) if late is not None else {}
        try:
            response = route.handler(Ctx(store=self._store, request=request, params=params, now=now))
        except ApiError as exc:
            response = json_response(exc.status, exc.body)
        if late is not None and response.status < 300:
            self._late.hold(self._store, before, now, late)
            return Response(status=response.status, drop=True)  # still processing when the client gave up
        if hook is not None and hook.after_commit is not None and hook.after_commit(request, response):
            return Response(status=response.status, drop=True)
        if self._faults.take_drop(request):
            return Response(status=response.status, drop=True)  # committed, but the client never hears back
        return _with(response, headers)

    def _check_scopes(self, any_of: tuple[str, ...]) -> None:
        if self.granted_scopes is None or not any_of or self.granted_scopes & set(any_of):
            return
        raise ApiError(403, SCOPES_MESSAGE, "MISSING_SCOPES", links={"scopes": "https://developers.hubspot.com/scopes"},
                       errors=[{"message": "One or more of the following scopes are required.",
                                "context": {"requiredGranularScopes": list(any_of)}}])

    def _refuse(self, policy: str, token: str, now: float, search: bool) -> Response:
        """A 429 commits nothing; it still reports the window (searches never carry the headers)."""
        headers = {} if search else self._limiter.headers(token, now)
        return _with(json_response(429, rate_limit_body(policy)), headers)


def _bearer(request: Request) -> str | None:
    for name, value in request.headers.items():
        if name.lower() == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer "):].strip() or None
    return None


def _with(response: Response, headers: dict[str, str]) -> Response:
    response.headers.update(headers)
    return response


def _fault_message(status: int) -> str:
    if status >= 500:
        return "internal error"
    return {423: "The resource is locked; retry in a few seconds", 477: "Migration in progress"}.get(
        status, "Injected failure")

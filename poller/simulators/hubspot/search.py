"""CRM search: filterGroups (OR of ANDed filters), sorting, offset paging and the index lag that hides fresh writes."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from poller.simulators.hubspot.schema import object_type
from poller.simulators.hubspot.store import CrmObject, Ctx
from poller.simulators.hubspot.wire import ApiError, body_json, json_response, offset_after, to_epoch_ms
from poller.simulators.server import Response

MAX_LIMIT = 200
MAX_RESULTS = 10_000  # HubSpot refuses to page past 10,000 results of one query
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
_WORD = re.compile(r"\w+")

Key = float | str | None


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _contains_token(text: str | None, wanted: str) -> bool:
    """Token match: every word of `wanted` is a word of the value; `*` wildcards match within a token or the value."""
    if not text:
        return False
    tokens = _tokens(text)
    pattern = wanted.lower()
    if "*" in pattern:
        return fnmatch.fnmatchcase(text.lower(), pattern) or any(fnmatch.fnmatchcase(t, pattern) for t in tokens)
    needles = _tokens(pattern)
    return bool(needles) and all(needle in tokens for needle in needles)


class _Matcher:
    """Compiles one search request against the store's property types."""

    def __init__(self, ctx: Ctx, kind: str):
        self.ctx, self.kind = ctx, kind
        self.props = ctx.store.properties[kind]

    def key(self, name: str, text: Any) -> Key:
        if text is None or text == "":
            return None
        kind = "number" if name == "hs_object_id" else self.props[name]["type"]
        if kind in ("datetime", "date"):
            return to_epoch_ms(str(text))
        if kind == "number":
            try:
                return float(text)
            except ValueError:
                return None
        return str(text).lower()

    def value(self, obj: CrmObject, name: str) -> str | None:
        return obj.id if name == "hs_object_id" else obj.properties.get(name)

    def filter(self, spec: dict[str, Any]) -> Callable[[CrmObject], bool]:
        name, operator = spec.get("propertyName", ""), spec.get("operator", "EQ")
        if name.startswith("associations."):
            to_kind = object_type(name.split(".", 1)[1])
            wanted = str(spec.get("value", ""))
            return lambda obj: any(to_id == wanted for to_id, _ in self.ctx.store.associated(self.kind, obj.id, to_kind))
        if name not in self.props:
            raise ApiError(400, f"There was a problem with the request. Property {name} does not exist",
                           context={"propertyName": [name]})
        target = self.key(name, spec.get("value"))
        targets = [self.key(name, value) for value in spec.get("values") or []]
        high = self.key(name, spec.get("highValue"))

        def ordered(test: Callable[[Any, Any], bool]) -> Callable[[CrmObject], bool]:
            def check(obj: CrmObject) -> bool:
                have = self.key(name, self.value(obj, name))
                return have is not None and target is not None and type(have) is type(target) and test(have, target)
            return check

        present = lambda obj: self.value(obj, name) not in (None, "")  # noqa: E731
        current = lambda obj: self.key(name, self.value(obj, name))  # noqa: E731
        operators: dict[str, Callable[[CrmObject], bool]] = {
            "EQ": lambda obj: current(obj) is not None and current(obj) == target,
            "NEQ": lambda obj: current(obj) != target,
            "IN": lambda obj: current(obj) is not None and current(obj) in targets,
            "NOT_IN": lambda obj: current(obj) not in targets,
            "GT": ordered(lambda a, b: a > b), "GTE": ordered(lambda a, b: a >= b),
            "LT": ordered(lambda a, b: a < b), "LTE": ordered(lambda a, b: a <= b),
            "BETWEEN": lambda obj: (current(obj) is not None and target is not None and high is not None
                                    and target <= current(obj) <= high),  # type: ignore[operator]
            "HAS_PROPERTY": present,
            "NOT_HAS_PROPERTY": lambda obj: not present(obj),
            "CONTAINS_TOKEN": lambda obj: _contains_token(self.value(obj, name), str(spec.get("value", ""))),
            "NOT_CONTAINS_TOKEN": lambda obj: not _contains_token(self.value(obj, name), str(spec.get("value", ""))),
        }
        if operator not in operators:
            raise ApiError(400, f"Unknown filter operator: {operator}", context={"operator": [str(operator)]})
        return operators[operator]

    def query(self, text: str) -> Callable[[CrmObject], bool]:
        needles = _tokens(text)
        strings = [name for name, prop in self.props.items() if prop["type"] == "string"]
        return lambda obj: all(needle in _tokens(" ".join(obj.properties.get(n, "") for n in strings))
                               for needle in needles)


def _groups(body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    groups = [list(group.get("filters") or []) for group in body.get("filterGroups") or []]
    if len(groups) > MAX_GROUPS or any(len(g) > MAX_FILTERS_PER_GROUP for g in groups) or \
            sum(len(g) for g in groups) > MAX_FILTERS:
        raise ApiError(400, f"Too many filters: at most {MAX_GROUPS} filterGroups of {MAX_FILTERS_PER_GROUP} "
                            f"filters, {MAX_FILTERS} filters in total")
    return groups


def _sort_key(matcher: _Matcher, sorts: list[Any]) -> tuple[Callable[[CrmObject], Any], bool]:
    name, descending = "hs_object_id", False
    if sorts:  # HubSpot honours one sort rule
        first = sorts[0]
        if isinstance(first, str):
            name, descending = first.lstrip("-"), first.startswith("-")
        else:
            name, descending = first.get("propertyName", name), first.get("direction") == "DESCENDING"
    if name != "hs_object_id" and name not in matcher.props:
        raise ApiError(400, f"Cannot sort by unknown property {name}")

    def key(obj: CrmObject) -> Any:
        value = matcher.key(name, matcher.value(obj, name))
        # Unset values sort last either way; ids break ties so paging is stable.
        return (value is None) != descending, value if value is not None else 0, matcher.key("hs_object_id", obj.id)

    return key, descending


def search(ctx: Ctx) -> Response:
    kind = object_type(ctx.params["type"])
    body = body_json(ctx.request) or {}
    limit = body.get("limit") or 10
    if not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}", context={"limit": [str(limit)]})
    offset = offset_after(str(body.get("after") or ""))
    if offset + limit > MAX_RESULTS:
        raise ApiError(400, f"Paging past {MAX_RESULTS} results is not supported")
    matcher = _Matcher(ctx, kind)
    groups = [[matcher.filter(spec) for spec in group] for group in _groups(body)]
    text = matcher.query(body["query"]) if body.get("query") else None
    lag = ctx.store.search_lag
    # Index lag: a write becomes searchable `search_lag` seconds after it happened.
    visible = [obj for obj in ctx.store.objects[kind].values() if ctx.now - obj.updated >= lag]
    hits = [obj for obj in visible
            if (not groups or any(all(test(obj) for test in group) for group in groups))
            and (text is None or text(obj))]
    key, descending = _sort_key(matcher, list(body.get("sorts") or []))
    hits.sort(key=key, reverse=descending)
    page = hits[offset:offset + limit]
    names = list(body.get("properties") or [])
    payload: dict[str, Any] = {"total": len(hits), "results": [ctx.store.public(kind, obj, names) for obj in page]}
    if offset + limit < len(hits):
        payload["paging"] = {"next": {"after": str(offset + limit)}}
    return json_response(200, payload)

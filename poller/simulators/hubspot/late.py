"""A fault HubSpot shows under load: a create still being processed after the client gave up, stored only later.

The request is answered by a dropped connection (the client sees a timeout-like disconnect); the objects it made
become visible `delay` seconds later on the simulator's clock, so a test moves its clock past them instead of sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from poller.simulators.hubspot.store import CrmObject, CrmStore, Edge
from poller.simulators.server import Request


@dataclass(slots=True, kw_only=True)
class _Held:
    object_type: str
    obj: CrmObject
    edges: list[Edge]
    visible_at: float


@dataclass(slots=True, kw_only=True)
class _Rule:
    path_contains: str
    delay: float
    times: int


@dataclass(slots=True)
class LateCommits:
    rules: list[_Rule] = field(default_factory=list)
    held: list[_Held] = field(default_factory=list)

    def arm(self, path_contains: str, delay: float, times: int) -> None:
        self.rules.append(_Rule(path_contains=path_contains, delay=delay, times=times))

    def take(self, request: Request) -> float | None:
        """The delay of the first rule this request matches (consuming one use), or None."""
        for rule in self.rules:
            if rule.times > 0 and rule.path_contains in request.path:
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
                return rule.delay
        return None

    def hold(self, store: CrmStore, before: dict[str, set[str]], now: float, delay: float) -> int:
        """Take the objects created since `before` (ids per type) out of sight until now + delay; return how many."""
        count = 0
        for object_type, ids in before.items():
            for object_id in [i for i in store.objects[object_type] if i not in ids]:
                obj = store.objects[object_type][object_id]
                edges = [(to_type, to_id, type_id) for (to_type, to_id), types in
                         store.links.get((object_type, object_id), {}).items() for type_id in types]
                store.remove(object_type, object_id)
                self.held.append(_Held(object_type=object_type, obj=obj, edges=edges, visible_at=now + delay))
                count += 1
        return count

    def release_due(self, store: CrmStore, now: float) -> None:
        """Store what HubSpot finished processing by `now`, with its associations, under the ids it was given."""
        due = [h for h in self.held if h.visible_at <= now]
        for item in due:
            self.held.remove(item)
            store.objects[item.object_type][item.obj.id] = item.obj
            for to_type, to_id, type_id in item.edges:
                if store.exists(to_type, to_id):
                    store.associate(item.object_type, item.obj.id, to_type, to_id, type_id)


def object_ids(store: CrmStore) -> dict[str, set[str]]:
    return {object_type: set(objects) for object_type, objects in store.objects.items()}

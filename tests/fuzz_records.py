"""A seeded generator of Partner Central answers driven by botocore's model: valid noise, and one known breakage.

Valid noise follows each member's shape (unknown enum values, odd Unicode, lone surrogates, bidi, NUL, HTML,
huge strings, numbers where text belongs, missing members, unknown members). A breakage is one of the ways the
poller's rule calls a record broken: a value of the wrong JSON type at a random depth (a structure, list, map,
union, timestamp, text, number or flag that is not one), a Get answer without its Id, or an opportunity whose
LifeCycle has neither Stage nor ReviewStatus (incomplete). The generator says which it did, so the test knows,
independently of the poller's code, which records must be named and which changes must arrive.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import Shape

MODEL = botocore.session.get_session().get_service_model("partnercentral-selling")
SHAPES = {
    "GetOpportunity": MODEL.operation_model("GetOpportunity").output_shape,
    "GetAwsOpportunitySummary": MODEL.operation_model("GetAwsOpportunitySummary").output_shape,
    "ListOpportunities": MODEL.shape_for("OpportunitySummary"),
    "ListEngagementInvitations": MODEL.shape_for("EngagementInvitationSummary"),
    "GetEngagementInvitation": MODEL.operation_model("GetEngagementInvitation").output_shape,
}
# What decides the change under test (and the record's identity): never touched by noise or breakage.
PROTECTED = {
    "GetOpportunity": {"Id", "Catalog", "LastModifiedDate", "PartnerOpportunityIdentifier", "LifeCycle.ReviewStatus"},
    "GetAwsOpportunitySummary": {"Catalog", "RelatedOpportunityId"},
    "ListOpportunities": {"Id", "Catalog", "LastModifiedDate"},
    "ListEngagementInvitations": {"Id", "Catalog", "Status", "InvitationDate", "PayloadType", "ParticipantType"},
    "GetEngagementInvitation": {"Id", "Catalog", "Status", "PayloadType"},
}
WORDS = ["Acme", "data", "lake", "migration", "co-sell", "Ünïcödé", "日本語", "שלום", "مرحبا", "🚀", "O'Neil & Sons"]
ODD = ["\ud800", "\udfff", "\u202e", "\u2066", "\u200b", "\x00", "\x07", "\x1b[31m", "\r\n", "\t", "e\u0301",
       "<script>alert('x')</script>", "<b>bold</b>", "&amp;", "\"quoted\"", "\\", "\uffff", "\U0001f600"]
WRONG = {  # JSON values of every type, by what they must not be
    "structure": ["oops", 5, [1, 2], True], "map": ["oops", 7, ["k"], False],
    "list": ["x", 5, {"a": 1}, True],
    "timestamp": ["not-a-date", "", "yesterday", "2026-13-45T00:00:00Z", True, {"t": 1}, [2026], 1e300],
    "string": [{"a": 1}, ["text"], True], "integer": ["5", 5.5, True, {}], "long": ["5", [], True],
    "double": ["x", True, {}], "float": ["x", False], "boolean": ["true", 1, {}],
}


@dataclass(frozen=True, slots=True)
class Breakage:
    path: str
    how: str  # "wrong type" | "missing Id" | "incomplete"


class Fuzzer:
    """Random answers for one seed: `rng` decides everything, so a seed reproduces a run."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    # --- valid values ---------------------------------------------------------------------------------------------

    def text(self) -> str | int | float:
        roll = self.rng.random()
        if roll < 0.02:  # huge: past HubSpot's 65,536-character body limit
            return self.rng.choice(WORDS) * self.rng.randint(10_000, 20_000)
        if roll < 0.07:
            return self.rng.choice([42, 3.5, 0, -1])  # a number where text belongs reads as its text
        parts = [self.rng.choice(WORDS + ODD) for _ in range(self.rng.randint(1, 6))]
        return " ".join(parts)

    def timestamp(self) -> str | float:
        moment = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.rng.randint(0, 3_000_000_000))
        roll = self.rng.random()
        if roll < 0.15:
            return round(moment.timestamp(), self.rng.choice([0, 3]))  # epoch seconds
        digits = self.rng.choice([0, 3, 6, 9])
        fraction = ("." + "".join(self.rng.choice("0123456789") for _ in range(digits))) if digits else ""
        offset = self.rng.choice(["Z", "+00:00", "+05:30", "-08:00"])
        local = moment.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)) if offset == "+05:30" else
                                  dt.timezone(dt.timedelta(hours=-8)) if offset == "-08:00" else dt.UTC)
        return local.strftime("%Y-%m-%dT%H:%M:%S") + fraction + offset

    def value(self, shape: Shape, depth: int = 0) -> Any:
        kind = shape.type_name
        if kind == "structure":
            members = list(shape.members.items())
            if shape.metadata.get("union"):
                name, member = self.rng.choice(members)
                return {name: self.value(member, depth + 1)}
            chosen = [m for m in members if depth < 3 and self.rng.random() < 0.4]
            found = {name: self.value(member, depth + 1) for name, member in chosen}
            if self.rng.random() < 0.1:
                found["UnknownMemberAddedByAws"] = self.text()  # botocore drops members it does not know
            return found
        if kind == "list":
            return [self.value(shape.member, depth + 1) for _ in range(self.rng.randint(0, 2 if depth < 3 else 0))]
        if kind == "map":
            return {str(self.text())[:30]: self.value(shape.value, depth + 1) for _ in range(self.rng.randint(0, 2))}
        if kind == "timestamp":
            return self.timestamp()
        if kind == "string":
            enum = shape.metadata.get("enum")
            if enum and self.rng.random() < 0.7:
                return self.rng.choice(enum)
            return f"Unknown {self.rng.randint(1, 99)}" if enum and self.rng.random() < 0.5 else self.text()
        if kind in ("integer", "long"):
            return self.rng.randint(-5, 10**6)
        if kind in ("double", "float"):
            return self.rng.uniform(-1e6, 1e6)
        if kind == "boolean":
            return self.rng.random() < 0.5
        return None

    # --- where to change a record ---------------------------------------------------------------------------------

    def path(self, shape: Shape, protected: set[str], *, breakable: bool) -> list[tuple[str, Shape]]:
        """A random walk down the model from the record: [(member name, its shape), …], avoiding protected paths.

        Noise never stops on a block that holds a protected member (replacing it would change that member too).
        """
        holders = {p.rsplit(".", 1)[0] for p in protected if "." in p}
        walk: list[tuple[str, Shape]] = []
        here, prefix = shape, ""
        while True:
            names = [n for n in here.members if f"{prefix}{n}" not in protected]
            if not names:
                return walk
            name = self.rng.choice(names)
            member = here.members[name]
            walk.append((name, member))
            must_descend = not breakable and f"{prefix}{name}" in holders
            prefix = f"{prefix}{name}."
            inner = member.member if member.type_name == "list" else member
            keep_going = inner.type_name == "structure" and not inner.metadata.get("union") and inner.members
            if not must_descend and (not keep_going or self.rng.random() < (0.5 if breakable else 0.6)
                                     or len(walk) > 4):
                if breakable and inner.metadata.get("union") and self.rng.random() < 0.5:
                    walk.append(("", inner))  # the union itself, not one of its members
                return walk
            here = inner

    def noise(self, record: dict[str, Any], operation: str, times: int) -> dict[str, Any]:
        """`record` with `times` members set to random valid values (or removed), per the model."""
        shape, protected = SHAPES[operation], PROTECTED[operation]
        out = copy.deepcopy(record)
        for _ in range(times):
            walk = self.path(shape, protected, breakable=False)
            if walk:
                new = None if self.rng.random() < 0.15 else self.value(walk[-1][1], len(walk))
                _set(out, walk, new, self.rng)
        return out

    def break_one(self, record: dict[str, Any], operation: str) -> tuple[dict[str, Any], Breakage]:
        """`record` broken in exactly one way the rule names."""
        out = copy.deepcopy(record)
        roll = self.rng.random()
        if operation == "GetOpportunity" and roll < 0.15:
            life = out.get("LifeCycle") if isinstance(out.get("LifeCycle"), dict) else {}
            out["LifeCycle"] = None if self.rng.random() < 0.5 else {
                k: v for k, v in life.items() if k not in ("Stage", "ReviewStatus")}
            return out, Breakage("LifeCycle", "incomplete")
        if operation.startswith("Get") and "Id" in SHAPES[operation].members and roll < 0.25:
            out.pop("Id", None)
            return out, Breakage("Id", "missing Id")
        walk = []
        while not walk:
            walk = self.path(SHAPES[operation], PROTECTED[operation], breakable=True)
        target = walk[-1][1]
        kind = "structure" if target.metadata.get("union") else target.type_name
        if walk[-1][0] == "" and self.rng.random() < 0.5:
            wrong: Any = {} if self.rng.random() < 0.5 else {n: self.value(m, 3) for n, m in
                                                              list(target.members.items())[:2]}
            if len(wrong) == 1:
                wrong = {}
        else:
            wrong = self.rng.choice(WRONG[kind])
        _set(out, walk, wrong, self.rng)
        return out, Breakage(".".join(n for n, _ in walk if n), "wrong type")


def _set(record: dict[str, Any], walk: list[tuple[str, Shape]], value: Any, rng: random.Random) -> None:
    """Put `value` at `walk` in `record`, making the structures and list items on the way as the model has them."""
    here: Any = record
    steps = [(name, shape) for name, shape in walk if name]  # ("", union) means the union member itself
    for index, (name, shape) in enumerate(steps):
        last = index == len(steps) - 1
        if last:
            here[name] = value
            return
        if shape.type_name == "list":
            items = here.get(name)
            if not isinstance(items, list) or not items or not isinstance(items[0], dict):
                items = [{}]
                here[name] = items
            index = rng.randrange(len(items))
            if not isinstance(items[index], dict):
                items[index] = {}
            here = items[index]
        else:
            child = here.get(name)
            if not isinstance(child, dict):
                child = {}
                here[name] = child
            here = child

"""Business rules as one frozen value: priorities, due hours, thresholds, muted kinds, the link, the templates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from poller.core.model import KINDS, PRIORITIES
from poller.core.notes.parts import Templates

V = TypeVar("V")


class FrozenMap(Mapping[str, V]):
    """A read-only, hashable mapping, so RuleConfig can be frozen, hashed and compared by value."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, V] | None = None):
        self._data: dict[str, V] = dict(data or {})

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


# DESIGN §3. engagement_score_changed's priority depends on the change; the entry here is the one used for
# score values that are neither tiers nor numbers.
DEFAULT_PRIORITY = {
    "new_opportunity": "HIGH",
    "opportunity_updated": "MEDIUM",
    "engagement_score_changed": "MEDIUM",
    "review_approved": "HIGH",
    "review_action_required": "HIGH",
    "review_rejected": "MEDIUM",
    "submission_confirmed": "MEDIUM",
    "aws_seller_assigned": "HIGH",
    "resources_available": "LOW",
    "conflict_detected": "HIGH",
    # The 2026 signals. quality_changed: this for a drop or a Declining trend, HIGH into the lowest band, LOW for a
    # rise; recommendation_added: MEDIUM (at least) for a specialist; funding_decision: MEDIUM for a rejection.
    "quality_changed": "MEDIUM",
    "recommendation_added": "LOW",
    "cosell_motion_changed": "MEDIUM",
    "invitation_expiring": "HIGH",
    "action_required_overdue": "HIGH",
    "funding_decision": "HIGH",
    "funding_expiring": "HIGH",
}
# Kinds missing here (engagement_score_changed) always take their due time from due_hours_by_priority.
DEFAULT_DUE_HOURS = {
    "new_opportunity": 24,
    "opportunity_updated": 72,
    "review_approved": 24,
    "review_action_required": 48,
    "review_rejected": 72,
    "submission_confirmed": 72,
    "aws_seller_assigned": 24,
    "resources_available": 168,
    "conflict_detected": 12,
    "quality_changed": 72,
    "recommendation_added": 168,
    "cosell_motion_changed": 72,
    "invitation_expiring": 24,
    "action_required_overdue": 24,
    "funding_decision": 48,
    "funding_expiring": 24,
}
DEFAULT_DUE_BY_PRIORITY = {"HIGH": 24, "MEDIUM": 72, "LOW": 168}
# An invitation's task is due at least this long before the invitation expires (AWS referrals live 15 days).
INVITATION_EXPIRY_MARGIN_HOURS = 12
CONFLICT_FIELDS = frozenset({"title", "expected_spend", "target_close_date"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleConfig:
    """Everything an operator may tune about which events are raised, how urgent they are, where they link and how
    they are worded."""

    priority: FrozenMap[str] = field(default_factory=lambda: FrozenMap(DEFAULT_PRIORITY))
    due_hours: FrozenMap[int] = field(default_factory=lambda: FrozenMap(DEFAULT_DUE_HOURS))
    due_hours_by_priority: FrozenMap[int] = field(default_factory=lambda: FrozenMap(DEFAULT_DUE_BY_PRIORITY))
    score_change_threshold: float = 10
    high_engagement_score: float = 80
    conflict_reraise_hours: float = 24
    invitation_expiry_margin_hours: float = INVITATION_EXPIRY_MARGIN_HOURS
    muted_kinds: frozenset[str] = frozenset()
    partner_central_url: str = "https://partnercentral.awspartner.com/partnercentral2/s/opportunity?id={id}"
    seller_titles_high: tuple[str, ...] = ("AWSSalesRep", "AWSAccountOwner")
    # Snapshot fields compared with their deal counterpart for conflicts (which deal property: the adapter's mapping).
    conflict_fields: frozenset[str] = CONFLICT_FIELDS
    # How notifications are worded: compiled templates, loaded at the edge (poller.templates). Not compared: rules
    # are equal by their values; the same templates loaded twice are two objects.
    templates: Templates | None = field(default=None, compare=False)
    # The 2026 signals (README "What it notifies"): quality band edges (scores 0–100) and the points a score must go
    # past an edge to change band; AWS team roles that sign the deal terms; reminder and escalation times.
    quality_bands: tuple[int, ...] = (40, 70)
    quality_hysteresis: float = 5
    signatory_titles: tuple[str, ...] = ("Signatory",)
    invitation_reminder_hours: float = 48
    action_required_after_hours: float = 72
    action_required_every_hours: float = 72
    funding_expiry_hours: float = 14 * 24

    def __post_init__(self) -> None:
        # Coerce plain dicts/sets/lists given by callers, then fail early with a message naming the bad entry.
        for name in ("priority", "due_hours", "due_hours_by_priority"):
            value = getattr(self, name)
            if not isinstance(value, FrozenMap):
                object.__setattr__(self, name, FrozenMap(value))
        object.__setattr__(self, "muted_kinds", frozenset(self.muted_kinds))
        object.__setattr__(self, "seller_titles_high", tuple(self.seller_titles_high))
        object.__setattr__(self, "conflict_fields", frozenset(self.conflict_fields))
        object.__setattr__(self, "quality_bands", tuple(self.quality_bands))
        object.__setattr__(self, "signatory_titles", tuple(self.signatory_titles))
        _check_signals(self)
        if self.conflict_fields - CONFLICT_FIELDS:
            raise ValueError(f"conflict_fields: unknown field(s) {sorted(self.conflict_fields - CONFLICT_FIELDS)}")
        for name in ("priority", "due_hours"):
            unknown = set(getattr(self, name)) - set(KINDS)
            if unknown:
                raise ValueError(f"{name}: unknown event kind(s) {sorted(unknown)}")
        unknown = set(self.muted_kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"muted_kinds: unknown event kind(s) {sorted(unknown)}")
        bad = {k: v for k, v in self.priority.items() if v not in PRIORITIES}
        if bad or set(self.due_hours_by_priority) != set(PRIORITIES):
            raise ValueError(f"priorities must be among {PRIORITIES} (got {dict(self.priority)})")
        if any(h <= 0 for h in (*self.due_hours.values(), *self.due_hours_by_priority.values())):
            raise ValueError("due hours must be positive")

    @classmethod
    def default(cls) -> RuleConfig:
        return cls()

    def with_overrides(self, **overrides: Any) -> RuleConfig:
        """A copy with some settings changed; mappings are merged into the current ones, other values replace."""
        names = {f.name for f in fields(self)}
        unknown = set(overrides) - names
        if unknown:
            raise ValueError(f"unknown rule setting(s) {sorted(unknown)}")
        merged: dict[str, Any] = {
            name: FrozenMap({**getattr(self, name), **value}) if isinstance(getattr(self, name), FrozenMap) else value
            for name, value in overrides.items()
        }
        return replace(self, **merged)

    def priority_of(self, kind: str) -> str:
        return self.priority.get(kind, "MEDIUM")

    def due_for(self, kind: str, priority: str) -> int:
        """The kind's own due time at its usual priority; otherwise the due time of the priority it got."""
        if kind in self.due_hours and priority == self.priority_of(kind):
            return self.due_hours[kind]
        return self.due_hours_by_priority[priority]

    def opportunity_url(self, opportunity_id: str) -> str:
        return self.partner_central_url.format(id=opportunity_id)

    @property
    def partner_central_home(self) -> str:
        # Invitations have no opportunity page yet; link to Partner Central's root instead.
        scheme, _, rest = self.partner_central_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/"


def _check_signals(rules: RuleConfig) -> None:
    """The 2026 signals' settings make sense: bands rise within 1–99, times are positive."""
    bands = rules.quality_bands
    if not bands or any(not 0 < b < 100 for b in bands) or list(bands) != sorted(set(bands)):
        raise ValueError(f"quality_bands: expected rising scores between 1 and 99 (got {list(bands)})")
    if not 0 <= rules.quality_hysteresis < 50:
        raise ValueError("quality_hysteresis: expected 0 to 49 points")
    hours = (rules.invitation_reminder_hours, rules.action_required_after_hours, rules.action_required_every_hours,
             rules.funding_expiry_hours)
    if any(h <= 0 for h in hours):
        raise ValueError("reminder and escalation times must be positive")

"""Frozen values of what AWS says since 2026: its recommendations and its deal terms (software revenue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from poller.core.hashing import stable_hash

SPECIALIST = "specialistrecommendation"  # Recommendation.Type, canonical: AWS names a specialist to bring in
KIND_LABELS = {"opportunityquality": "deal quality", "solutionrecommendation": "solution", SPECIALIST: "specialist"}


def canonical(text: str | None) -> str:
    """Lower-case letters and digits only: `No Change`, `no-change` and `NO_CHANGE` are one value."""
    return "".join(ch for ch in (text or "").casefold() if ch.isalnum())


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """One entry of `Insights.Recommendations`: its type, AWS's words, and any attributes (name → value)."""

    type: str
    details: str
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """The same recommendation across reads: its type and words (spacing and case aside), not its attributes."""
        return stable_hash([canonical(self.type), " ".join(self.details.split()).casefold()])[:16]

    @property
    def specialist(self) -> bool:
        return canonical(self.type) == SPECIALIST

    @property
    def label(self) -> str:
        """How a seller reads the type: `deal quality`, `solution`, `specialist` (a type AWS adds: as sent)."""
        return KIND_LABELS.get(canonical(self.type), self.type)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        return cls(type=data["type"], details=data["details"],
                   attributes=tuple((str(k), str(v)) for k, v in data.get("attributes") or ()))


@dataclass(frozen=True, slots=True, kw_only=True)
class SoftwareRevenue:
    """The AWS summary's `SoftwareRevenue`: the deal terms AWS records (value, discount, term)."""

    amount: str | None = None
    currency: str | None = None
    discount: str | None = None
    effective_date: str | None = None
    expiration_date: str | None = None

    def describe(self) -> str:
        """`USD 120000 (discount 5%), 2026-04-01 to 2027-03-31`, leaving out what is unknown."""
        text = " ".join(p for p in (self.currency, self.amount) if p) or "value not stated"
        if self.discount:
            text += f" (discount {self.discount})"
        term = " to ".join(p for p in (self.effective_date, self.expiration_date) if p)
        return f"{text}, {term}" if term else text

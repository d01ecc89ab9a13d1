"""Deal quality: the score's band with hysteresis, and when a band move or a Declining trend is worth a bell."""

from __future__ import annotations

from poller.core.aws_context import AwsContext
from poller.core.aws_values import canonical
from poller.core.model import AwsView, Change, Event
from poller.core.rules import RuleConfig

DECLINING = "declining"
# Flap safety (README "What it notifies"): a score changes band only once it is `quality_hysteresis` points past
# the edge (default 5: with bands 40 / 70 it enters 70+ at 75 and leaves it at 65), so a score wobbling around an
# edge rings once. A Declining trend is announced once per band: flipping Declining / No Change / Declining inside
# one band rings the first time only; it can ring again after the score has moved to another band.


def plain_band(score: int, edges: tuple[int, ...]) -> int:
    """0 below the first edge, 1 from it to below the next, …; len(edges) at or above the last."""
    return sum(1 for edge in edges if score >= edge)


def next_band(band: int | None, score: int | None, rules: RuleConfig) -> int | None:
    """The band in force after a read of `score`, given the band in force before (None: none yet)."""
    edges, margin = rules.quality_bands, rules.quality_hysteresis
    if score is None:
        return band
    if band is None or not 0 <= band <= len(edges):  # first score, or bands reconfigured to fewer
        return plain_band(score, edges)
    # The margin decides whether the band moves; where it lands is the score's own band, so a note never says
    # "36 (band 40–69)".
    risen = sum(1 for edge in edges if score >= edge + margin)
    fallen = sum(1 for edge in edges if score > edge - margin)
    return plain_band(score, edges) if risen > band or fallen < band else band


def band_label(band: int | None, edges: tuple[int, ...]) -> str | None:
    """`40–69` for band 1 of edges (40, 70); `0–39` and `70–100` at the ends."""
    if band is None or not 0 <= band <= len(edges):
        return None
    low = edges[band - 1] if band > 0 else 0
    high = edges[band] - 1 if band < len(edges) else 100
    return f"{low}–{high}"


def declining(view: AwsView) -> bool:
    return canonical(view.quality_trend) == DECLINING


def settle_quality(before: AwsView | None, new: AwsView, rules: RuleConfig) -> tuple[int | None, bool]:
    """(band in force, Declining announced in this band) for `new`, from the view stored before it."""
    band = next_band(before.quality_band if before else None, new.quality_score, rules)
    noted = declining(new) or (before is not None and before.quality_decline_noted and band == before.quality_band)
    return band, noted


def _direction(old: AwsView, new: AwsView) -> str:
    if old.quality_band is None:
        return "first"
    if new.quality_band is None or new.quality_band == old.quality_band:
        return "declining"
    return "down" if new.quality_band < old.quality_band else "up"


def _priority(direction: str, new: AwsView, rules: RuleConfig) -> str:
    if direction == "down" and new.quality_band == 0:
        return "HIGH"  # into the lowest band: the deal is at risk
    if declining(new) or direction == "down" or (direction == "first" and new.quality_band == 0):
        return rules.priority_of("quality_changed")
    return "LOW"  # a rise, or a first score above the lowest band


def quality_event(old: AwsView, new: AwsView, ctx: AwsContext) -> Event | None:
    """One event when the band in force moved, or the trend turned Declining and was not announced in this band."""
    moved = new.quality_band is not None and new.quality_band != old.quality_band
    turned = declining(new) and not (old.quality_decline_noted and old.quality_band == new.quality_band)
    if not (moved or turned):
        return None
    direction = _direction(old, new)
    changes = [Change(field="quality_score", old=old.quality_score, new=new.quality_score)]
    if canonical(old.quality_trend) != canonical(new.quality_trend):
        changes.append(Change(field="quality_trend", old=old.quality_trend, new=new.quality_trend))
    advice = "; ".join(f"{r.details} ({r.label})" for r in new.recommendations)
    band = band_label(new.quality_band, ctx.rules.quality_bands)
    return ctx.event("quality_changed", [new.quality_band, declining(new)],
                     priority=_priority(direction, new, ctx.rules), changes=changes,
                     facts=(("direction", direction), ("quality_band", band), ("quality_trend", new.quality_trend),
                            ("recommendations", advice or None)))

"""Engagement score moves: whether one notifies, at which priority, and in which direction."""

from __future__ import annotations

import math

from poller.core.rules import RuleConfig

TIERS = {"low": 0, "medium": 1, "high": 2}  # DESIGN §3: Low < Medium < High


def _tier(value: str | None) -> int | None:
    return TIERS.get(value.strip().casefold()) if value else None


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def tier_name(value: str | None) -> str | None:
    """"high" | "medium" | "low" for a tier score (any casing), else None."""
    return value.strip().casefold() if _tier(value) is not None and value else None


def score_change(old: str | None, new: str | None, rules: RuleConfig) -> tuple[str, str] | None:
    """(priority, "first" | "up" | "down" | "changed") for a score move worth a notification, else None.

    "first": a score where none was known before (its priority as a rise from nothing, DESIGN §10).
    """
    move = _move(old, new, rules)
    if move is not None and old is None:
        return move[0], "first"
    return move


def _move(old: str | None, new: str | None, rules: RuleConfig) -> tuple[str, str] | None:
    if new is None:
        return None  # a score disappearing gives the seller nothing to act on
    if old is not None and old.strip().casefold() == new.strip().casefold():
        return None
    new_tier = _tier(new)
    if new_tier is not None and (old is None or _tier(old) is not None):
        # A score appearing where there was none counts as a rise (DESIGN §10).
        old_tier = -1 if old is None else TIERS[old.strip().casefold()]
        if new_tier < old_tier:
            return "MEDIUM", "down"
        return ("HIGH" if new_tier == TIERS["high"] else "LOW"), "up"
    new_number, old_number = _number(new), _number(old)
    if new_number is not None and (old is None or old_number is not None):
        if old_number is not None and abs(new_number - old_number) < rules.score_change_threshold:
            return None
        direction = "down" if old_number is not None and new_number < old_number else "up"
        if new_number >= rules.high_engagement_score:
            return "HIGH", direction
        return ("MEDIUM" if direction == "down" else "LOW"), direction
    # Neither tiers nor numbers on both sides (AWS added a value, or mixed tier/number): the owner hears about
    # it at the kind's configured priority (MEDIUM, 72 h) without us guessing a direction.
    return rules.priority_of("engagement_score_changed"), "changed"

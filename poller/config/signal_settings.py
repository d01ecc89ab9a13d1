"""The settings of the 2026 signals: quality bands, reminders, escalations and funding (Partner Central Benefits)."""

from __future__ import annotations

from typing import Any

from poller.config.values import boolean, bounded_duration
from poller.errors import ConfigError

# setting name → environment variable
SIGNAL_ENV = {
    "quality_bands": "POLLER_QUALITY_BANDS",
    "quality_hysteresis": "POLLER_QUALITY_HYSTERESIS",
    "invitation_reminder": "POLLER_INVITATION_REMINDER",
    "action_required_after": "POLLER_ACTION_REQUIRED_AFTER",
    "action_required_every": "POLLER_ACTION_REQUIRED_EVERY",
    "benefits": "POLLER_BENEFITS",
    "benefits_period": "POLLER_BENEFITS_PERIOD",
    "benefits_daily_budget": "POLLER_BENEFITS_DAILY_BUDGET",
    "funding_expiry_window": "POLLER_FUNDING_EXPIRY_WINDOW",
}
SIGNAL_DURATIONS = {"invitation_reminder", "action_required_after", "action_required_every", "benefits_period",
                    "funding_expiry_window"}


def _whole(raw: Any, name: str, low: int, high: int) -> int:
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool | float) else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ConfigError(f"{name}: expected a whole number from {low} to {high}, got {raw!r}")
    return value


def _bands(raw: Any, name: str) -> tuple[int, ...]:
    """`40,70` (text) or [40, 70] (TOML): rising quality scores between 1 and 99."""
    items = raw if isinstance(raw, list) else [p for p in str(raw).replace(",", " ").split() if p]
    bands = tuple(_whole(item, name, 1, 99) for item in items)
    if not bands or list(bands) != sorted(set(bands)):
        raise ConfigError(f"{name}: expected rising scores between 1 and 99, such as 40,70 (got {raw!r})")
    return bands


def coerce_signal(name: str, raw: Any) -> Any:
    """A raw value (env text or TOML) of one of these settings, checked; a bad one is a ConfigError naming it."""
    if name in SIGNAL_DURATIONS:
        return bounded_duration(raw, name)
    if name == "quality_bands":
        return _bands(raw, name)
    if name == "quality_hysteresis":
        return _whole(raw, name, 0, 49)
    if name == "benefits_daily_budget":
        return _whole(raw, name, 1, 100_000)
    return boolean(raw, name)  # benefits

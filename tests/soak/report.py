"""The soak's figures: one table for people, a dict for machines, and the list of broken invariants."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soak.budgets import PC_READS_PER_DAY, Window
from soak.compare import Outcome


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[index]


@dataclass(slots=True, kw_only=True)
class Report:
    config: Any
    workdir: Path
    outcome: Outcome
    windows: list[Window]
    cycles: Any
    sent: int  # events that reached their owner, alone or inside a digest
    hub_calls: int
    pc_calls: int  # after the baseline: the steady state
    pc_operations: Counter[str]
    hub_operations: Counter[str]
    faults: Counter[str]
    simulated: dt.timedelta
    wall_seconds: float
    sinks: dict[str, Outcome] = field(default_factory=dict)  # Slack and SNS: each held against the truth alone
    tasks: Counter[str | None] = field(default_factory=Counter)  # HubSpot tasks per owner
    digests: int = 0  # tasks that were digests

    @property
    def days(self) -> float:
        return self.simulated / dt.timedelta(days=1)

    @property
    def overruns(self) -> int:
        return sum(w.over for w in self.windows)

    @property
    def wrong(self) -> int:
        return sum(counts["wrong"] for counts in self.outcome.by_kind.values())

    def failures(self) -> list[str]:
        """Every broken invariant: 0 missed, 0 duplicated, 0 wrong, 0 spurious, 0 budget overruns."""
        o = self.outcome
        found = []
        for name, items in (("missed", o.missed), ("duplicated", o.duplicated), ("spurious", o.spurious)):
            if items:
                kinds = Counter(getattr(i, "kind", "?") for i in items)
                found.append(f"{len(items)} {name}: {dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))}")
        for sink, outcome in sorted(self.sinks.items()):
            for name, items in (("missed", outcome.missed), ("duplicated", outcome.duplicated),
                                ("spurious", outcome.spurious)):
                if items:
                    kinds = Counter(getattr(i, "kind", "?") for i in items)
                    found.append(f"{sink}: {len(items)} {name}: {dict(sorted(kinds.items()))}")
        if self.wrong:
            found.append(f"{self.wrong} wrong: {dict(sorted(o.wrong.items(), key=lambda kv: (-kv[1], kv[0])))}")
        found.extend(w.line for w in self.windows if w.over)
        return found

    def summary(self) -> dict[str, Any]:
        o, lat = self.outcome, self.outcome.latencies
        rss = self.cycles.rss_kb
        first, last = (rss.get(min(rss)), rss.get(max(rss))) if rss else (None, None)
        return {
            "opportunities": self.config.opportunities, "simulated days": self.config.days,
            "seed": self.config.seed, "transitions": len(o.matched) + len(o.missed) + len(o.reverted),
            "notifications": self.sent, "tasks": sum(self.tasks.values()), "digests": self.digests,
            "reverted in a digest": len(o.reverted),
            "missed": len(o.missed), "duplicated": len(o.duplicated), "duplicated (same event key)":
                o.same_key_duplicates, "wrong": self.wrong, "spurious": len(o.spurious),
            "budget overruns": self.overruns, "kills survived": self.cycles.kills,
            **{f"{sink} {what}": value for sink, o in sorted(self.sinks.items()) for what, value in (
                ("messages", len(o.matched) + len(o.duplicated) + len(o.spurious)), ("missed", len(o.missed)),
                ("duplicated", len(o.duplicated)), ("spurious", len(o.spurious)))},
            **{f"latency p{q} (min)": _round(percentile(lat, q)) for q in (50, 95, 99)},
            "HubSpot calls per notification": round(self.hub_calls / self.sent, 3) if self.sent else None,
            "Partner Central reads per day": round(self.pc_calls / max(self.days, 1e-9)),
            "share of the 100,000 daily quota": f"{self.pc_calls / max(self.days, 1e-9) / PC_READS_PER_DAY:.1%}",
            "daemon RSS day 1 (MB)": round(first / 1024, 1) if first else None,
            f"daemon RSS day {max(rss) + 1 if rss else '?'} (MB)": round(last / 1024, 1) if last else None,
            "wall time (s)": round(self.wall_seconds),
        }

    def table(self) -> str:
        rows = [(k, "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v)))
                for k, v in self.summary().items()]
        width = max(len(k) for k, _v in rows)
        lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
        o = self.outcome
        lines.append("")
        lines.append("per kind (ok / missed / duplicated / spurious / wrong / reverted in a digest):")
        for kind, counts in sorted(o.by_kind.items()):
            lines.append(f"  {kind.ljust(26)} {counts['ok']:>5} {counts['missed']:>5} {counts['duplicated']:>5} "
                         f"{counts['spurious']:>5} {counts['wrong']:>5} {counts['reverted']:>5}")
        lines.append("budgets (peak in one window / limit, calls over):")
        lines.extend(f"  {w.line}" for w in self.windows)
        lines.append(f"cycles: {dict(self.cycles.statuses)}; longest {self.cycles.longest:.0f} s simulated; "
                     f"kill runs {self.cycles.kill_runs}")
        lines.append(f"faults injected: {dict(self.faults)}")
        for title, counter in (("cycle errors", self.cycles.errors), ("deferred", self.cycles.deferred)):
            if counter:
                lines.append(f"{title}:")
                lines.extend(f"  {n:>4} × {text}" for text, n in counter.most_common(8))
        if o.wrong_examples:
            lines.append("wrong, examples:")
            lines.extend(f"  {line}" for line in o.wrong_examples[:12])
        slowest = sorted(o.matched, key=lambda pair: pair[1].created - pair[0].at, reverse=True)[:5]
        if slowest:
            lines.append("slowest:")
            lines.extend(f"  {(s.created - e.at) / dt.timedelta(minutes=1):>8.0f} min  {_describe(e)}" for e, s in slowest)
        for title, items in (("missed, examples", o.missed), ("duplicated, examples", o.duplicated),
                             ("spurious, examples", o.spurious)):
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  {_describe(i)}" for i in items[:8])
        lines.append(f"work directory (state database, logs): {self.workdir}")
        return "\n".join(lines)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _describe(item: Any) -> str:
    if hasattr(item, "why"):
        return f"{item.kind} {item.subject} at {item.at:%m-%d %H:%M} ({item.why})"
    return f"{item.kind} {item.subject} task {item.task_id} created {item.created:%m-%d %H:%M}: {item.title[:70]}"

"""Builders and probes shared by the cycle tests: scripted opportunities, and what the database holds."""

from __future__ import annotations

import datetime as dt
import random

from poller.core.timefmt import normalize_iso
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import (
    aws_summary_record,
    opportunity_record,
)

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;"


# --- helpers: what the operator would query ------------------------------------------------------------------------

def tick(frozen, minutes: float = 5) -> None:
    frozen.tick(dt.timedelta(minutes=minutes))


def cycle(app):
    return run_cycle(app, mode="dry-run", deliver=False)


def events(app) -> set[tuple[str, str, str]]:
    return {(r[0], r[1], r[2]) for r in app.store.db.execute("SELECT kind, subject_id, priority FROM events")}


def event_rows(app, run_id: int | None = None) -> list[dict]:
    if run_id is None:
        return list(app.store.db.query("SELECT * FROM events ORDER BY rowid"))
    return list(app.store.db.query("SELECT * FROM events WHERE run_id = ? ORDER BY rowid", [run_id]))


def keys(app) -> set[str]:
    return {r[0] for r in app.store.db.execute("SELECT key FROM events")}


def outbox(app) -> list[dict]:
    return list(app.store.db.query("SELECT * FROM outbox ORDER BY rowid"))


def count(app, table: str) -> int:
    return app.store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def cursor(app) -> str | None:
    row = app.store.db.execute("SELECT value FROM cursors WHERE name = 'opportunities'").fetchone()
    return row[0] if row else None


def stored_last_modified(app, oid: str) -> str | None:
    row = app.store.db.execute("SELECT last_modified FROM opportunities WHERE opportunity_id = ?", [oid]).fetchone()
    return row[0] if row else None


def wire_modified(pc_sim, oid: str) -> str:
    return normalize_iso(pc_sim.opportunity(oid)["LastModifiedDate"])


def put(pc_sim, n: int, *, review: str = "In review", summary: bool = True, origin: str = "Partner Referral",
        score: str | None = "Medium", team: int = 1, title: str | None = None) -> str:
    record = opportunity_record(n, rng=random.Random(n), review_status=review)
    if title is not None:
        record["Project"]["Title"] = title
    pc_sim.put_opportunity(record, aws_summary_record(n, origin=origin, score=score, team=team) if summary else None)
    return record["Id"]


def put_spread(pc_sim, frozen, count_: int, *, start: int = 0) -> list[str]:
    """`count_` opportunities, each one second newer than the last (distinct LastModifiedDates)."""
    ids = []
    for n in range(start, start + count_):
        ids.append(put(pc_sim, n, review="Approved"))
        tick(frozen, 1 / 60)
    return ids


# --- first cycle -----------------------------------------------------------------------------------------------------

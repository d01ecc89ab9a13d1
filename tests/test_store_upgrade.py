"""A database written before outbox rows carried their sink (main at b34ff2f: tests/fixtures/main_state.sql, made by
tests/fixtures/make_main_state.py) is migrated in place, and its open rows are delivered exactly once."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate

from poller.core.model import Notification
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import seed
from poller.store import open_store

FIXTURE = Path(__file__).parent / "fixtures" / "main_state.sql"
COUNT = 8  # opportunities the fixture's portfolio has (make_main_state.COUNT)


def main_database(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(FIXTURE.read_text())
    conn.close()
    return path


def outbox_rows(path: Path) -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM outbox ORDER BY created_at, event_key")]
    finally:
        conn.close()


class _NoPartnerCentral:
    """seed() puts opportunities in Partner Central too; here only HubSpot's owners and deals are wanted."""

    def put_opportunity(self, *_args: object) -> None:
        pass


def test_the_migration_keeps_every_row_and_gives_it_the_hubspot_sink(tmp_path):
    db = main_database(tmp_path / "poller.db")
    before = outbox_rows(db)
    assert Counter((r["task_state"], r["note_state"]) for r in before) == Counter(
        {("done", "none"): 1, ("done", "done"): 2, ("unknown", "done"): 2, ("pending", "pending"): 2})

    store = open_store(db)

    after = outbox_rows(db)
    # Every column it had keeps its value (later migrations add columns of their own, empty on old rows).
    assert [{k: v for k, v in r.items() if k in before[0]} for r in after] == before
    assert {r["sink"] for r in after} == {"hubspot"}
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Each sink has its own row, and its own states, for one event.
    key = before[0]["event_key"]
    other = Notification(event_key=key, kind=before[0]["kind"], subject_id=before[0]["subject_id"], deal_id=None,
                         priority="HIGH", due_at=before[0]["due_at"], subject="s", task_body="b", note_body=None)
    with store.atomic():
        assert store.outbox.enqueue([other], "2026-03-02T12:00:00.000000Z", sinks=("slack",)) == 1
    assert sorted((r["sink"], r["task_state"]) for r in outbox_rows(db) if r["event_key"] == key) == [
        ("hubspot", "done"), ("slack", "pending")]


def test_its_pending_and_unknown_rows_are_delivered_once(tmp_path, pc_sim, hub_sim, make_app):
    db = main_database(tmp_path / "poller.db")
    open_rows = [r for r in outbox_rows(db) if "pending" in (r["task_state"], r["note_state"])
                 or "unknown" in (r["task_state"], r["note_state"])]
    seed(_NoPartnerCentral(), hub_sim, COUNT)  # the same owners and deals the fixture's portal had
    # The task and note property the old version created stays in the portal.
    client = HubSpot(access_token="sim-token", host=hub_sim.url)
    for object_type in ("tasks", "notes"):
        client.crm.properties.core_api.create(object_type, PropertyCreate(
            name="poller_event_key", label="Poller event key", type="string", field_type="text",
            group_name="taskinformation" if object_type == "tasks" else "noteinformation"))

    # Real time, months after the fixture's runs: its uncertain sends have long settled.
    app = make_app(hub=hub_sim, db=db, fallback_owner_id="190", sweep_period=30 * 86400.0)
    first = run_cycle(app)
    second = run_cycle(app)

    assert (first.status, first.summary["delivered"]) == ("ok", len(open_rows)) == ("ok", 4)
    assert second.summary["delivered"] == 0
    keys = [t["properties"]["poller_event_key"] for t in hub_sim.tasks()]
    assert sorted(keys) == sorted(r["event_key"] for r in open_rows)  # one task each, none twice
    pending_notes = [r["event_key"] for r in open_rows if r["note_state"] == "pending"]
    assert sorted(n["properties"]["poller_event_key"] for n in hub_sim.notes()) == sorted(pending_notes)
    rows = outbox_rows(db)
    assert {(r["sink"], r["task_state"], r["note_state"]) for r in rows} <= {
        ("hubspot", "done", "done"), ("hubspot", "done", "none")}
    by_key = {r["event_key"]: r for r in rows}
    assert {t["id"] for t in hub_sim.tasks()} == {by_key[k]["task_id"] for k in keys}

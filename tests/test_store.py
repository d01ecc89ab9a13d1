"""The SQLite state: migrations, the run lease, the cursor, atomic pages and the operator views."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest

from poller.core.model import Event, Notification
from poller.core.timefmt import iso
from poller.store import open_store
from poller.store.lease import Lease

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "state" / "poller.db"


def tables(store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")]


def test_migrations_apply_once_and_reopening_is_idempotent(db_path):
    first = open_store(db_path)  # creates the folder too
    first.advance_cursor("opportunities", "2026-03-02T09:00:00.000000Z", iso(NOW))
    schema = tables(first)
    for name in ("opportunities", "snapshot_history", "invitations", "events", "outbox", "cursors", "runs", "lease",
                 "budget", "owners_cache", "outbox_status", "last_runs", "opportunity_timeline", "budget_today"):
        assert name in schema
    applied = first.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]

    second = open_store(db_path)
    third = open_store(db_path)

    assert tables(second) == tables(third) == schema
    assert second.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == applied
    assert third.cursor("opportunities") == "2026-03-02T09:00:00.000000Z"  # data survives a reopen


# --- lease ---------------------------------------------------------------------------------------------------------

def test_a_second_lease_on_the_same_file_is_refused_while_the_first_is_held(db_path):
    first, second = Lease(open_store(db_path).db), Lease(open_store(db_path).db)
    assert first.acquire(NOW) is None
    holder = second.acquire(NOW + dt.timedelta(minutes=1))
    assert holder is not None and holder.holder == first.token
    # A lease outlives its last heartbeat by a short grace (3 minutes with the default 30 s HTTP timeout)
    assert holder.host == socket.gethostname() and holder.expires_at == iso(NOW + dt.timedelta(minutes=3))
    first.release()
    assert second.acquire(NOW + dt.timedelta(minutes=2)) is None


def test_heartbeat_extends_the_lease(db_path):
    lease = Lease(open_store(db_path).db, ttl=dt.timedelta(minutes=5))
    other = Lease(open_store(db_path).db)
    lease.acquire(NOW)
    lease.heartbeat(NOW + dt.timedelta(minutes=4))
    holder = other.acquire(NOW + dt.timedelta(minutes=6))  # past the first expiry, not the extended one
    assert holder is not None and holder.expires_at == iso(NOW + dt.timedelta(minutes=9))


def _insert_lease(store, *, pid: int, host: str, expires: dt.datetime) -> None:
    store.db.execute("INSERT INTO lease (name, holder, pid, host, acquired_at, heartbeat_at, expires_at) "
                     "VALUES ('cycle', ?, ?, ?, ?, ?, ?)",
                     [f"{host}:{pid}:old", pid, host, iso(NOW), iso(NOW), iso(expires)])


def test_a_lease_whose_process_is_gone_on_this_host_is_taken_over_at_once(db_path, caplog):
    store = open_store(db_path)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead_pid = int(finished.stdout)
    _insert_lease(store, pid=dead_pid, host=socket.gethostname(), expires=NOW + dt.timedelta(hours=1))
    lease = Lease(store.db)
    assert lease.acquire(NOW) is None
    assert store.db.execute("SELECT holder FROM lease").fetchone()[0] == lease.token
    assert "its process is gone" in caplog.text


def test_a_live_lease_on_another_host_is_respected_until_it_expires(db_path, caplog):
    store = open_store(db_path)
    _insert_lease(store, pid=1, host="some-other-host", expires=NOW + dt.timedelta(minutes=10))
    lease = Lease(store.db)
    assert lease.acquire(NOW).host == "some-other-host"
    assert lease.acquire(NOW + dt.timedelta(minutes=10)) is None  # expired: taken over
    assert "it expired" in caplog.text
    assert store.db.execute("SELECT holder FROM lease").fetchone()[0] == lease.token


def test_a_live_process_on_this_host_keeps_its_lease(db_path):
    store = open_store(db_path)
    _insert_lease(store, pid=1, host=socket.gethostname(), expires=NOW + dt.timedelta(minutes=10))  # pid 1 lives
    assert Lease(store.db).acquire(NOW) is not None


# --- cursor and transactions ---------------------------------------------------------------------------------------

def test_advance_cursor_never_moves_backwards(db_path):
    store = open_store(db_path)
    assert store.cursor("opportunities") is None
    assert store.advance_cursor("opportunities", "2026-03-02T09:00:00.000000Z", iso(NOW)) == \
        "2026-03-02T09:00:00.000000Z"
    assert store.advance_cursor("opportunities", "2026-03-01T23:59:59.999000Z", iso(NOW)) == \
        "2026-03-02T09:00:00.000000Z"
    assert store.cursor("opportunities") == "2026-03-02T09:00:00.000000Z"
    store.advance_cursor("opportunities", "2026-03-02T09:00:00.001000Z", iso(NOW))
    assert store.cursors() == [{"name": "opportunities", "value": "2026-03-02T09:00:00.001000Z",
                                "updated_at": iso(NOW)}]


def test_atomic_rolls_back_everything_on_an_exception(db_path):
    store = open_store(db_path)
    store.advance_cursor("opportunities", "2026-03-02T09:00:00.000000Z", iso(NOW))
    with pytest.raises(RuntimeError), store.atomic():
        store.advance_cursor("opportunities", "2026-03-02T10:00:00.000000Z", iso(NOW))
        store.records.mark_refetch("O1", "broken", iso(NOW))
        store.outbox.record_events([_event("evk_rolled_back")], detected_at=iso(NOW), source="cycle", run_id=None)
        raise RuntimeError("crash mid-page")
    reopened = open_store(db_path)  # what another process sees
    assert reopened.cursor("opportunities") == "2026-03-02T09:00:00.000000Z"
    assert reopened.db.execute("SELECT count(*) FROM refetch").fetchone()[0] == 0
    assert reopened.db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    with store.atomic():
        store.advance_cursor("opportunities", "2026-03-02T10:00:00.000000Z", iso(NOW))
    assert open_store(db_path).cursor("opportunities") == "2026-03-02T10:00:00.000000Z"


# --- outbox ---------------------------------------------------------------------------------------------------------

def _event(key: str, kind: str = "review_approved", subject: str = "O1") -> Event:
    return Event(kind=kind, subject_id=subject, key=key, priority="HIGH", due_hours=24,
                 occurred_at=iso(NOW), deal_id=None if subject.startswith("engi-") else "501")


def _notification(event: Event) -> Notification:
    has_deal = event.deal_id is not None
    return Notification(event_key=event.key, kind=event.kind, subject_id=event.subject_id, deal_id=event.deal_id,
                        priority=event.priority, due_at=iso(NOW + dt.timedelta(hours=24)), subject="✅ approved",
                        task_body="<p>task</p>", note_body="<p>note</p>" if has_deal else None)


def test_record_events_is_idempotent_by_key(db_path):
    store = open_store(db_path)
    events = [_event("evk_a"), _event("evk_b")]
    assert store.outbox.record_events(events, detected_at=iso(NOW), source="cycle", run_id=1) == {"evk_a", "evk_b"}
    assert store.outbox.record_events(events, detected_at=iso(NOW), source="sweep", run_id=2) == set()
    assert store.outbox.enqueue([_notification(e) for e in events], iso(NOW)) == 2
    assert store.outbox.enqueue([_notification(e) for e in events], iso(NOW)) == 0
    assert store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2


@pytest.mark.parametrize(("task", "note", "status"), [
    ("pending", "pending", "pending"),
    ("sending", "pending", "sending"),
    ("done", "pending", "pending"),
    ("done", "sending", "sending"),
    ("done", "done", "done"),
    ("done", "none", "done"),
    ("pending", "none", "pending"),
    ("unknown", "done", "unknown"),
    ("done", "unknown", "unknown"),
    ("failed", "done", "failed"),
    ("done", "failed", "failed"),
    ("failed", "unknown", "failed"),
    ("unroutable", "pending", "unroutable"),
    ("unroutable", "none", "unroutable"),
])
def test_outbox_status_view(db_path, task, note, status):
    store = open_store(db_path)
    event = _event("evk_x", subject="engi-0000000000001" if note == "none" else "O1")
    store.outbox.record_events([event], detected_at=iso(NOW), source="cycle", run_id=None)
    store.outbox.enqueue([_notification(event)], iso(NOW))
    store.db.execute("UPDATE outbox SET task_state = ?, note_state = ?", [task, note])
    assert store.db.execute("SELECT status FROM outbox_status").fetchone()[0] == status
    assert store.outbox.counts() == {status: 1}
    attention = store.db.execute("SELECT count(*) FROM outbox_attention").fetchone()[0]
    assert attention == (0 if status == "done" else 1)


def test_outbox_route_parks_and_unparks(db_path):
    store = open_store(db_path)
    event = _event("evk_route")
    store.outbox.record_events([event], detected_at=iso(NOW), source="cycle", run_id=None)
    store.outbox.enqueue([_notification(event)], iso(NOW))
    store.outbox.set_route("evk_route", None, "deal 501 has no active owner and no fallback owner", iso(NOW))
    row = next(store.db.query("SELECT * FROM outbox_status"))
    assert (row["status"], row["owner_id"], row["route_reason"]) == (
        "unroutable", None, "deal 501 has no active owner and no fallback owner")
    store.outbox.set_route("evk_route", "101", "deal owner", iso(NOW))
    row = next(store.db.query("SELECT * FROM outbox_status"))
    assert (row["status"], row["owner_id"], row["task_state"]) == ("pending", "101", "pending")


def test_runs_record_and_skip(db_path):
    store = open_store(db_path)
    run_id = store.runs.start("run", iso(NOW), None)
    store.runs.update(run_id, status="ok", skipped_ids=["O9"], api_calls={"partner_central": 3})
    skip_id = store.runs.record_skip("run", iso(NOW), "another run holds the lease")
    assert store.runs.get(run_id)["skipped_ids"] == ["O9"]
    assert store.runs.get(run_id)["api_calls"] == {"partner_central": 3}
    assert [(r["id"], r["status"]) for r in store.runs.recent()] == [(skip_id, "skipped"), (run_id, "ok")]


def test_partner_central_usage_is_counted_over_a_rolling_24_hours(tmp_path):
    from poller.store.budget import Budgets

    budgets = Budgets(open_store(tmp_path / "p.db").db)
    day_one = dt.datetime(2026, 3, 2, 22, 30, tzinfo=dt.UTC)
    budgets.count_call("partner_central", day_one, 700)
    budgets.count_call("partner_central", day_one + dt.timedelta(hours=3), 50)  # after UTC midnight
    # a per-day counter would have reset at midnight; the quota does not
    assert budgets.used_last_24h("partner_central", day_one + dt.timedelta(hours=3)) == 750
    # counted per hour, a call stays counted until its whole hour is more than 24 hours old (never too early)
    assert budgets.used_last_24h("partner_central", day_one + dt.timedelta(hours=24)) == 750
    assert budgets.used_last_24h("partner_central", day_one + dt.timedelta(hours=25)) == 50
    assert budgets.used_last_24h("hubspot", day_one) == 0

"""The run lease: one cycle at a time per database, whether started by cron, ECS or the daemon."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from poller.core.timefmt import iso, parse_iso

log = logging.getLogger(__name__)

# A live holder renews the lease before every API request and at every page boundary, at most this often.
HEARTBEAT_EVERY = dt.timedelta(seconds=30)
# The longest a live holder can go between two renewals besides its request timeout: a retry's back-off (≤ 21 s),
# pacing (≤ 12 s), a page's diff and commit; with a wide margin.
QUIET_MARGIN = dt.timedelta(minutes=2)


def takeover_grace(http_timeout: float) -> dt.timedelta:
    """How long a lease outlives its last heartbeat: 3 minutes with the default 30 s timeout, 7.5 at most.

    Longer than any silence of a live holder (one request, a back-off, a page's work), so a live run is never
    taken over; short enough that a container restarted elsewhere after a crash waits minutes, not a quarter hour.
    """
    return HEARTBEAT_EVERY + QUIET_MARGIN + dt.timedelta(seconds=http_timeout)


DEFAULT_TTL = takeover_grace(30.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseHolder:
    holder: str
    pid: int
    host: str
    expires_at: str


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _started(pid: int) -> str:
    """When process `pid` started (clock ticks since boot, from /proc), or "" where /proc is not there.

    Part of the holder's identity: a container restarted on the same host runs as PID 1 again, and a PID can be
    reused; the start time tells the old holder from the process now wearing its PID.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22, counted after the command name in parentheses


class Lease:
    """A row in `lease` taken with BEGIN IMMEDIATE, so two processes can never both believe they hold it.

    `ttl` is how long the lease outlives its last heartbeat (see `takeover_grace`).
    """

    def __init__(self, db: Database, name: str = "cycle", ttl: dt.timedelta = DEFAULT_TTL):
        self.db = db
        self.name = name
        self.ttl = ttl
        self.token = f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}:{uuid.uuid4().hex[:8]}"
        self._renewed: dt.datetime | None = None

    def acquire(self, now: dt.datetime) -> LeaseHolder | None:
        """Take the lease; return None on success, or the current holder when another live run has it."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")  # the write lock first, then the check: no race between two takers
        try:
            row = conn.execute("SELECT holder, pid, host, expires_at FROM lease WHERE name = ?", [self.name]).fetchone()
            if row is not None and row[0] != self.token:
                holder = LeaseHolder(holder=row[0], pid=row[1], host=row[2], expires_at=row[3])
                gone = _gone(holder)
                if not (gone or parse_iso(holder.expires_at) <= now):
                    conn.execute("ROLLBACK")
                    return holder
                log.warning("taking over the lease from %s (pid %s on %s): %s", holder.holder, holder.pid,
                            holder.host, gone or f"it expired (its lease ran to {holder.expires_at}, no heartbeat since)")
            conn.execute(
                "INSERT OR REPLACE INTO lease (name, holder, pid, host, acquired_at, heartbeat_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [self.name, self.token, os.getpid(), socket.gethostname(), iso(now), iso(now), iso(now + self.ttl)])
            conn.execute("COMMIT")
            self._renewed = now
            return None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def heartbeat(self, now: dt.datetime) -> None:
        self.db.execute("UPDATE lease SET heartbeat_at = ?, expires_at = ? WHERE name = ? AND holder = ?",
                        [iso(now), iso(now + self.ttl), self.name, self.token])
        self._renewed = now

    def renew(self, now: dt.datetime) -> None:
        """Heartbeat unless one was written less than HEARTBEAT_EVERY ago (called before every API request)."""
        if self._renewed is None or now - self._renewed >= HEARTBEAT_EVERY:
            self.heartbeat(now)

    def release(self) -> None:
        self.db.execute("DELETE FROM lease WHERE name = ? AND holder = ?", [self.name, self.token])
        self._renewed = None


def _gone(holder: LeaseHolder) -> str | None:
    """Why the holder's process is known to be gone (same host only), or None when it may be alive."""
    if holder.host != socket.gethostname():
        return None
    if not _pid_alive(holder.pid):
        return "its process is gone"
    parts = holder.holder.split(":")
    recorded = parts[-2] if len(parts) >= 4 else ""
    if recorded and _started(holder.pid) not in ("", recorded):
        return f"pid {holder.pid} is now another process (a restarted container?)"
    return None

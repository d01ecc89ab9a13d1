"""The run lease: one cycle at a time per database, whether started by cron, ECS or the daemon."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass

from sqlite_utils import Database

from poller.core.timefmt import iso, parse_iso

log = logging.getLogger(__name__)


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


class Lease:
    """A row in `lease` taken with BEGIN IMMEDIATE, so two processes can never both believe they hold it."""

    def __init__(self, db: Database, name: str = "cycle", ttl: dt.timedelta = dt.timedelta(minutes=15)):
        self.db = db
        self.name = name
        self.ttl = ttl
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self, now: dt.datetime) -> LeaseHolder | None:
        """Take the lease; return None on success, or the current holder when another live run has it."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")  # the write lock first, then the check: no race between two takers
        try:
            row = conn.execute("SELECT holder, pid, host, expires_at FROM lease WHERE name = ?", [self.name]).fetchone()
            if row is not None and row[0] != self.token:
                holder = LeaseHolder(holder=row[0], pid=row[1], host=row[2], expires_at=row[3])
                same_host_dead = holder.host == socket.gethostname() and not _pid_alive(holder.pid)
                expired = parse_iso(holder.expires_at) <= now
                if not (same_host_dead or expired):
                    conn.execute("ROLLBACK")
                    return holder
                log.warning("taking over the lease from %s (pid %s on %s): %s", holder.holder, holder.pid,
                            holder.host, "its process is gone" if same_host_dead else "it expired")
            conn.execute(
                "INSERT OR REPLACE INTO lease (name, holder, pid, host, acquired_at, heartbeat_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [self.name, self.token, os.getpid(), socket.gethostname(), iso(now), iso(now), iso(now + self.ttl)])
            conn.execute("COMMIT")
            return None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def heartbeat(self, now: dt.datetime) -> None:
        self.db.execute("UPDATE lease SET heartbeat_at = ?, expires_at = ? WHERE name = ? AND holder = ?",
                        [iso(now), iso(now + self.ttl), self.name, self.token])

    def release(self) -> None:
        self.db.execute("DELETE FROM lease WHERE name = ? AND holder = ?", [self.name, self.token])

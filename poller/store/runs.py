"""The run log: one row per cycle, with counts, API calls, cursor movement and skipped records."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from sqlite_utils import Database

from poller.redaction import redact

JSON_COLUMNS = ("skipped_ids", "skipped_reasons", "api_calls")


class Runs:
    def __init__(self, db: Database):
        self.db = db

    def start(self, mode: str, started_at: str, cursor_before: str | None) -> int:
        """Open a run row. The caller holds the lease, so a row still 'running' belongs to a process that died."""
        self.db.execute(
            "UPDATE runs SET status = 'interrupted', error = COALESCE(error, 'the process ended mid-run (killed?); "
            "its committed pages stand and the next cycle continued') WHERE status = 'running'")
        cursor = self.db.execute(
            "INSERT INTO runs (mode, status, started_at, cursor_before, pid, host) VALUES (?, 'running', ?, ?, ?, ?)",
            [mode, started_at, cursor_before, os.getpid(), socket.gethostname()])
        return int(cursor.lastrowid or 0)

    def update(self, run_id: int, **fields: Any) -> None:
        if not fields:
            return
        values = [json.dumps(v) if k in JSON_COLUMNS and v is not None else v for k, v in fields.items()]
        values = [redact(v) if isinstance(v, str) else v for v in values]  # errors may quote a secret
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*values, run_id])

    def record_skip(self, mode: str, now: str, reason: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO runs (mode, status, started_at, finished_at, duration_ms, deferred, pid, host) "
            "VALUES (?, 'skipped', ?, ?, 0, ?, ?, ?)", [mode, now, now, redact(reason), os.getpid(), socket.gethostname()])
        return int(cursor.lastrowid or 0)

    def get(self, run_id: int) -> dict[str, Any]:
        row = next(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
        for key in JSON_COLUMNS:
            if row.get(key):
                row[key] = json.loads(row[key])
        return row

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = list(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))
        for row in rows:
            for key in JSON_COLUMNS:
                if row.get(key):
                    row[key] = json.loads(row[key])
        return rows

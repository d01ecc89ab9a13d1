"""The SQLite state of the job: snapshots, history, events, outbox, cursors, runs, lease and budgets."""

from poller.store.database import StateStore, open_store

__all__ = ["StateStore", "open_store"]

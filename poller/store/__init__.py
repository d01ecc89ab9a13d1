"""The SQLite store: migrations, records, runs, lease, budgets and the outbox; the only place that speaks SQL."""

from poller.store.database import StateStore
from poller.store.open import open_store

__all__ = ["StateStore", "open_store"]

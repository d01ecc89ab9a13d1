"""A run of the job: opened once (lease, row, limits), its reading phases, delivery, and cycle, backfill and daemon."""

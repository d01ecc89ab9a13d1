"""The pure core: normalized snapshots in, events and notifications out; no I/O, no clock."""

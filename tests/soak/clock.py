"""One virtual clock shared by the harness (simulators) and the poller processes: a float in a memory-mapped file.

Only one side moves it at a time: the harness between cycles, the poller process while a cycle runs (each of its
sleeps ticks its frozen clock and writes the new instant here), so the simulators stamp calls with the poller's time.
"""

from __future__ import annotations

import datetime as dt
import mmap
import struct
from pathlib import Path

_FORMAT = "d"


class SharedClock:
    def __init__(self, path: Path, start: dt.datetime | None = None):
        self.path = Path(path)
        if start is not None or not self.path.exists():
            self.path.write_bytes(struct.pack(_FORMAT, (start or dt.datetime.now(dt.UTC)).timestamp()))
        self._file = self.path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), struct.calcsize(_FORMAT))

    def time(self) -> float:
        return struct.unpack(_FORMAT, self._map[:8])[0]

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), dt.UTC)

    def set(self, moment: dt.datetime | float) -> None:
        value = moment.timestamp() if isinstance(moment, dt.datetime) else float(moment)
        self._map[:8] = struct.pack(_FORMAT, value)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self.set(self.time() + delta.total_seconds())
        return self.now()

    def close(self) -> None:
        self._map.close()
        self._file.close()

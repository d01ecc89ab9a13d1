"""Stop signals: SIGTERM, SIGINT and SIGHUP end a run at its next record boundary, with the lease released."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

log = logging.getLogger(__name__)
# SIGTERM: docker stop, ECS, systemd, kill. SIGINT: Ctrl-C. SIGHUP: the terminal went away (or a supervisor's stop).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
CHECK_EVERY = 0.5  # seconds: how soon a wait notices a stop request


def interruptible(stop: threading.Event) -> Callable[[float], None]:
    """A sleep for pacing and back-off that ends early once `stop` is set (within CHECK_EVERY seconds).

    It sleeps with time.sleep, looked up at each call, in short steps: whoever replaces time.sleep (a test's
    virtual clock) still sees every second of it.
    """

    def pause(seconds: float) -> None:
        remaining = seconds
        while remaining > 0 and not stop.is_set():
            step = min(remaining, CHECK_EVERY)
            time.sleep(step)
            remaining -= step

    return pause


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, a stop signal sets `stop`; the run checks it before every API request and ends there.

    As PID 1 in a container a process gets no default signal handling, so without these handlers `docker stop`
    would wait for its timeout and then kill the run. A second Ctrl-C aborts at once (KeyboardInterrupt): the
    page being written rolls back and the lease is released on the way out.
    """

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        log.info("%s received: stopping at the next record", signal.Signals(signum).name)

    if threading.current_thread() is not threading.main_thread():  # handlers can only be set from the main thread
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

"""The daemon: the cycle on an APScheduler 3.x interval, a daily prune; SIGTERM/SIGINT/SIGHUP stop it cleanly."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from poller.app import App
from poller.clock import utc_now
from poller.config.values import human
from poller.run.cycle import RunResult, run_cycle
from poller.stopping import STOP_SIGNALS
from poller.store.prune import prune_if_due

log = logging.getLogger(__name__)
JOB_ID = "cycle"
PRUNE_JOB_ID = "prune"
PRUNE_EVERY = dt.timedelta(days=1)


def build_scheduler(interval: float, job: Callable[[], Any], *, now: dt.datetime | None = None) -> BlockingScheduler:
    """A configured, unstarted scheduler: `job` at `now` (default: at start), then every `interval` seconds.

    One worker and max_instances=1: cycles never overlap inside the daemon (the SQLite lease covers other
    processes). coalesce=True: ticks missed while a long cycle ran become one run, not a burst. A tick more
    than one interval late is skipped (misfire grace = the interval): the next one is never far away.
    """
    if interval <= 0:
        raise ValueError(f"interval must be positive, got {interval}")
    scheduler = BlockingScheduler(timezone=dt.UTC, executors={"default": ThreadPoolExecutor(max_workers=1)})
    scheduler.add_job(job, IntervalTrigger(seconds=interval, timezone=dt.UTC), id=JOB_ID, name="poller cycle",
                      next_run_time=now or utc_now(), coalesce=True, max_instances=1,
                      misfire_grace_time=max(1, round(interval)), replace_existing=True)
    return scheduler


def cycle_job(app: App, stop_requested: Callable[[], bool]) -> Callable[[], RunResult | None]:
    """What each tick runs: one cycle in mode 'daemon' under the shared lease; a failure waits for the next tick."""

    def tick() -> RunResult | None:
        if stop_requested():
            return None
        try:
            result = run_cycle(app, mode="daemon", deliver=app.settings.deliver, stop_requested=stop_requested)
        except Exception as exc:  # run_cycle reports API trouble in its result; this is anything else
            log.error("cycle crashed: %s: %s; waiting for the next tick", type(exc).__name__, exc)
            log.debug("cycle crash", exc_info=True)
            return None
        if result.exit_code:
            log.warning("cycle %d failed (%s); waiting for the next tick", result.run_id,
                        result.summary.get("error"))
        return result

    return tick


def prune_job(app: App, stop_requested: Callable[[], bool]) -> Callable[[], None]:
    """The daily retention prune, in the same worker as the cycle (so never during one); a failure waits a day."""

    def prune_now() -> None:
        if stop_requested():
            return
        try:
            prune_if_due(app.store, older_than=app.settings.retention, now=app.clock())
        except Exception as exc:  # noqa: BLE001 - logged; the daemon goes on
            log.error("prune failed: %s: %s; it is tried again tomorrow", type(exc).__name__, exc)

    return prune_now


class Daemon:
    """Runs the scheduler until SIGTERM or SIGINT, then lets the running cycle stop at its next page boundary.

    The signals are blocked in every thread and taken synchronously by the main thread (sigtimedwait), so no
    handler ever runs in the middle of the scheduler's or SQLite's code: the main thread sets the stop flag that
    the cycle checks before every API request (so it stops between two records, not after a whole page), then
    shuts the scheduler down and waits for the cycle (POSIX only).
    """

    def __init__(self, app: App, interval: float):
        self.app = app
        self.interval = interval
        self.stop = app.stop
        self.scheduler = build_scheduler(interval, cycle_job(app, self.stop.is_set))
        # Once a day from the start (prune_if_due skips it when a prune ran less than a day ago, e.g. before a
        # restart); one worker thread, so it never runs during a cycle.
        self.scheduler.add_job(prune_job(app, self.stop.is_set), IntervalTrigger(days=1, timezone=dt.UTC),
                               id=PRUNE_JOB_ID, name="poller prune", next_run_time=utc_now(), coalesce=True,
                               max_instances=1, misfire_grace_time=3600, replace_existing=True)
        self._started = threading.Event()
        self.scheduler.add_listener(lambda _event: self._started.set(), EVENT_SCHEDULER_STARTED)
        self._crash: BaseException | None = None

    def run(self) -> int:
        """Block until stopped; 0 after a clean stop, 1 if the scheduler itself died."""
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # threads started below inherit it
        try:
            thread = threading.Thread(target=self._serve, name="poller-scheduler")
            thread.start()
            log.info("daemon started: a cycle now, then every %s (stop with SIGTERM, SIGHUP or Ctrl-C)",
                     human(self.interval))
            while not self._started.wait(0.5):  # signals stay pending (blocked) until we ask for them
                if not thread.is_alive():
                    break
            received = None
            while thread.is_alive() and received is None:
                received = signal.sigtimedwait(STOP_SIGNALS, 1.0)
            self.stop.set()
            if received is not None:
                log.info("%s received: stopping at the next record", signal.Signals(received.si_signo).name)
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)  # waits for the running cycle, which stops at its next page
            thread.join()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        if self._crash is not None:
            log.error("the scheduler stopped unexpectedly: %s", self._crash)
            return 1
        log.info("daemon stopped")
        return 0

    def _serve(self) -> None:
        try:
            self.scheduler.start()  # BlockingScheduler: runs its loop in this thread until shutdown()
        except BaseException as exc:  # noqa: BLE001 - reported by run() in the main thread
            self._crash = exc

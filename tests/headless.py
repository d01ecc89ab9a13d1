"""Headless Chromium for tests: load pages, let their scripts run, read the DOM, over the DevTools pipe (stdlib only).

One browser serves every page (a process per page costs ~1.3 s of CPU each); `--remote-debugging-pipe` speaks the
DevTools protocol as NUL-terminated JSON on the browser's fds 3 (commands in) and 4 (answers out).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))),
                None)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--mute-audio", "--no-default-browser-check", "--remote-debugging-pipe")
TRAMPOLINE = """import fcntl, os, sys
given = [int(fd) for fd in sys.argv[1:3]]
moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in given]  # out of the way of 3 and 4 first
os.dup2(moved[0], 3)
os.dup2(moved[1], 4)
for fd in given:
    if fd not in (3, 4):
        os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""
# Resolves with the DOM once the page has loaded and `selector` (if any) is in it, or after `limit` ms regardless,
# so a page that never draws fails on the caller's assertion with the DOM it had, instead of hanging.
SETTLED = """new Promise((resolve) => {
  const started = Date.now();
  const check = () => (document.readyState === 'complete' && (!%(selector)s || document.querySelector(%(selector)s)))
    || Date.now() - started > %(limit)d ? resolve(document.documentElement.outerHTML) : setTimeout(check, 25);
  check();
})"""


class Chromium:
    """A headless browser for the length of a `with` block."""

    def __init__(self, profile: Path):
        assert CHROMIUM is not None, "no Chromium on PATH"
        commands, self._commands = os.pipe()
        self._answers, answers = os.pipe()
        # A trampoline puts the pipes on fds 3 and 4 (a preexec_fn would fork a process whose simulators run threads;
        # dash cannot name fds above 9).
        self._proc = subprocess.Popen(
            [sys.executable, "-c", TRAMPOLINE, str(commands), str(answers), CHROMIUM, *FLAGS,
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(commands, answers), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands)
        os.close(answers)
        self._buffer = b""
        self._last_id = 0

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._commands)
        os.close(self._answers)
        self._proc.terminate()
        self._proc.wait(timeout=30)

    def dom(self, url: str, *, wait_for: str | None = None, limit_ms: int = 15_000) -> str:
        """The page's DOM after its load event and scripts: once `wait_for` (a CSS selector) matches, if given."""
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._call("Page.enable", {}, session)
        self._call("Page.navigate", {"url": url}, session)
        self._until(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
        script = SETTLED % {"selector": json.dumps(wait_for or ""), "limit": limit_ms}
        answer = self._call("Runtime.evaluate", {"expression": script, "awaitPromise": True, "returnByValue": True},
                            session)
        self._call("Target.closeTarget", {"targetId": target})
        return answer["result"]["value"]

    def _call(self, method: str, params: dict[str, Any], session: str | None = None) -> dict[str, Any]:
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        answer = self._until(lambda m: m.get("id") == self._last_id)
        assert "error" not in answer, f"{method}: {answer['error']}"
        return answer["result"]

    def _until(self, wanted: Any) -> dict[str, Any]:
        """Read messages (answers and events) until one is `wanted`; a browser that ends or says nothing for a minute
        is an error, never a hang."""
        while True:
            while b"\0" not in self._buffer:
                assert select.select([self._answers], [], [], 60)[0], "Chromium said nothing for 60 s"
                chunk = os.read(self._answers, 1 << 16)
                assert chunk, "Chromium closed its DevTools pipe"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            message = json.loads(raw)
            if wanted(message):
                return message

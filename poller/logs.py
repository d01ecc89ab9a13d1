"""Logging to stderr: readable lines on a terminal, JSON lines for CloudWatch; secrets are redacted on the way out."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable

from poller.core.timefmt import iso
from poller.redaction import redact, redact_value, register
from poller.terminal import printable


class TextFormatter(logging.Formatter):
    """`09:00:00 INFO    poller.cycle: message`: one line per record whatever the message holds (Partner Central
    text may carry newlines or terminal escapes); a traceback (--verbose) follows on its own lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        record.message = printable(redact(record.getMessage()))
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        if record.exc_info:
            trace = redact(self.formatException(record.exc_info))
            line += "\n" + "\n".join(printable(part) for part in trace.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line (json.dumps escapes control characters); secrets are masked before and after."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {"time": iso(dt.datetime.fromtimestamp(record.created, dt.UTC)), "level": record.levelname,
                   "logger": record.name, "message": redact(record.getMessage())}
        for key in ("run_id", "summary"):
            if hasattr(record, key):
                payload[key] = redact_value(getattr(record, key))
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return redact(json.dumps(payload, default=str))


def configure(log_format: str = "text", level: int = logging.INFO, secrets: Iterable[str | None] = ()) -> None:
    register(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "apscheduler.executors", "hubspot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

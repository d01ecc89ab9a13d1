"""Logging to stderr: readable lines on a terminal, JSON lines for CloudWatch; secrets are redacted on the way out."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable

from poller.core.timefmt import iso


class Redactor(logging.Filter):
    """Replace every configured secret with *** in the final message, whatever code logged it."""

    def __init__(self, secrets: Iterable[str | None]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        import datetime as dt

        payload = {"time": iso(dt.datetime.fromtimestamp(record.created, dt.UTC)), "level": record.levelname,
                   "logger": record.name, "message": record.getMessage()}
        for key in ("run_id", "summary"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        return json.dumps(payload, default=str)


def configure(log_format: str = "text", level: int = logging.INFO, secrets: Iterable[str | None] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "apscheduler.executors", "hubspot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

"""The daemon's log lines: one JSON object per line off a terminal, readable text on one.

Set up once by the daemon's loop (``--log-format json|text`` overrides the
terminal check). Callers log with ``extra={"event": ..., "agent": ...,
"env": ..., "keys": [...]}``; only the fields named in :data:`FIELDS` are
written, so nothing else a record happens to carry can leak into the log.
Messages never contain a value: writes name the keys they patched, findings
are already masked, and the api client never formats its key.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import sys
from typing import Any, TextIO

#: Extra fields a log line may carry, in this order.
FIELDS = ("event", "agent", "env", "keys", "schema_put", "cause", "code", "file", "line", "count", "seconds",
          "url", "revision", "path", "request_id", "until", "target", "trigger")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"time": _time(record), "level": record.levelname.lower(),
                                "event": getattr(record, "event", None) or record.name.rsplit(".", 1)[-1],
                                "message": record.getMessage()}
        for name in FIELDS[1:]:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        where = " ".join(f"{name}={getattr(record, name)}" for name in ("agent", "env")
                         if getattr(record, name, None) is not None)
        line = f"{_time(record)} {record.levelname.lower():<7} {record.getMessage()}"
        return f"{line}  [{where}]" if where else line


def _time(record: logging.LogRecord) -> str:
    stamp = _dt.datetime.fromtimestamp(record.created, tz=_dt.timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def setup(log_format: str | None, stream: TextIO | None = None) -> logging.Logger:
    """Route the ``reconciler`` loggers to ``stream`` (stderr) as JSON or text; returns the daemon's logger."""
    stream = stream or sys.stderr
    use_json = log_format == "json" or (log_format is None and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger("reconciler")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    return logging.getLogger("reconciler.daemon")

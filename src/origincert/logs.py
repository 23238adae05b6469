"""Logging: one file in the state folder, stable field names, no secrets.

What the user reads in the terminal is output, not logging. The log keeps the
full story (tracebacks included) for the one-line errors the CLI prints.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

# Attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class FieldFormatter(logging.Formatter):
    """``time level logger event key=value ...``, values JSON-encoded."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        line = f"{self.formatTime(record)} {record.levelname.lower()} {record.name} "
        line += record.getMessage()
        for key, value in sorted(fields.items()):
            line += f" {key}={json.dumps(value, default=str)}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(log_dir: Path, *, verbose: bool = False) -> Path | None:
    """Send the product's logs to ``log_dir/origincert.log`` (0600)."""
    root = logging.getLogger("origincert")
    root.setLevel(logging.DEBUG)
    if any(getattr(h, "_origincert", False) for h in root.handlers):
        return getattr(root, "_origincert_log", None)
    try:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = log_dir / "origincert.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(FieldFormatter())
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler._origincert = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root._origincert_log = path  # type: ignore[attr-defined]
    return path

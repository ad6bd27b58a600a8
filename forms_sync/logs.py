"""Logging for operators: text or one JSON object per line, a run id on every line, no personal data.

`forms-sync --log-format json ...` writes each record as JSON on stderr with `run_id` (one per
process, so every line of a run can be collected) and, once a sync has its `_sync_runs` row,
`sync_run`. Emails and Indonesian phone numbers are masked in every message, whatever logged
it: answers quoted in messages may hold them.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid

LOGGER = "forms_sync"
_context: dict[str, object] = {"run_id": uuid.uuid4().hex[:12]}  # fields on every JSON line
_format = {"name": "text"}
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
# +62 / 62 / 0 followed by 8-13 more digits, optionally grouped by spaces, dots or dashes.
PHONE = re.compile(r"(?<![\w+])(\+62|62(?=[\s.-]?8)|0(?=8))((?:[\s.-]?\d){8,13})(?!\d)")


def mask(text: str) -> str:
    """`dinas.pendidikan@example.go.id` -> `d***@example.go.id`; `0812-3456-7890` -> `0812******90`."""
    text = EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}", text)
    return PHONE.sub(_mask_phone, text)


def _mask_phone(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m[2])
    return m[1] + digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


class MaskPersonalData(logging.Filter):
    """Masks emails and phone numbers in the formatted message (args included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, run_id, message, context and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **_context,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")})
        return json.dumps(entry, ensure_ascii=False, default=str)


class OneLineFormatter(logging.Formatter):
    """Text records one line each: a line break in quoted user text (a pasted multi-line cell)
    is written as \\n, so tools that read the log line by line see one record per line."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return super().formatMessage(record).replace("\r", "\\r").replace("\n", "\\n")


def setup(fmt: str = "text", level: str = "info") -> None:
    """Send forms_sync's records to stderr as `fmt` (text | json); called once by the CLI."""
    logger = logging.getLogger(LOGGER)
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskPersonalData())
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    _format["name"] = fmt
    _context.clear()
    _context["run_id"] = uuid.uuid4().hex[:12]  # here, not at import: a forked process is a new run


def json_mode() -> bool:
    return _format["name"] == "json"


def run_id() -> str:
    return str(_context["run_id"])


def bind(**fields) -> None:
    """Add fields to every later JSON line (e.g. sync_run once the run has its row)."""
    _context.update(fields)

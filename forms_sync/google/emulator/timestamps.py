"""RFC 3339 "Zulu" timestamps as Google writes them, held as integer nanoseconds for exact ordering."""
from __future__ import annotations

import datetime as dt
import re
import threading
import time

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def parse(text: str) -> int | None:
    """Nanoseconds since the epoch of "2026-12-03T09:15:02.123456789Z"; None if not that shape."""
    m = _RFC3339.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    try:
        moment = dt.datetime(*(int(g) for g in m.groups()[:6]), tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    fraction = int((m.group(7) or "0").ljust(9, "0"))
    return int((moment - _EPOCH).total_seconds()) * 1_000_000_000 + fraction


def format_ns(ns: int) -> str:
    """Microsecond precision, as the Forms API shows lastSubmittedTime: 2026-12-03T09:15:02.123456Z."""
    seconds, rest = divmod(ns, 1_000_000_000)
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"


class Clock:
    """Strictly increasing "now" in nanoseconds (microsecond steps), so two submissions never tie."""

    def __init__(self):
        self._last = 0
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            now = max(time.time_ns() // 1000 * 1000, self._last + 1000)
            self._last = now
            return now

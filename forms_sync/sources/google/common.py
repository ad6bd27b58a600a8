"""What the Google sources share: one session per credentials, counted and paced calls, one error.

Every HTTP request a fetch makes (each retry attempt too) is counted, because each one spends
quota; the count goes to the run summary and `_sync_runs.api_calls`. Requests are paced below the
per-user quotas (responses.list 180/min, Sheets reads 60/min) so a big first sync slows down
instead of provoking a storm of 429s. A fetch that cannot finish raises UnreadableSource (exit 3)
carrying the calls it made; the caller commits nothing for the form.
"""
from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import threading
import time
from typing import Any, Callable

from forms_sync.config import Config
from forms_sync.errors import ConfigError, FormsSyncError, UnreadableSource
from forms_sync.google.client import GoogleSession, RetryPolicy, api_root
from forms_sync.google.credentials import SCOPES_SYNC
from forms_sync.google.errors import GoogleError, GoogleRefused, GoogleUnavailable

log = logging.getLogger("forms_sync.sources.google")

FORMS_READS = "forms_reads_per_minute"
SHEETS_READS = "sheets_reads_per_minute"
#: Below Google's per-user limits (180 and 60 a minute), leaving room for a person using the API too.
DEFAULT_PER_MINUTE = {FORMS_READS: 150, SHEETS_READS: 50}

_SESSIONS: dict[tuple, GoogleSession] = {}
_SESSIONS_LOCK = threading.Lock()


def settings(cfg: Config):
    from forms_sync.google.settings import GoogleSettings

    return GoogleSettings.from_table(cfg.google, cfg.base_dir)


def retry_policy(cfg: Config) -> RetryPolicy:
    """The retry policy of `[google]` (a seam for tests, which want short waits)."""
    return settings(cfg).retry


def session_for(cfg: Config) -> GoogleSession:
    """One read-only session per credentials, API root and policy, so a run asks for one token."""
    credentials = settings(cfg).credentials
    policy = retry_policy(cfg)
    key = (str(credentials or ""), os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", ""), api_root(), policy)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = GoogleSession(SCOPES_SYNC, credentials, policy=policy)
        return session


def per_minute(cfg: Config, key: str) -> int:
    value = cfg.google.get(key, DEFAULT_PER_MINUTE[key]) if isinstance(cfg.google, dict) else DEFAULT_PER_MINUTE[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"[google] {key}: must be a whole number >= 1, got {value!r}")
    return value


class Pacer:
    """At most `limit` requests in any 60 seconds (per process, per API): waits when the budget is spent."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, window: float = 60.0):
        self.limit = limit
        self.window = window
        self.clock, self.sleep = clock, sleep
        self.sent: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()
        self.waited = 0.0

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            while self.sent and now - self.sent[0] >= self.window:
                self.sent.popleft()
            if len(self.sent) >= self.limit:
                pause = self.window - (now - self.sent[0])
                log.info("pacing Google requests under the per-minute quota: waiting %.1fs", pause)
                self.sleep(pause)
                self.waited += pause
                now = self.clock()
                while self.sent and now - self.sent[0] >= self.window:
                    self.sent.popleft()
            self.sent.append(now)


_PACERS: dict[tuple, Pacer] = {}


def pacer(cfg: Config, key: str) -> Pacer:
    limit = per_minute(cfg, key)
    with _SESSIONS_LOCK:
        found = _PACERS.get((api_root(), key))
        if found is None or found.limit != limit:
            found = _PACERS[(api_root(), key)] = Pacer(limit)
        return found


class Calls:
    """A fetch's API calls: retried by the session's policy, paced, every attempt counted."""

    def __init__(self, session: GoogleSession, source: str, form: str):
        self.session = session
        self.source = source
        self.form = form
        self.count = 0

    def run(self, request: Callable[[], Any], what: str, pace: Pacer, *, passthrough: tuple[int, ...] = ()) -> Any:
        """The request's answer; UnreadableSource (exit 3) when it cannot be had. A refusal with a
        status in `passthrough` is raised as it is, for the caller to handle."""
        def attempt():
            pace.wait()
            self.count += 1
            return request()
        try:
            return self.session.call(attempt, what)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # an answer the library could not parse
            raise self.failed(what, f"Google's answer could not be read ({exc.__class__.__name__}: {exc})") from None
        except GoogleRefused as exc:
            if exc.status in passthrough:
                raise
            raise self.failed(what, str(exc)) from None
        except GoogleError as exc:
            raise self.failed(what, str(exc), quota=getattr(exc, "status", None) == 429
                              and isinstance(exc, GoogleUnavailable)) from None

    @contextlib.contextmanager
    def accounted(self):
        """Any FormsSyncError leaving the block carries the calls made so far (they spent quota)."""
        try:
            yield self
        except FormsSyncError as exc:
            if not hasattr(exc, "api_calls"):
                exc.api_calls = self.count
            raise

    def failed(self, what: str, reason: str, *, quota: bool = False) -> UnreadableSource:
        hint = (" The per-minute quota is used up (responses.list: 180 a minute per user, Sheets reads: 60); "
                "the next run continues where this one stopped. Lower [google] forms_reads_per_minute / "
                "sheets_reads_per_minute if other jobs share the service account." if quota else "")
        exc = UnreadableSource(
            f"{self.source}: {what} did not finish: {reason.rstrip('.')}.{hint} Nothing of form {self.form} was "
            "stored and its watermark is unchanged, so the next sync reads the same responses again.")
        exc.api_calls = self.count
        return exc


def load_mark(value: str | None) -> dict:
    """A watermark value (JSON) as a dict; an old or unreadable one counts as none (a full read)."""
    if not value:
        return {}
    try:
        mark = json.loads(value)
    except ValueError:
        return {}
    return mark if isinstance(mark, dict) else {}


def dump_mark(mark: dict) -> str:
    return json.dumps(mark, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

"""The one way forms-sync talks to Google: API root, authenticated services, bounded retries.

Every call goes through `execute` (or `GoogleSession.call`), so the retry rules, the error
messages and the secret redaction hold for Forms, Sheets and gspread alike.
"""
from __future__ import annotations

import functools
import http.client
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from forms_sync.errors import ConfigError
from forms_sync.google.credentials import load_credentials, redact
from forms_sync.google.errors import CredentialsError, GoogleRefused, GoogleUnavailable

log = logging.getLogger(__name__)

API_ROOT_ENV = "FORMS_SYNC_GOOGLE_API_ROOT"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

_HINTS: dict[int | str, str] = {
    400: "Google refused the request as invalid; this is a forms-sync bug, please report the message",
    401: "the credentials were not accepted; check the key file and that the key is not revoked",
    403: "no permission: share the form or spreadsheet with the service account's e-mail address and "
         "enable the Google Forms and Sheets APIs in its Cloud project",
    404: "not found: check the id; a deleted form cannot be brought back",
    "FAILED_PRECONDITION": "the form changed since it was read; run the command again",
}


def api_root() -> str | None:
    """The API root override (FORMS_SYNC_GOOGLE_API_ROOT, e.g. the sandbox), or None for Google."""
    root = os.environ.get(API_ROOT_ENV, "").strip()
    if not root:
        return None
    if not root.startswith(("http://", "https://")):
        raise ConfigError(f"{API_ROOT_ENV}={root!r} must be a URL such as http://127.0.0.1:8765")
    return root.rstrip("/")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter: at most `attempts` tries within `deadline` seconds.

    `timeout` bounds each HTTP request, so one hung connection cannot outlive the deadline by more.
    """

    attempts: int = 6
    deadline: float = 120.0
    initial_delay: float = 1.0
    max_delay: float = 30.0
    multiplier: float = 2.0
    timeout: float = 60.0

    def __post_init__(self):
        if self.attempts < 1 or self.deadline <= 0 or self.timeout <= 0 or self.initial_delay < 0:
            raise ConfigError("retry settings: attempts >= 1, deadline > 0 and timeout > 0 are required")

    def delay(self, attempt: int) -> float:
        """Wait before the attempt after `attempt` (1-based): half fixed, half random ("equal jitter")."""
        cap = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return cap / 2 + random.uniform(0, cap / 2)

    @classmethod
    def from_config(cls, google: dict) -> "RetryPolicy":
        """`[google] retry_attempts`, `retry_deadline` (s), `request_timeout` (s) of forms-sync.toml."""
        names = {"retry_attempts": "attempts", "retry_deadline": "deadline", "request_timeout": "timeout"}
        values = {}
        for key, attr in names.items():
            if key in google:
                value = google[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"[google] {key}: must be a number, got {value!r}")
                values[attr] = int(value) if attr == "attempts" else float(value)
        return cls(**values)


@dataclass(frozen=True)
class _Failure:
    retryable: bool
    description: str
    status: int | None = None
    reason: str | None = None
    retry_after: float | None = None


def execute(request: Any, what: str, policy: RetryPolicy = RetryPolicy()) -> Any:
    """Run an API request (an object with .execute(), or a zero-argument callable) with retries.

    Retries 429, 500, 502, 503, 504, connection errors and timeouts, never more than
    `policy.attempts` times nor past `policy.deadline`. Raises GoogleUnavailable when they run out,
    GoogleRefused for any other HTTP error, CredentialsError when the token request is refused.
    """
    run: Callable[[], Any] = request.execute if hasattr(request, "execute") else request
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return run()
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised when unknown
            failure = _classify(exc)
            if failure is None:
                raise
            if not failure.retryable:
                raise _refused(what, failure) from None
            elapsed = time.monotonic() - started
            wait = max(failure.retry_after or 0.0, policy.delay(attempt))
            if attempt >= policy.attempts or elapsed + wait > policy.deadline:
                raise GoogleUnavailable(
                    f"{what} failed after {attempt} attempt(s) in {elapsed:.1f}s: {failure.description}. "
                    "Google is unreachable or overloaded; check the network, wait a few minutes and run "
                    "the command again (it is safe to re-run), or raise [google] retry_attempts and "
                    "retry_deadline", what=what, status=failure.status, reason=failure.reason) from None
            log.warning("%s: %s; retrying in %.2fs (attempt %d of %d)", what, failure.description, wait,
                        attempt + 1, policy.attempts)
            time.sleep(wait)


def _refused(what: str, failure: _Failure) -> Exception:
    if failure.status is None:  # the token endpoint refused the credentials
        return CredentialsError(f"{what}: Google refused the credentials ({failure.description}); "
                                "check the service-account key")
    hint = _HINTS.get(failure.reason) or _HINTS.get(failure.status, "see the message from Google")
    return GoogleRefused(f"{what} was refused: {failure.description}; {hint}", what=what,
                         status=failure.status, reason=failure.reason)


def _classify(exc: Exception) -> _Failure | None:
    """What an exception from a client library means for retrying; None when it is not ours."""
    import httplib2
    import requests
    from google.auth import exceptions as auth_exc
    from googleapiclient.errors import HttpError

    try:
        import gspread
        gspread_error = gspread.exceptions.APIError
    except ImportError:  # pragma: no cover - gspread is a dependency
        gspread_error = ()

    if isinstance(exc, HttpError):
        headers = exc.resp or {}
        return _http_failure(int(exc.resp.status), exc.content, headers.get("retry-after"))
    if gspread_error and isinstance(exc, gspread_error):
        response = exc.response
        return _http_failure(response.status_code, response.content, response.headers.get("retry-after"))
    if isinstance(exc, auth_exc.RefreshError):
        description = "token request refused: " + redact(str(exc.args[0]) if exc.args else "")
        return _Failure(retryable=bool(getattr(exc, "retryable", False)), description=description)
    if isinstance(exc, auth_exc.TransportError):
        return _Failure(True, "token request failed: " + redact(str(exc)))
    if isinstance(exc, (TimeoutError, requests.Timeout)):
        return _Failure(True, "timed out")
    if isinstance(exc, (OSError, http.client.HTTPException, httplib2.HttpLib2Error,
                        requests.ConnectionError)):
        return _Failure(True, f"connection failed ({exc.__class__.__name__}: {redact(str(exc))})")
    return None


def _http_failure(status: int, content: bytes | str | None, retry_after: str | None) -> _Failure:
    reason, message = None, ""
    try:
        error = json.loads(content or b"{}").get("error", {})
        if isinstance(error, dict):
            reason = error.get("status")
            message = "; ".join(line.strip() for line in str(error.get("message", "")).splitlines())
        else:  # OAuth-style {"error": "invalid_grant", "error_description": ...}
            reason = str(error)
    except (ValueError, AttributeError):
        pass
    description = f"HTTP {status}" + (f" {reason}" if reason else "")
    if message:
        description += ": " + message.rstrip(".")
    try:
        after = float(retry_after) if retry_after else None
    except ValueError:
        after = None
    return _Failure(status in RETRYABLE_STATUS, redact(description), status, reason, after)


def service_endpoint(name: str, version: str, root: str) -> str:
    """The api_endpoint for `root`: googleapiclient replaces rootUrl+servicePath with it entirely."""
    from googleapiclient.discovery_cache import get_static_doc

    doc = json.loads(get_static_doc(name, version))
    return root.rstrip("/") + "/" + doc.get("servicePath", "")


def build_service(name: str, version: str, credentials, *, policy: RetryPolicy, root: str | None):
    """A googleapiclient Resource from the bundled discovery document (no discovery request)."""
    import google_auth_httplib2
    import httplib2
    from googleapiclient import discovery

    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=policy.timeout))
    options = {"api_endpoint": service_endpoint(name, version, root)} if root else None
    return discovery.build(name, version, http=http, static_discovery=True, cache_discovery=False,
                           client_options=options)


def gspread_client(credentials, *, root: str | None = None, timeout: float | None = None):
    """A gspread Client whose Sheets (and Drive) requests go to the API root override when set.

    gspread 6 builds URLs from constants in gspread.urls; rewriting them per request in an
    HTTPClient subclass keeps the module untouched, so other gspread users are unaffected.
    """
    import gspread
    from gspread.http_client import HTTPClient

    root = root if root is not None else api_root()
    http_client = HTTPClient if not root else _rooted_http_client(root)
    client = gspread.Client(auth=credentials, http_client=http_client)
    client.set_timeout(timeout)
    return client


@functools.lru_cache(maxsize=8)
def _rooted_http_client(root: str):
    from gspread.http_client import HTTPClient

    prefixes = ("https://sheets.googleapis.com/", "https://www.googleapis.com/")

    class RootedHTTPClient(HTTPClient):
        """gspread's HTTPClient with Google's hosts replaced by the API root."""

        def request(self, method, endpoint, *args, **kwargs):
            for prefix in prefixes:
                if endpoint.startswith(prefix):
                    endpoint = root.rstrip("/") + "/" + endpoint[len(prefix):]
                    break
            return super().request(method, endpoint, *args, **kwargs)

    return RootedHTTPClient


class GoogleSession:
    """Authenticated Forms/Sheets services with one retry policy, recording every call made.

    Credentials are loaded on first use, so commands that need no API call need no key.
    """

    def __init__(self, scopes: tuple[str, ...], credentials_path: str | os.PathLike | None = None, *,
                 policy: RetryPolicy | None = None, credentials=None):
        self.scopes = scopes
        self.credentials_path = credentials_path
        self.policy = policy or RetryPolicy()
        self.root = api_root()
        self._credentials = credentials
        self.calls: list[str] = []

    @property
    def credentials(self):
        if self._credentials is None:
            self._credentials = load_credentials(self.scopes, self.credentials_path, api_root=self.root)
        return self._credentials

    @functools.cached_property
    def forms(self):
        return build_service("forms", "v1", self.credentials, policy=self.policy, root=self.root)

    @functools.cached_property
    def sheets(self):
        return build_service("sheets", "v4", self.credentials, policy=self.policy, root=self.root)

    def gspread(self):
        return gspread_client(self.credentials, root=self.root, timeout=self.policy.timeout)

    def call(self, request: Any, what: str) -> Any:
        """execute() with this session's policy; the call is recorded once, however many attempts."""
        self.calls.append(what)
        return execute(request, what, self.policy)

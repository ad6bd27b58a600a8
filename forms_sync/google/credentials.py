"""Credentials with least-privilege scopes, and the rule that no secret reaches output or logs.

Order of precedence: an explicit key file (config `[google] credentials`), then the file named by
GOOGLE_APPLICATION_CREDENTIALS, then application default credentials (gcloud, metadata server).
When FORMS_SYNC_GOOGLE_API_ROOT is set, token requests go to `<root>/token` instead of Google.
"""
from __future__ import annotations

import json
import logging
import os
import re
import stat
from pathlib import Path

from forms_sync.google.errors import CredentialsError

log = logging.getLogger(__name__)

_AUTH = "https://www.googleapis.com/auth/"
#: `generate` writes form bodies and nothing else.
SCOPES_GENERATE = (_AUTH + "forms.body",)
#: `generate --dry-run` only reads the form it would change.
SCOPES_PLAN = (_AUTH + "forms.body.readonly",)
#: `sync` reads responses, the form's questions and response spreadsheets; it never writes.
SCOPES_SYNC = (_AUTH + "forms.responses.readonly", _AUTH + "forms.body.readonly",
               _AUTH + "spreadsheets.readonly")

_KEEP_LABEL = lambda m: m.group(1) + "[redacted]"  # noqa: E731
_SECRET_PATTERNS = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
     "[redacted]"),
    (re.compile(r"ya29\.[\w.-]+"), "[redacted]"),  # Google OAuth access tokens
    (re.compile(r"1//[\w.-]{20,}"), "[redacted]"),  # Google refresh tokens
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"), "[redacted]"),  # JWTs: signed assertions, ID tokens
    (re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+"), _KEEP_LABEL),
    (re.compile(r'(?i)("?(?:private_key|private_key_id|client_secret|refresh_token|access_token|assertion)"?'
                r'\s*[:=]\s*)(?:"[^"]*"|[^\s,&}]+)'), _KEEP_LABEL),
)


def redact(text: str) -> str:
    """Text with anything that looks like a key, token or assertion replaced by [redacted].

    Applied to every message built from remote or library text before it can be shown or logged.
    """
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def token_uri_for(root: str) -> str:
    """Where the emulator (or any API root override) answers OAuth2 token requests."""
    return root.rstrip("/") + "/token"


def load_credentials(scopes: tuple[str, ...], path: str | os.PathLike | None = None,
                     *, api_root: str | None = None):
    """google-auth credentials limited to `scopes`; CredentialsError with one clear line otherwise."""
    path = path or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") or None
    if path:
        return _from_file(Path(path), scopes, api_root)
    return _application_default(scopes, api_root)


def _from_file(path: Path, scopes, api_root):
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CredentialsError(f"credentials file {path} not found; give the path of a service-account "
                               "key (JSON) in [google] credentials or GOOGLE_APPLICATION_CREDENTIALS") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"credentials file {path} cannot be read ({exc.__class__.__name__})") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("credentials file %s is readable by group or others (mode %s); run: chmod 600 %s",
                    path, oct(stat.S_IMODE(mode)), path)
    try:
        info = json.loads(raw)
    except ValueError:
        raise CredentialsError(f"credentials file {path} is not valid JSON") from None
    if not isinstance(info, dict):
        raise CredentialsError(f"credentials file {path} is not a service-account key (a JSON object)")
    kind = info.get("type")
    try:
        if kind == "service_account":
            if api_root:
                info = {**info, "token_uri": token_uri_for(api_root)}
            return service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
        if kind == "authorized_user":
            creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(scopes))
            return _with_token_uri(creds, api_root)
    except (ValueError, KeyError) as exc:
        raise CredentialsError(f"credentials file {path} is not a usable {kind} key: {redact(str(exc))}") from None
    raise CredentialsError(f"credentials file {path} has type {kind!r}; expected a service-account key "
                           "(\"type\": \"service_account\"), see credentials.example.json")


def _application_default(scopes, api_root):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        creds, _project = google.auth.default(scopes=list(scopes))
    except DefaultCredentialsError:
        raise CredentialsError(
            "no Google credentials: set [google] credentials = \"path/to/key.json\" in the config, or "
            "GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`") from None
    return _with_token_uri(creds, api_root)


def _with_token_uri(creds, api_root):
    """Point a credential's token requests at the API root override, where the type allows it."""
    if not api_root:
        return creds
    if hasattr(creds, "with_token_uri"):
        return creds.with_token_uri(token_uri_for(api_root))
    if hasattr(creds, "_token_uri"):
        creds._token_uri = token_uri_for(api_root)
        return creds
    raise CredentialsError(f"{type(creds).__name__} credentials cannot be sent to the API root override "
                           f"{api_root}; use a service-account key file")

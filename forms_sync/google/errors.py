"""Errors of the Google side, each ending a command with its documented exit code.

2: the user must decide something (bad credentials, a form edited by hand, a broken lock file);
3: Google could not be reached or kept failing after the bounded retries.
"""
from __future__ import annotations

from forms_sync.errors import EXIT_UNREADABLE, EXIT_USAGE, ConfigError, FormsSyncError

EXIT_GOOGLE = EXIT_UNREADABLE  # 3: the remote side cannot be read or written


class CredentialsError(ConfigError):
    """No usable credentials, or Google refused them. Never carries key material."""


class RegistryError(FormsSyncError):
    """A lock file is unreadable, belongs to another API root, or names a form that is gone."""

    exit_code = EXIT_USAGE


class RevisionConflict(FormsSyncError):
    """The form was edited outside forms-sync since the last generate."""

    exit_code = EXIT_USAGE


class GoogleError(FormsSyncError):
    """A Google API call failed; `what` names the call (e.g. "forms.batchUpdate")."""

    exit_code = EXIT_GOOGLE

    def __init__(self, message: str, *, what: str, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.what = what
        self.status = status
        self.reason = reason


class GoogleUnavailable(GoogleError):
    """Unreachable, or still failing with a retryable error when the attempts or the deadline ran out."""


class GoogleRefused(GoogleError):
    """Google answered with a non-retryable error (400, 403, 404, ...)."""

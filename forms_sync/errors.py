"""Errors as data, and the exceptions that end a command with a documented exit code.

One record type (`Problem`) serves `validate`, `sync`, the `<form>__rejected` table and the feedback
to regions alike. Exceptions carry the exit code so the CLI only has to print and exit.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Exit codes (documented in README).
EXIT_OK = 0
EXIT_REFUSED = 1  # a row or a file was refused
EXIT_USAGE = 2  # usage error or invalid definition/config
EXIT_UNREADABLE = 3  # a source could not be read
EXIT_INTERNAL = 70  # a bug in forms-sync (EX_SOFTWARE): the details go to a crash report file
EXIT_LOCKED = 75  # another sync holds the lock (EX_TEMPFAIL)


@dataclass(frozen=True)
class Problem:
    """One reported problem. `row` is 1-based under the header; None for file-level problems."""

    row: int | None
    field: str | None
    value: str | None
    code: str
    message_id: str
    message_en: str
    level: str = "error"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FormsSyncError(Exception):
    """Base class: `str(exc)` is the one-line message shown to the user."""

    exit_code = EXIT_USAGE


class DefinitionError(FormsSyncError):
    """A form definition breaks FORMAT.md §1. Carries every problem found, each with its path."""

    exit_code = EXIT_USAGE

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))

    @classmethod
    def combined(cls, messages: list[str]) -> "DefinitionError":
        """Several files' errors, each message already naming its file."""
        exc = cls("", [])
        exc.problems = messages
        exc.args = ("\n".join(messages),)
        return exc


class ConfigError(FormsSyncError):
    exit_code = EXIT_USAGE


class UnreadableSource(FormsSyncError):
    """A file or remote source could not be read at all (exit 3)."""

    exit_code = EXIT_UNREADABLE


class LockHeld(FormsSyncError):
    exit_code = EXIT_LOCKED


class SchemaChangeRefused(FormsSyncError):
    """The definition changed in a way that needs `forms-sync migrate FORM`."""

    exit_code = EXIT_USAGE


class DatabaseError(FormsSyncError):
    """The database failed mid-run (connection lost, disk full, refused statement); exit 3 like
    any store that cannot be read or written. Each form's transaction is whole or absent."""

    exit_code = EXIT_UNREADABLE

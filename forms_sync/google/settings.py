"""The `[google]` table of forms-sync.toml, checked: credentials path, period window, retries.

    [google]
    credentials = "secrets/forms-sync-key.json"   # relative to the config file
    period_window = [12, 1]                       # periods back, periods forward in the drop-down
    retry_attempts = 6                            # per API call
    retry_deadline = 120                          # seconds, per API call
    request_timeout = 60                          # seconds, per HTTP request
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from forms_sync.errors import ConfigError
from forms_sync.google.builder import DEFAULT_PERIOD_WINDOW
from forms_sync.google.client import RetryPolicy


@dataclass(frozen=True)
class GoogleSettings:
    credentials: Path | None = None
    period_window: tuple[int, int] = DEFAULT_PERIOD_WINDOW
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_table(cls, table: dict, base_dir: Path = Path(".")) -> "GoogleSettings":
        if not isinstance(table, dict):
            raise ConfigError("[google] must be a table")
        credentials = table.get("credentials")
        if credentials is not None and not isinstance(credentials, str):
            raise ConfigError(f"[google] credentials: must be a path (text), got {credentials!r}")
        window = table.get("period_window", list(DEFAULT_PERIOD_WINDOW))
        if (not isinstance(window, list) or len(window) != 2
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in window)):
            raise ConfigError(f"[google] period_window: must be [back, forward], two whole numbers >= 0, "
                              f"got {window!r}")
        return cls(credentials=base_dir / credentials if credentials else None,
                   period_window=(window[0], window[1]), retry=RetryPolicy.from_config(table))

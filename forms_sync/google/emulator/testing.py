"""Test helpers: an in-process emulator with the environment pointing at it and a throwaway key.

    with google_sandbox(tmp_path) as sandbox:
        sandbox.emulator.inject(503, count=2)
        generate_forms([...])             # talks to sandbox.root with sandbox.key_file
"""
from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from forms_sync.google.client import API_ROOT_ENV
from forms_sync.google.credentials import token_uri_for
from forms_sync.google.emulator.server import Emulator, run_emulator
from forms_sync.google.sandbox import sandbox_key, write_key


@dataclass
class Sandbox:
    emulator: Emulator
    root: str
    key_file: Path
    key: dict  # the service-account JSON, to assert that none of it ever leaks

    def secrets(self) -> list[str]:
        """Every secret in play: the private key's body, its id, and each access token issued."""
        body = "".join(line for line in self.key["private_key"].splitlines() if "PRIVATE KEY" not in line)
        return [body[:64], body[-64:], self.key["private_key_id"], *self.emulator.tokens.issued()]


@functools.lru_cache(maxsize=1)
def _cached_key() -> dict:
    return sandbox_key()  # RSA generation is the slow part; one key per test process is plenty


@contextlib.contextmanager
def google_sandbox(directory: str | os.PathLike):
    """Run an emulator and set FORMS_SYNC_GOOGLE_API_ROOT and GOOGLE_APPLICATION_CREDENTIALS to it."""
    saved = {k: os.environ.get(k) for k in (API_ROOT_ENV, "GOOGLE_APPLICATION_CREDENTIALS")}
    with run_emulator() as emulator:
        key = {**_cached_key(), "token_uri": token_uri_for(emulator.root)}
        key_file = write_key(Path(directory) / "sandbox-key.json", key)
        os.environ[API_ROOT_ENV] = emulator.root
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(key_file)
        try:
            yield Sandbox(emulator, emulator.root, key_file, key)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

"""A local, strict emulator of the Google Forms v1, Sheets v4 and OAuth2 token APIs.

For tests (in-process, on a free port) and for the sandbox (`forms-sync sandbox serve`), so
generate -> fill -> sync can be tried and tested without a Google account or network.
"""
from forms_sync.google.emulator.admin import EmulatorAdmin
from forms_sync.google.emulator.server import Emulator, run_emulator, serve

__all__ = ["Emulator", "EmulatorAdmin", "run_emulator", "serve"]

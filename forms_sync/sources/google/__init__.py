"""Google sources: a Form's responses (Forms API) and a Sheet's tab (Sheets API through gspread).

Both only turn what Google returns into RawBatches of text answers, so they feed the one
validation path every source shares. `fetch(watermarks, full=)` returns (batches, new watermarks,
API calls); it reads everything it needs before returning, so a failure anywhere returns nothing
and the sync commits nothing for the form (UnreadableSource, exit 3, carrying the calls made).
"""
from __future__ import annotations

from forms_sync.config import Config, SourceConfig
from forms_sync.definition.model import FormDefinition
from forms_sync.errors import ConfigError
from forms_sync.sources.google.form import GoogleFormSource
from forms_sync.sources.google.sheet import GoogleSheetSource

__all__ = ["GoogleFormSource", "GoogleSheetSource", "google_source"]


def google_source(cfg: Config, definition: FormDefinition, source: SourceConfig):
    """The source object for a `google_form` or `google_sheet` entry of the config."""
    if source.type == "google_form":
        return GoogleFormSource(cfg, definition, source)
    if source.type == "google_sheet":
        return GoogleSheetSource(cfg, definition, source)
    raise ConfigError(f"sources[{source.index}]: {source.type!r} is not a Google source")

"""Reading text-like answers: missing markers, booleans, choices, multi-choices, free text.

Choice columns hold few distinct values, so each is resolved once per unique value and mapped
back; a multi-choice cell is split by the known options, never blindly at ", ".
"""
from __future__ import annotations

import json
from functools import lru_cache

import pandas as pd

from forms_sync.reading import no_codes

from forms_sync.definition.model import Field, fold_choice

MISSING_MARKERS = ("", "-", "_", ".")
BOOLEAN_WORDS = {
    "id": {"ya": True, "tidak": False, "true": True, "false": False},
    "en": {"yes": True, "no": False, "true": True, "false": False},
}


def normalise_missing(values: pd.Series) -> pd.Series:
    """Outer whitespace removed; empty, whitespace-only, `-`, `_` and `.` become NA."""
    s = values.astype("str").str.strip()
    return s.mask(s.isin(MISSING_MARKERS))


def read_booleans(values: pd.Series, locale: str) -> tuple[pd.Series, pd.Series]:
    words = BOOLEAN_WORDS[locale]
    folded = values.str.casefold()
    parsed = folded.map(words)
    codes = no_codes(values.index)
    codes[values.notna() & parsed.isna()] = "type"
    return parsed.astype("boolean"), codes


def read_choices(values: pd.Series, field: Field) -> tuple[pd.Series, pd.Series]:
    """Map each answer to its option's exact text (case- and space-insensitive)."""
    options = {fold_choice(c): c for c in field.choices}
    if field.type == "multi_choice":
        lookup = {u: _split_multi(u, field.choices) for u in values.dropna().unique()}
    else:
        lookup = {u: options.get(fold_choice(u)) for u in values.dropna().unique()}
    parsed = values.map(lookup)
    codes = no_codes(values.index)
    codes[values.notna() & parsed.isna()] = "choice"
    return parsed.astype(object), codes


def _split_multi(cell: str, choices: tuple[str, ...]) -> str | None:
    """Split a checkbox cell into known options; the canonical JSON list, or None if it can't."""
    picked = _parse_options(fold_choice(cell), tuple(fold_choice(c) for c in choices))
    if picked is None:
        return None
    return json.dumps([c for i, c in enumerate(choices) if i in picked], ensure_ascii=False)


@lru_cache(maxsize=4096)
def _parse_options(text: str, folded: tuple[str, ...]) -> frozenset[int] | None:
    """Cover `text` with options joined by commas (options may hold commas themselves)."""
    if not text:
        return frozenset()
    for i, opt in enumerate(folded):
        if text == opt:
            return frozenset({i})
        if text.startswith(opt + ","):
            rest = _parse_options(text[len(opt) + 1:], folded)
            if rest is not None:
                return rest | {i}
    return None


def read_text(values: pd.Series, field: Field) -> tuple[pd.Series, pd.Series]:
    """Text is kept as typed (outer whitespace removed); pattern and max_length are checked later."""
    return values.astype(object), no_codes(values.index)

"""Month names as people write them in Indonesian and English, for reading periods and dates.

Both languages are always accepted: no Indonesian and English month word names two different
months, so reading them together never guesses.
"""
from __future__ import annotations

MONTH_NAMES_ID = [
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
]
MONTH_NAMES_EN = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]
MONTH_ABBREVIATIONS_ID = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
MONTH_ABBREVIATIONS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# Spellings seen in government files besides the lists above: the pre-1972 spellings Pebruari and
# Nopember are still common, and August is shortened three ways.
_EXTRA_WORDS = {
    "pebruari": 2, "peb": 2, "agt": 8, "ags": 8, "sept": 9, "nop": 11, "nopember": 11,
}


def _build() -> dict[str, int]:
    words: dict[str, int] = {}
    for names in (MONTH_NAMES_ID, MONTH_NAMES_EN, MONTH_ABBREVIATIONS_ID, MONTH_ABBREVIATIONS_EN):
        for number, name in enumerate(names, start=1):
            words[name.lower()] = number
    words.update(_EXTRA_WORDS)
    return words


MONTHS: dict[str, int] = _build()
"""Lower-case month word (name or abbreviation, either language) -> month number 1..12."""

MONTH_WORD_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))
"""Regex alternation of every month word, longest first, for use with re.IGNORECASE."""


def month_number(word: str) -> int | None:
    """Month number for a month word ("Des", "desember", "Dec.", "NOP"), else None."""
    if not isinstance(word, str):
        return None
    return MONTHS.get(word.strip().rstrip(".").lower())


def month_name(number: int, locale: str = "id") -> str:
    """The full month name as the locale writes it ("Desember" / "December")."""
    names = MONTH_NAMES_EN if locale == "en" else MONTH_NAMES_ID
    return names[number - 1]

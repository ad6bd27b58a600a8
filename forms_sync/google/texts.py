"""What the generated form says to respondents, in Indonesian.

The Forms API cannot attach response validation, so these texts are the only place a respondent
learns the expected format; the sync job still checks every answer (FORMAT.md §2). Examples are
written in the definition's locale, so what the form shows is exactly what the sync reads back.
"""
from __future__ import annotations

import datetime as dt
import re

from forms_sync.definition.model import Field, FormDefinition
from forms_sync.reading.numbers import format_number
from forms_sync.reference.months import month_name

LEVEL_WORDS = {"province": "provinsi", "regency": "kabupaten/kota", "village": "desa/kelurahan"}
VILLAGE_EXAMPLE_CODE = "32.04.05.2001"
BOOLEAN_OPTIONS = {"id": ("Ya", "Tidak"), "en": ("Yes", "No")}


def form_description(definition: FormDefinition) -> str:
    """The form's description: the definition's own text, then how to fill the form in."""
    level = LEVEL_WORDS[definition.respondent]
    locale = definition.locale
    types = {f.type for f in definition.fields}
    lines = ["Petunjuk pengisian:",
             f"• Isi satu kali untuk setiap {level} dan periode. Jika ada perbaikan, kirim ulang formulir "
             "ini: kiriman terakhir yang dipakai."]
    if types & {"integer", "number"}:
        if locale == "en":
            lines.append("• Angka: koma (,) pemisah ribuan dan titik (.) desimal, mis. "
                         f"{format_number(1234.5, 'en')}; bilangan bulat tanpa desimal, mis. 1,234.")
        else:
            lines.append("• Angka: titik (.) pemisah ribuan dan koma (,) desimal, mis. "
                         f"{format_number(1234.5, 'id')}; bilangan bulat tanpa desimal, mis. 1.234.")
    if definition.due_days == 0:
        lines.append("• Batas waktu: paling lambat hari terakhir periode.")
    elif definition.due_days is not None:
        lines.append(f"• Batas waktu: paling lambat {definition.due_days} hari setelah periode berakhir.")
    lines.append("• Pertanyaan bertanda * wajib diisi.")
    intro = (definition.description or "").strip()
    return (intro + "\n\n" if intro else "") + "\n".join(lines)


def region_help(definition: FormDefinition, example_label: str | None = None) -> str:
    level = LEVEL_WORDS[definition.respondent]
    if definition.respondent == "village":
        example = example_label or VILLAGE_EXAMPLE_CODE
        return (f"Tulis kode {level} menurut Kemendagri, mis. {VILLAGE_EXAMPLE_CODE}; boleh diikuti "
                f"namanya, mis. {example}.")
    return f"Pilih kode dan nama {level} Anda dari daftar."


PERIOD_HELP = "Pilih periode data yang dilaporkan (bukan tanggal pengisian)."


def field_help(field: Field, locale: str) -> str:
    """The question's description: the definition's help, then the format the sync accepts."""
    parts = [field.help.strip()] if field.help and field.help.strip() else []
    hint = _format_hint(field, locale)
    if hint:
        parts.append(hint)
    return " ".join(parts)


def _format_hint(field: Field, locale: str) -> str:
    if field.type in ("integer", "number"):
        integer = field.type == "integer"
        example = format_number(1234 if integer else 1234.5, locale)
        if integer:
            text = f"Bilangan bulat, mis. {example}."
        elif locale == "en":
            text = f"Angka, titik untuk desimal, mis. {example}."
        else:
            text = f"Angka, koma untuk desimal, mis. {example}."
        bounds = _bounds(field, lambda v: format_number(v, locale, integer))
        return text + (f" {bounds}." if bounds else "")
    if field.type == "date":
        bounds = _bounds(field, lambda d: _date_words(d, locale))
        return f"{bounds}." if bounds else ""
    if field.type == "text":
        parts = []
        if field.pattern:
            parts.append(describe_pattern(field.pattern))
        if field.max_length and not (field.pattern and _DIGITS.fullmatch(field.pattern)):
            parts.append(f"Paling banyak {field.max_length} karakter.")
        return " ".join(parts)
    if field.type == "multi_choice":
        return "Boleh pilih lebih dari satu."
    return ""


def _bounds(field: Field, show) -> str:
    if field.min is not None and field.max is not None:
        return f"Antara {show(field.min)} dan {show(field.max)}"
    if field.min is not None:
        return f"Paling kecil {show(field.min)}"
    if field.max is not None:
        return f"Paling besar {show(field.max)}"
    return ""


def _date_words(day: dt.date, locale: str) -> str:
    return f"{day.day} {month_name(day.month, locale)} {day.year}"


_DIGITS = re.compile(r"\^?(?:\[0-9\]|\\d)\{(\d+)(?:,(\d+))?\}\$?")


def describe_pattern(pattern: str) -> str:
    """Words for a text pattern: "Tepat 6 angka" for ^[0-9]{6}$, else the pattern itself."""
    m = _DIGITS.fullmatch(pattern)
    if m:
        lo, hi = m.group(1), m.group(2)
        count = f"{lo} sampai {hi}" if hi else f"tepat {lo}"
        return f"{count[0].upper()}{count[1:]} angka (angka 0 di depan ikut ditulis)."
    return f"Harus sesuai pola {pattern}."

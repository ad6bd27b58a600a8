"""Fill-in templates a region can email back (CSV and XLSX), generated from the definition.

The header row is the question labels, exactly as the file source matches them. The XLSX adds an
instructions sheet in Indonesian (with English) listing each question's type, format and allowed
values, dropdowns for regions, periods and choices, and text-formatted cells so Excel keeps
leading zeros.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from forms_sync.definition.model import Field, FormDefinition
from forms_sync.exports import atomic_path
from forms_sync.reference import periods, regions

TYPE_WORDS = {
    "integer": ("Bilangan bulat", "Whole number"),
    "number": ("Angka (boleh desimal)", "Number (decimals allowed)"),
    "text": ("Teks", "Text"),
    "choice": ("Pilih satu", "One option"),
    "multi_choice": ("Pilih satu atau lebih", "One or more options"),
    "date": ("Tanggal", "Date"),
    "boolean": ("Ya/Tidak", "Yes/No"),
}


def headers(definition: FormDefinition) -> list[str]:
    return [definition.region_label, definition.period_label, *[f.label for f in definition.fields]]


def field_format(f: Field, locale: str) -> str:
    """How to write an answer, in words, for the instructions sheet and the form's help texts."""
    if f.type == "integer":
        text = "Tulis angka tanpa desimal, titik sebagai pemisah ribuan: 1.234" if locale == "id" else \
            "Digits without decimals, comma for thousands: 1,234"
    elif f.type == "number":
        text = "Titik pemisah ribuan, koma desimal: 1.234,5" if locale == "id" else \
            "Comma for thousands, point for decimals: 1,234.5"
    elif f.type == "date":
        text = "Tanggal/bulan/tahun: 03/12/2026 atau 3 Desember 2026" if locale == "id" else \
            "Month/day/year: 12/3/2026 or 3 December 2026"
    elif f.type == "boolean":
        text = "Ya atau Tidak" if locale == "id" else "Yes or No"
    elif f.type == "choice":
        text = "Salah satu: " + " | ".join(f.choices)
    elif f.type == "multi_choice":
        text = "Satu atau lebih, dipisah koma: " + " | ".join(f.choices)
    else:
        text = "Teks bebas"
        if f.max_length:
            text += f", paling banyak {f.max_length} karakter"
        if f.pattern:
            text += f", pola {f.pattern}"
    bounds = []
    if f.min is not None:
        bounds.append(f"min {f.min}")
    if f.max is not None:
        bounds.append(f"maks {f.max}")
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def write_templates(definition: FormDefinition, out_dir: Path, today: dt.date | None = None) -> list[Path]:
    out_dir = Path(out_dir)
    csv_path = out_dir / f"{definition.id}_template.csv"
    xlsx_path = out_dir / f"{definition.id}_template.xlsx"
    with atomic_path(csv_path) as tmp:
        import csv
        with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
            csv.writer(fh).writerow(headers(definition))
    with atomic_path(xlsx_path) as tmp:
        _write_xlsx(definition, tmp, today or dt.date.today())
    return [csv_path, xlsx_path]


def _write_xlsx(definition: FormDefinition, path: Path, today: dt.date) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "Isian"
    head = headers(definition)
    ws.append(head)
    bold = Font(bold=True)
    for i, cell in enumerate(ws[1], start=1):
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        ws.column_dimensions[cell.column_letter].width = max(14, min(40, len(head[i - 1]) + 4))
    ws.freeze_panes = "A2"

    lists = wb.create_sheet("Daftar")
    lists.sheet_state = "hidden"
    columns: list[tuple[int, list[str]]] = []
    if definition.respondent != "village":
        columns.append((1, regions.load().dropdown_options(definition.respondent)))
    # Periods that have ended (the one under way is not reported yet), newest first.
    window = periods.periods_window(definition.period, today, back=12, forward=0)[:-1]
    columns.append((2, [periods.period_label(p, definition.locale) for p in reversed(window)]))
    for i, f in enumerate(definition.fields, start=3):
        if f.type == "choice":
            columns.append((i, list(f.choices)))
        elif f.type == "boolean":
            columns.append((i, ["Ya", "Tidak"] if definition.locale == "id" else ["Yes", "No"]))
    for n, (col, values) in enumerate(columns, start=1):
        letter = lists.cell(row=1, column=n).column_letter
        for r, v in enumerate(values, start=1):
            lists.cell(row=r, column=n, value=v)
        dv = DataValidation(type="list", formula1=f"=Daftar!${letter}$1:${letter}${len(values)}",
                            allow_blank=True, showErrorMessage=definition.respondent != "village" or col != 1)
        target = ws.cell(row=2, column=col).column_letter
        dv.add(f"{target}2:{target}2000")
        ws.add_data_validation(dv)
    for i, f in enumerate(definition.fields, start=3):  # text cells stay text: leading zeros survive
        if f.type == "text":
            letter = ws.cell(row=1, column=i).column_letter
            for r in range(2, 202):
                ws[f"{letter}{r}"].number_format = "@"

    info = wb.create_sheet("Petunjuk", 0)
    info.append([definition.title])
    info["A1"].font = Font(bold=True, size=14)
    if definition.description:
        info.append([definition.description.strip()])
    info.append(["Isi satu baris per wilayah per periode di lembar 'Isian'. Jangan ubah judul kolom. "
                 "Kirim berkas ini kembali sebagai .xlsx atau CSV."])
    info.append(["Fill one row per region per period on the 'Isian' sheet. Do not change the headers."])
    if definition.due_days is not None:
        info.append([f"Batas waktu: {definition.due_days} hari setelah periode berakhir. "
                     f"Deadline: {definition.due_days} days after the period ends."])
    info.append([])
    info.append(["Kolom / Column", "Jenis / Type", "Cara menulis / Format", "Wajib / Required", "Keterangan / Help"])
    for c in info[info.max_row]:
        c.font = bold
    example = regions.load().dropdown_options("regency")[0] if definition.respondent == "regency" else ""
    region_help = {"regency": f"Pilih dari daftar, mis. {example or '32.04 Kabupaten Bandung'}",
                   "province": "Pilih dari daftar, mis. 32 Jawa Barat",
                   "village": "Kode desa/kelurahan Kemendagri, mis. 32.04.05.2001"}[definition.respondent]
    info.append([definition.region_label, "Wilayah", region_help, "Ya", ""])
    info.append([definition.period_label, "Periode", f"mis. {periods.period_example(definition.period)}", "Ya", ""])
    for f in definition.fields:
        words = TYPE_WORDS[f.type]
        info.append([f.label, f"{words[0]} / {words[1]}", field_format(f, definition.locale),
                     "Ya" if f.required else "Tidak", f.help or ""])
    for rule in definition.rules:
        info.append([f"Aturan: {rule.name}", "", rule.check, "", rule.message])
    for col, width in zip("ABCDE", (34, 28, 60, 16, 50)):
        info.column_dimensions[col].width = width
    for row in info.iter_rows():
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    wb.active = 1
    wb.save(path)

"""Deterministic sync projects for the store tests: definitions, response CSVs and a config.

`write_project(folder, scale)` writes two forms in the Indonesian locale, each over several files,
with every field type, a few refused rows (bad numbers, unknown regions, broken rules) and
resubmissions (some later, some with the same timestamp), so a sync exercises every table.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEKOLAH = """\
id: rekap_sekolah
version: 1
title: Rekapitulasi Jumlah Sekolah dan Siswa
respondent: regency
period: monthly
due_days: 10
locale: id
fields:
- {name: jumlah_sd, label: Jumlah SD, type: integer, min: 0}
- {name: siswa_laki_laki, label: Jumlah siswa laki-laki, type: integer, min: 0}
- {name: siswa_perempuan, label: Jumlah siswa perempuan, type: integer, min: 0}
- {name: total_siswa, label: Total siswa, type: integer, min: 0}
- {name: anggaran, label: Realisasi anggaran (Rp), type: number, min: 0, required: false}
- {name: status_data, label: Status data, type: choice, choices: [Final, Sementara]}
- {name: sumber, label: Sumber dana, type: multi_choice, choices: ["APBD, provinsi", APBN, Swasta], required: false}
- {name: ada_perpustakaan, label: Ada perpustakaan, type: boolean, required: false}
- {name: tanggal_data, label: Tanggal data, type: date, required: false}
- {name: catatan, label: Catatan, type: text, required: false}
rules:
- name: total_siswa
  check: total_siswa == siswa_laki_laki + siswa_perempuan
  message: Total siswa harus sama dengan jumlah siswa laki-laki ditambah perempuan.
"""

KESEHATAN = """\
id: rekap_puskesmas
version: 1
title: Rekap Layanan Puskesmas
respondent: province
period: quarterly
locale: id
fields:
- {name: kunjungan, label: Jumlah kunjungan, type: integer, min: 0}
- {name: rasio, label: Rasio dokter per 1.000 penduduk, type: number, min: 0}
- {name: keterangan, label: Keterangan, type: text, required: false}
"""

MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember"]
TRICKY_TEXT = ["O'Brien \\ tab\there", "baris satu\nbaris dua", "=SUM(A1)", "emoji 🌧️ banjir", "Jalan \"Merdeka\"",
               "x" * 70_000, "  spasi  ", "日本語", "\\N", "NULL"]


def _id_number(value: float, decimals: int = 0) -> str:
    """A number as people in the `id` locale type it: 1.234.567,5."""
    whole = f"{int(value):,}".replace(",", ".")
    if not decimals:
        return whole
    frac = f"{value:.{decimals}f}".split(".")[1]
    return f"{whole},{frac}"


def write_project(folder: Path, *, regencies: int = 60, months: int = 3, files: int = 3, provinces: int = 38,
                  seed: int = 5, database: str | None = None) -> Path:
    """Write defs/, in/*.csv and forms-sync.toml under folder; returns the config path."""
    from forms_sync.reference.regions import load

    rng = np.random.default_rng(seed)
    ref = load()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "defs").mkdir(exist_ok=True)
    (folder / "in").mkdir(exist_ok=True)
    (folder / "defs" / "rekap_sekolah.yaml").write_text(SEKOLAH, encoding="utf-8")
    (folder / "defs" / "rekap_puskesmas.yaml").write_text(KESEHATAN, encoding="utf-8")

    regency_codes = ref.codes_for_level("regency")[:regencies]
    rows = []
    for m in range(months):
        for i, code in enumerate(regency_codes):
            boys, girls = (int(x) for x in rng.integers(0, 200_000, 2))
            stamp = f"{1 + (i % 28):02d}/{(m + 1) % 12 + 1:02d}/2026 {{hour:02d}}:{i % 60:02d}:{(i * 7) % 60:02d}"
            row = [stamp.format(hour=8 + i % 10), code if i % 3 else ref.dropdown_label(code), f"{MONTHS[m]} 2026",
                   _id_number(rng.integers(0, 3000)), _id_number(boys), _id_number(girls), _id_number(boys + girls),
                   "" if i % 5 == 0 else "Rp " + _id_number(rng.integers(0, 10**9) + rng.integers(0, 100) / 100, 2),
                   "Final" if i % 4 else "sementara",
                   ["", "APBD, provinsi", "APBN, Swasta", "APBD, provinsi, APBN"][i % 4],
                   ["Ya", "Tidak", ""][i % 3], "" if i % 2 else f"{1 + i % 28}/{m + 1}/2026",
                   TRICKY_TEXT[i % len(TRICKY_TEXT)] if i % 7 == 0 else ""]
            if i % 29 == 5:
                row[3] = "1.5"  # ambiguous number: refused
            if i % 31 == 7:
                row[1] = "99.99"  # unknown region: refused
            if i % 37 == 11:
                row[6] = _id_number(boys + girls + 1)  # rule broken: refused
            rows.append(row)
            if i % 11 == 3:  # a resubmission: later, or at the same second (row order decides)
                again = list(row)
                again[3] = _id_number(rng.integers(0, 3000))
                if i % 2:  # an hour later; else the very same timestamp
                    again[0] = stamp.format(hour=9 + i % 10)
                rows.append(again)
    header = ["Stempel waktu", "Kabupaten/Kota", "Periode", "Jumlah SD", "Jumlah siswa laki-laki",
              "Jumlah siswa perempuan", "Total siswa", "Realisasi anggaran (Rp)", "Status data", "Sumber dana",
              "Ada perpustakaan", "Tanggal data", "Catatan"]
    _write_files(folder / "in", "sekolah", header, rows, files)

    province_codes = ref.codes_for_level("province")[:provinces]
    prows = []
    for q in range(1, 5):
        for i, code in enumerate(province_codes):
            prows.append([f"{5 + i % 20:02d}/{3 * q % 12 + 1:02d}/2026 10:00:00", code, f"Triwulan {['I', 'II', 'III', 'IV'][q - 1]} 2026",
                          _id_number(rng.integers(0, 10**6)), _id_number(rng.integers(0, 5000) / 1000, 3),
                          "" if i % 3 else TRICKY_TEXT[(i + q) % len(TRICKY_TEXT)]])
    _write_files(folder / "in", "puskesmas", ["Stempel waktu", "Provinsi", "Periode", "Jumlah kunjungan",
                                              "Rasio dokter per 1.000 penduduk", "Keterangan"], prows, 2)

    config = folder / "forms-sync.toml"
    db_line = f'database = "{database}"\n' if database else ""
    config.write_text(f'definitions = "defs"\n{db_line}exports = "exports"\n'
                      '[[sources]]\nform = "rekap_sekolah"\ntype = "files"\npaths = ["in/sekolah_*.csv"]\n'
                      '[[sources]]\nform = "rekap_puskesmas"\ntype = "files"\npaths = ["in/puskesmas_*.csv"]\n',
                      encoding="utf-8")
    return config


def _write_files(folder: Path, stem: str, header: list[str], rows: list[list[str]], files: int) -> None:
    per = -(-len(rows) // files)
    for n in range(files):
        with open(folder / f"{stem}_{n + 1:02d}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows[n * per:(n + 1) * per])

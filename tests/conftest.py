"""Shared fixtures: paths to the shared contracts and a runner for the installed CLI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CASES = SHARED / "cases"


def cli_path() -> str:
    exe = Path(sys.executable).with_name("forms-sync")
    return str(exe) if exe.exists() else (shutil.which("forms-sync") or "forms-sync")


@pytest.fixture
def run_cli(tmp_path):
    """Run `forms-sync ...` as a user would (a subprocess), in tmp_path unless cwd is given."""
    def run(*args, cwd=None, env=None, input=None):
        full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
        return subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True,
                              cwd=cwd or tmp_path, env=full_env, input=input, timeout=300)
    return run


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


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
- {name: catatan, label: Catatan, type: text, required: false, max_length: 500}
rules:
- name: total_siswa
  check: total_siswa == siswa_laki_laki + siswa_perempuan
  message: Total siswa harus sama dengan jumlah siswa laki-laki ditambah perempuan.
  message_en: Total pupils must equal boys plus girls.
"""

HEADER = ("Stempel waktu,Kabupaten/Kota,Periode,Jumlah SD,Jumlah siswa laki-laki,Jumlah siswa perempuan,"
          "Total siswa,Realisasi anggaran (Rp),Status data,Catatan\n")


@pytest.fixture
def sekolah(tmp_path) -> Path:
    return write(tmp_path / "defs" / "rekap_sekolah.yaml", SEKOLAH)

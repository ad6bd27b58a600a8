"""Operations: JSON log lines with a run id on each, per-form counts in the log and in `_sync_runs`,
and no email address or phone number in any log line."""
from __future__ import annotations

import json
import re
import sqlite3

import pytest

from conftest import write
from forms_sync.logs import mask
from sync_data import write_project

COUNTS = ["read", "new", "updated", "unchanged", "accepted", "rejected", "superseded"]


@pytest.mark.parametrize("text, expected", [
    ("kirim ke dinas.pendidikan@example.go.id ya", "kirim ke d***@example.go.id ya"),
    ("hubungi 0812-3456-7890 atau +62 812 3456 7890", "hubungi 0812******90 atau +62812******90"),
    ("wa 6281234567890, kantor 08119876543", "wa 62812******90, kantor 0811*****43"),
    ("kode 32.04.05.2001, 1.234.567 siswa, 2026-12-03 09:15:02, Rp 1.500.000,50", None),
])
def test_mask(text, expected):
    assert mask(text) == (expected or text)


def test_json_log_has_run_id_counts_and_no_personal_data(run_cli, tmp_path):
    config = write_project(tmp_path, regencies=12, months=1, files=1, provinces=3)
    # an email and a phone number typed into the timestamp column: the file's error quotes them
    header = (tmp_path / "in" / "sekolah_01.csv").read_text(encoding="utf-8").splitlines()[0]
    write(tmp_path / "in" / "sekolah_02.csv", header + "\nguru@sekolah.sch.id 0812-3456-7890,11.01,Januari 2026,"
                                                  "1,1,1,2,,Final,,,,\n")
    p = run_cli("--log-format", "json", "sync", "--no-export", "--config", config)
    assert p.returncode == 1, p.stderr
    lines = [json.loads(line) for line in p.stderr.splitlines()]
    assert lines and all(e["run_id"] == lines[0]["run_id"] and e["level"] and e["time"] for e in lines)
    assert "g***@sekolah.sch.id 0812******90" in p.stderr  # the message is there, masked
    assert "guru@" not in p.stderr and "3456-7890" not in p.stderr
    forms = {e["form"]: e for e in lines if "counts" in e}
    assert set(forms) == {"rekap_sekolah", "rekap_puskesmas"}
    assert list(forms["rekap_sekolah"]["counts"]) == COUNTS and forms["rekap_sekolah"]["counts"]["rejected"] >= 2
    assert all(e["sync_run"] == 1 for e in lines if "counts" in e)

    with sqlite3.connect(tmp_path / "forms_sync.db") as conn:
        status, counts = conn.execute("SELECT status, counts FROM _sync_runs").fetchone()
    assert status == "refused"
    stored = json.loads(counts)["rekap_sekolah"]
    assert {k: stored[k] for k in COUNTS} == forms["rekap_sekolah"]["counts"]

    second = run_cli("--log-format", "json", "sync", "--no-export", "--config", config)
    run_ids = {json.loads(line)["run_id"] for line in second.stderr.splitlines()}
    assert len(run_ids) == 1 and run_ids != {lines[0]["run_id"]}


def test_text_log_and_errors(run_cli, tmp_path):
    config = write_project(tmp_path, regencies=3, months=1, files=1, provinces=1)
    p = run_cli("sync", "--no-export", "--config", config)
    assert p.returncode == 0 and "INFO forms_sync.sync: form rekap_sekolah: ok; 3 read, 3 new" in p.stderr
    write(tmp_path / "bad.toml", "nonsense = 1\n")
    p = run_cli("--log-format", "json", "sync", "--config", tmp_path / "bad.toml")
    entry = json.loads(p.stderr)
    assert p.returncode == 2 and entry["level"] == "error" and "unknown key" in entry["message"] and entry["exit"] == 2


def test_text_log_records_are_one_line_each(run_cli, tmp_path):
    """A multi-line timestamp cell is quoted in the file's error: still one log line per record."""
    config = write_project(tmp_path, regencies=3, months=1, files=1, provinces=1)
    header = (tmp_path / "in" / "sekolah_01.csv").read_text(encoding="utf-8").splitlines()[0]
    write(tmp_path / "in" / "sekolah_02.csv", header + '\n"03/12/2026\nbaris dua\r\nbaris tiga",11.01,Januari 2026,'
                                                  "1,1,1,2,,Final,,,,\n")
    p = run_cli("sync", "--no-export", "--config", config)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+ ", line) for line in lines), p.stderr
    assert any("03/12/2026\\nbaris dua\\r\\nbaris tiga" in line for line in lines), p.stderr

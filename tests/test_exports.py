"""Files people read: permissions of exports, templates and --clean-out; OS errors as one line;
refused files named in the sync summary; message catalogue wholly in each language."""
from __future__ import annotations

import json
import os
import stat
import subprocess

import pandas as pd
import pytest

from conftest import HEADER, cli_path, write
from forms_sync.exports import atomic_path, write_csv_atomic
from forms_sync.messages import CATALOGUE, render

ROW = ("03/12/2026 09:15:02,32.04 Kabupaten Bandung,November 2026,1.234,120.500,118.250,238.750,"
       "\"Rp 1.500.000,50\",Final,ok\n")


def run_umask(*args, cwd, umask=0o022):
    return subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"}, timeout=300,
                          preexec_fn=lambda: os.umask(umask))


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_exports_templates_and_clean_out_are_0644_under_umask_022(sekolah, tmp_path):
    write(tmp_path / "inbox" / "a.csv", HEADER + ROW)
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n'
          'exports = "exports"\n[[sources]]\nform = "rekap_sekolah"\ntype = "files"\npaths = ["inbox/*"]\n')
    p = run_umask("sync", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    made = sorted((tmp_path / "exports").iterdir())
    assert {f.suffix for f in made} == {".csv", ".parquet", ".xlsx"}
    p = run_umask("template", "rekap_sekolah", "--definitions", "defs", "--out", "tpl", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    made += sorted((tmp_path / "tpl").iterdir())
    p = run_umask("validate", sekolah, tmp_path / "inbox" / "a.csv", "--clean-out", "clean.csv", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    made.append(tmp_path / "clean.csv")
    assert len(made) == 6
    assert {f.name: oct(mode(f)) for f in made} == {f.name: oct(0o644) for f in made}
    assert not [f for f in tmp_path.rglob("*.tmp")]


def test_atomic_path_follows_the_umask_and_fixes_an_old_0600_file(tmp_path):
    old = os.umask(0o027)
    try:
        target = tmp_path / "out.csv"
        target.write_text("old")
        target.chmod(0o600)  # written by an earlier version
        write_csv_atomic(pd.DataFrame({"a": [1]}), target)
        assert mode(target) == 0o640
    finally:
        os.umask(old)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "x.csv") as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_os_error_is_one_line_exit_3(run_cli, sekolah, tmp_path, log_format):
    p = run_cli("--log-format", log_format, "template", "rekap_sekolah", "--definitions", "defs",
                "--out", "/proc/x")
    assert p.returncode == 3, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    line = json.loads(lines[0])["message"] if log_format == "json" else lines[0]
    assert line.startswith(("error: cannot write /proc/x: ", "cannot write /proc/x: ")), line
    assert "run the command again" in line


def test_sync_summary_names_unreadable_and_refused_files(run_cli, sekolah, tmp_path):
    write(tmp_path / "inbox" / "a.csv", HEADER + ROW)
    (tmp_path / "inbox" / "garbage.csv").write_bytes(bytes(range(256)) * 50)
    write(tmp_path / "inbox" / "header_only.csv", HEADER)
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n'
          '[[sources]]\nform = "rekap_sekolah"\ntype = "files"\npaths = ["inbox/*"]\n')
    p = run_cli("sync", "--no-export")
    assert p.returncode == 3, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    garbage = [ln for ln in lines if "inbox/garbage.csv" in ln]
    header = [ln for ln in lines if "inbox/header_only.csv" in ln]
    assert len(garbage) == 1 and "unreadable_file" in garbage[0] and "cannot be read" in garbage[0]
    assert len(header) == 1 and "empty_file" in header[0] and "only a header row" in header[0]
    assert not [ln for ln in lines if "inbox/a.csv" in ln]


def test_file_messages_are_each_in_one_language():
    mid, men = render("empty_file", reason="hanya ada baris judul / only a header row")
    assert "only" not in mid and "hanya" not in men and "/" not in mid + men
    assert render("empty_file.header_only") == (mid, men)
    mid, men = render("empty_file", reason_id="tidak ada baris", reason_en="no rows")
    assert "tidak ada baris" in mid and "no rows" in men and "tidak" not in men
    mid, men = render("unreadable_file", reason="x.csv: not a CSV file. Save it as CSV.")
    assert not mid.endswith("..") and not men.endswith("..") and men.endswith("Save it as CSV.")
    assert mid.startswith("Berkas tidak bisa dibaca.") and "cannot" not in mid.split("Keterangan teknis")[0]
    for key, (text_id, text_en) in CATALOGUE.items():
        assert "hanya" not in text_en and "baris judul" not in text_en, key

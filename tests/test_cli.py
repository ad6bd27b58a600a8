"""The CLI end to end, as a user runs it (subprocess): exit codes, one-line errors, no tracebacks."""
from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3

import openpyxl
import pytest

from conftest import HEADER, write

ROW = "03/12/2026 09:15:02,32.04 Kabupaten Bandung,November 2026,1.234,120.500,118.250,238.750,\"Rp 1.500.000,50\",Final,ok\n"


def no_traceback(p):
    assert "Traceback" not in p.stderr + p.stdout, p.stderr


def test_validate_ok_text_and_json(run_cli, sekolah, tmp_path):
    f = write(tmp_path / "in.csv", HEADER + ROW)
    p = run_cli("validate", sekolah, f)
    assert p.returncode == 0 and "1 accepted" in p.stdout
    p = run_cli("validate", sekolah, f, "--format", "json", "--clean-out", tmp_path / "c.csv")
    rep = json.loads(p.stdout)
    assert (rep["rows"], rep["accepted"], rep["rejected"]) == (1, 1, 0)
    rows = list(csv.DictReader(open(tmp_path / "c.csv", encoding="utf-8")))
    assert rows[0]["anggaran"] == "1500000.5" and rows[0]["region"] == "32.04"


@pytest.mark.parametrize("content,why", [
    (b"", "empty"),
    (b"\x00\x01\x02\xff\xfe\x00garbage" * 100, "binary"),
    (b"PK\x03\x04 not really a zip", "xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "xls"),
])
def test_unreadable_inputs_exit_3_with_one_line(run_cli, sekolah, tmp_path, content, why):
    f = tmp_path / f"bad_{why}.csv"
    f.write_bytes(content)
    p = run_cli("validate", sekolah, f)
    assert p.returncode == 3, (why, p.stdout, p.stderr)
    no_traceback(p)
    assert str(f) in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = run_cli("validate", sekolah, f, "--format", "json")
    assert p.returncode == 3 and json.loads(p.stdout)["errors"][0]["code"] == "unreadable_file"


def test_missing_file_and_bad_definition(run_cli, sekolah, tmp_path):
    p = run_cli("validate", sekolah, tmp_path / "nope.csv")
    assert p.returncode == 3 and "file not found" in p.stderr
    bad = write(tmp_path / "bad.yaml", "id: x\nversion: 1\n")
    p = run_cli("validate", bad, write(tmp_path / "in.csv", HEADER + ROW))
    assert p.returncode == 2 and "bad.yaml: title: required" in p.stderr
    no_traceback(p)


def test_header_only_file_is_refused(run_cli, sekolah, tmp_path):
    p = run_cli("validate", sekolah, write(tmp_path / "h.csv", HEADER), "--format", "json")
    rep = json.loads(p.stdout)
    assert p.returncode == 1 and rep["errors"][0]["code"] == "empty_file" and rep["rows"] == 0


def test_huge_cell_is_refused_not_echoed(run_cli, sekolah, tmp_path):
    big = "x" * 1_000_000
    f = write(tmp_path / "big.csv", HEADER + ROW.replace(",ok\n", f",{big}\n"))
    p = run_cli("validate", sekolah, f, "--format", "json")
    rep = json.loads(p.stdout)
    assert p.returncode == 1 and rep["errors"][0]["code"] == "max_length"
    assert len(p.stdout) < 5000  # the value is cut in the report, not echoed whole


@pytest.mark.parametrize("mac", [True, False])
def test_lone_cr_line_ends_are_line_ends(run_cli, sekolah, tmp_path, mac):
    """Excel's "CSV (Macintosh)" ends every line with CR alone; in a file of LF lines, a stray CR
    ends its line too (as in Excel). A CR inside quotes stays in the cell."""
    second = ROW.replace("32.04 Kabupaten Bandung", "32.73 Kota Bandung").replace(",ok\n", ',"dua\rbaris"\n')
    text = (HEADER + ROW + second).replace("\n", "\r") if mac else HEADER + ROW.replace("\n", "\r") + second
    if mac:  # separated by semicolons, with more commas in the rows than semicolons in the header
        text = text.replace(",", ";").replace('"Rp 1.500.000;50"', "Rp 1.500.000,50") + "\r".join(
            ";".join(["03/12/2026 10:00:00", "32.05", "November 2026", "1", "1", "1", "2", "1", "Final",
                      '"a, b, c, d, e, f, g, h, i, j, k"']) for _ in range(3)) + "\r"
    f = tmp_path / "in.csv"
    f.write_bytes(text.encode("utf-8"))
    p = run_cli("validate", sekolah, f, "--format", "json")
    no_traceback(p)
    rep = json.loads(p.stdout)
    assert p.returncode == 0 and (rep["rows"], rep["accepted"], rep["superseded"]) == (
        (5, 3, 2) if mac else (2, 2, 0)), p.stdout + p.stderr


@pytest.mark.parametrize("encoding,sep", [("cp1252", ","), ("utf-8-sig", ";"), ("utf-16", "\t")])
def test_encodings_and_separators(run_cli, sekolah, tmp_path, encoding, sep):
    row = ROW.replace(",ok\n", ",Catatan café\n")
    header, data = HEADER, row
    if sep != ",":
        header = header.replace(",", sep)
        data = (row.replace(",", sep).replace('"Rp 1.500.000' + sep + '50"', "Rp 1.500.000,50")
                .replace("1.234" + sep, "1.234" + sep))
    f = write(tmp_path / "in.csv", header + data, encoding)
    p = run_cli("validate", sekolah, f, "--format", "json", "--clean-out", tmp_path / "c.csv")
    rep = json.loads(p.stdout)
    assert rep["accepted"] == 1, rep
    assert list(csv.DictReader(open(tmp_path / "c.csv", encoding="utf-8")))[0]["catatan"] == "Catatan café"


def test_timestamps_in_wrong_locale_fail_the_file(run_cli, sekolah, tmp_path):
    f = write(tmp_path / "in.csv", HEADER + ROW.replace("03/12/2026", "13/12/2026"))
    p = run_cli("validate", sekolah, f, "--format", "json", "--locale", "en")
    rep = json.loads(p.stdout)
    assert p.returncode == 1 and [e["code"] for e in rep["errors"]] == ["bad_timestamp"]
    assert rep["rejected"] == 1 and rep["errors"][0]["row"] is None
    error = rep["errors"][0]
    assert error["message_en"] == ('Timestamp "13/12/2026 09:15:02" in row 1 cannot be read (expected '
                                   "month/day/year hour:minute:second, e.g. 12/3/2026 09:15:02); the file was refused.")
    assert "(format bulan/hari/tahun jam:menit:detik, mis. 12/3/2026 09:15:02)" in error["message_id"]


def test_check_command(run_cli, sekolah, tmp_path):
    p = run_cli("check", sekolah.parent)
    assert p.returncode == 0 and "rekap_sekolah" in p.stdout
    write(sekolah.parent / "b.yaml", "id: b\nversion: 1\ntitle: B\nrespondent: regency\nperiod: monthly\n"
          "fields:\n- {name: a, label: A, type: integer, min: x}\n")
    p = run_cli("check", sekolah.parent)
    assert p.returncode == 2 and "b.yaml: fields[0].min: must be a number" in p.stderr
    no_traceback(p)


def test_template_round_trip(run_cli, sekolah, tmp_path):
    """A region fills the generated XLSX template with typed cells; it validates as sent."""
    p = run_cli("template", sekolah, "--out", tmp_path / "t")
    assert p.returncode == 0, p.stderr
    wb = openpyxl.load_workbook(tmp_path / "t" / "rekap_sekolah_template.xlsx")
    assert wb.sheetnames[:2] == ["Petunjuk", "Isian"]
    text = " ".join(str(c.value) for row in wb["Petunjuk"].iter_rows() for c in row if c.value)
    assert "Jumlah SD" in text and "1.234" in text and "Final | Sementara" in text
    ws = wb["Isian"]
    ws.append(["32.04 Kabupaten Bandung", "November 2026", 10, 5, 5, 10, 1234.5, "Final", "007"])
    wb.save(tmp_path / "filled.xlsx")
    p = run_cli("validate", sekolah, tmp_path / "filled.xlsx", "--format", "json", "--clean-out", tmp_path / "c.csv")
    assert json.loads(p.stdout)["accepted"] == 1, p.stdout
    row = list(csv.DictReader(open(tmp_path / "c.csv", encoding="utf-8")))[0]
    assert row["anggaran"] == "1234.5" and row["catatan"] == "007"
    header = open(tmp_path / "t" / "rekap_sekolah_template.csv", encoding="utf-8-sig").readline().strip()
    assert header.startswith("Kabupaten/Kota,Periode,Jumlah SD")


def test_sync_status_and_rerun(run_cli, sekolah, tmp_path):
    inbox = tmp_path / "inbox"
    write(inbox / "a.csv", HEADER + ROW + ROW.replace("32.04 Kabupaten Bandung", "Bandung")
          + ROW.replace("09:15:02", "10:00:00").replace(",ok\n", ",=HYPERLINK(\"x\")\n"))
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///out/fs.db"\n'
          'exports = "out/exports"\n[[sources]]\nform = "rekap_sekolah"\ntype = "files"\npaths = ["inbox/*.csv"]\n')
    p = run_cli("sync", "--format", "json")
    no_traceback(p)
    rep = json.loads(p.stdout)
    form = rep["forms"][0]
    assert p.returncode == 1 and (form["new"], form["accepted"], form["rejected"], form["superseded"]) == (3, 1, 1, 1)
    db = sqlite3.connect(tmp_path / "out" / "fs.db")
    assert db.execute("select catatan from rekap_sekolah").fetchall() == [('=HYPERLINK("x")',)]
    assert db.execute("select code from rekap_sekolah__rejected").fetchall() == [("region_ambiguous",)]
    assert db.execute("select status, count(*) from _submissions group by 1 order by 1").fetchall() == [
        ("accepted", 1), ("rejected", 1), ("superseded", 1)]
    exported = (tmp_path / "out" / "exports" / "rekap_sekolah.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in exported  # formula escaped for people ...
    import pandas as pd
    assert pd.read_parquet(tmp_path / "out" / "exports" / "rekap_sekolah.parquet")["catatan"].tolist() == ['=HYPERLINK("x")']
    p = run_cli("sync", "--format", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["forms"][0]["new"] == 0
    p = run_cli("status", "rekap_sekolah", "--period", "November 2026", "--format", "json")
    per = json.loads(p.stdout)["periods"][0]
    assert per["period"] == "2026-11" and per["expected"] == 514 and per["on_time"] == 1 and len(per["missing"]) == 513
    p = run_cli("status", "rekap_sekolah", "--period", "Triwulan 4 2026")
    assert p.returncode == 2 and "not a monthly period" in p.stderr


def test_a_bug_is_one_line_exit_70_and_a_crash_report(run_cli, sekolah, tmp_path):
    """An unexpected error (here a bug planted in the completeness step through sitecustomize) ends
    with one line naming a crash report, exit 70, the form rolled back and the run marked failed."""
    plant = tmp_path / "plant"
    write(plant / "sitecustomize.py", "import forms_sync.sync as s\n"
          "def broken(*args, **kwargs):\n    raise KeyError('planted bug')\n"
          "s.update_completeness = broken\n")
    write(tmp_path / "inbox" / "a.csv", HEADER + ROW)
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n'
          '[[sources]]\nform = "rekap_sekolah"\ntype = "files"\npaths = ["inbox/*.csv"]\n')
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    p = run_cli("sync", env={"PYTHONPATH": str(plant), "TMPDIR": str(scratch)})
    no_traceback(p)
    errors = [line for line in p.stderr.splitlines() if "error" in line.lower()]
    assert p.returncode == 70 and len(errors) == 1 and errors[0].startswith("error: internal error"), p.stderr
    assert "internal error (KeyError: 'planted bug')" in p.stderr and "bug in forms-sync" in p.stderr
    reports = list(scratch.glob("forms-sync-crash-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in p.stderr.replace("\n", "")
    report = reports[0].read_text(encoding="utf-8")
    assert "Traceback" in report and "planted bug" in report and "command: " in report
    db = sqlite3.connect(tmp_path / "fs.db")
    assert db.execute("select status, finished_at is not null from _sync_runs").fetchall() == [("failed", 1)]
    assert db.execute("select count(*) from _submissions").fetchone() == (0,)
    assert db.execute("select count(*) from rekap_sekolah").fetchone() == (0,)
    p = run_cli("sync")  # without the planted bug the next run does the work
    assert p.returncode == 0, p.stderr
    assert db.execute("select status from _sync_runs order by id").fetchall() == [("failed",), ("ok",)]


def test_sync_missing_config(run_cli, tmp_path):
    p = run_cli("sync", "--config", tmp_path / "none.toml")
    assert p.returncode == 2 and "config file not found" in p.stderr
    no_traceback(p)


def test_bad_files_in_the_inbox_lose_nothing(run_cli, sekolah, tmp_path):
    """Garbage, an empty file and a header-only file arrive after a good sync: the good data stays,
    the readable files still sync, each bad file is named, and the run exits 3."""
    inbox = tmp_path / "inbox"
    write(inbox / "a.csv", HEADER + ROW)
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n'
          '[[sources]]\nform = "rekap_sekolah"\ntype = "files"\npaths = ["inbox/*"]\n')
    assert run_cli("sync").returncode == 0
    (inbox / "garbage.csv").write_bytes(bytes(range(256)) * 50)
    (inbox / "empty.csv").write_bytes(b"")
    write(inbox / "header_only.csv", HEADER)
    write(inbox / "b.csv", HEADER + ROW.replace("32.04 Kabupaten Bandung", "32.73 Kota Bandung"))
    p = run_cli("sync", "--format", "json")
    no_traceback(p)
    assert p.returncode == 3, p.stdout + p.stderr
    form = json.loads(p.stdout)["forms"][0]
    by_source = {f["source"]: f for f in form["files"]}
    assert by_source["file:inbox/garbage.csv"]["status"] == "unreadable"
    assert by_source["file:inbox/empty.csv"]["status"] == "unreadable"
    assert by_source["file:inbox/header_only.csv"]["problems"][0]["code"] == "empty_file"
    db = sqlite3.connect(tmp_path / "fs.db")
    assert sorted(r[0] for r in db.execute("select region from rekap_sekolah")) == ["32.04", "32.73"]


def test_typed_xlsx_cells_follow_the_definition_locale(run_cli, sekolah, tmp_path):
    """An XLSX whose timestamps are month-first (--locale en) still has its numeric cells read as numbers."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["12/3/2026 09:15:02", "32.04 Kabupaten Bandung", "2026-11", 10, 5, 5, 10, 1234.5, "Final", ""])
    wb.save(tmp_path / "en.xlsx")
    p = run_cli("validate", sekolah, tmp_path / "en.xlsx", "--locale", "en", "--format", "json",
                "--clean-out", tmp_path / "c.csv")
    assert json.loads(p.stdout)["accepted"] == 1, p.stdout
    assert list(csv.DictReader(open(tmp_path / "c.csv", encoding="utf-8")))[0]["anggaran"] == "1234.5"


def test_blank_rows_above_an_xlsx_header_are_looked_past(run_cli, sekolah, tmp_path):
    """Operators leave spacing above the header by hand; the rows under it still count from 1."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Catatan"
    ws.append(["petunjuk pengisian"])  # another sheet first: the one with the region column is read
    data = wb.create_sheet("Data")
    data.append([])
    data.append([None, "  "])
    data.append(HEADER.strip().split(","))
    data.append(["03/12/2026 09:15:02", "32.04 Kabupaten Bandung", "November 2026", 10, 5, 5, 10, 1234.5, "Final", ""])
    data.append(["03/12/2026 09:16:02", "32.73 Kota Bandung", "November 2026", "x", 5, 5, 10, 1, "Final", ""])
    wb.save(tmp_path / "spaced.xlsx")
    p = run_cli("validate", sekolah, tmp_path / "spaced.xlsx", "--format", "json")
    rep = json.loads(p.stdout)
    assert (rep["rows"], rep["accepted"]) == (2, 1), p.stdout + p.stderr
    assert [(e["row"], e["field"]) for e in rep["errors"]] == [(2, "jumlah_sd")]


def test_a_month_excel_turned_into_a_date_is_that_month(run_cli, sekolah, tmp_path):
    """Typing "Nov 2026" into Excel stores the date 1 Nov 2026 (shown "Nov-26"): on a monthly form
    that is the month. Any other date in the period column is refused, not guessed."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["03/12/2026 09:15:02", "32.04 Kabupaten Bandung", dt.datetime(2026, 11, 1), 10, 5, 5, 10, 1, "Final", ""])
    ws.append(["03/12/2026 09:16:02", "32.73 Kota Bandung", dt.datetime(2026, 11, 15), 10, 5, 5, 10, 1, "Final", ""])
    ws.append(["03/12/2026 09:17:02", "32.05 Kabupaten Garut", "Okt-26", 10, 5, 5, 10, 1, "Final", ""])
    ws["C2"].number_format = "mmm-yy"
    wb.save(tmp_path / "months.xlsx")
    p = run_cli("validate", sekolah, tmp_path / "months.xlsx", "--format", "json", "--clean-out", tmp_path / "c.csv")
    rep = json.loads(p.stdout)
    assert (rep["rows"], rep["accepted"]) == (3, 2), p.stdout
    assert [(e["row"], e["code"]) for e in rep["errors"]] == [(2, "period_invalid")]
    periods = [r["period"] for r in csv.DictReader(open(tmp_path / "c.csv", encoding="utf-8"))]
    assert periods == ["2026-11", "2026-10"]
    # the period column under another header that a source maps to `period`; Excel's day 1 is no month
    from forms_sync.definition.model import load_definition
    from forms_sync.sources.files import read_file
    ws["C1"], ws["C3"] = "Bulan laporan", dt.datetime(1900, 1, 1)
    wb.save(tmp_path / "mapped.xlsx")
    batch = read_file(load_definition(sekolah), tmp_path / "mapped.xlsx", mapping={"period": ["Bulan laporan"]})
    assert batch.frame["period"].tolist() == ["2026-11", "1900-01-01", "Okt-26"]


def test_unclosed_quote_refuses_the_file_naming_the_line(run_cli, sekolah, tmp_path):
    """A lenient reader would swallow every later row into one cell: the file is refused instead."""
    bad = ROW.replace(",ok\n", ',"never closed\n')
    f = write(tmp_path / "q.csv", HEADER + ROW + bad + ROW.replace("09:15:02", "10:00:00"))
    p = run_cli("validate", sekolah, f)
    assert p.returncode == 3 and "row starting on line 3" in p.stderr, p.stderr
    no_traceback(p)
    f = write(tmp_path / "q2.csv", HEADER + bad + "x,y\nz,w\n")
    p = run_cli("validate", sekolah, f)
    assert p.returncode == 3 and "opened on line 2 is never closed" in p.stderr, p.stderr


def test_row_with_more_cells_than_the_header_refuses_the_file(run_cli, sekolah, tmp_path):
    f = write(tmp_path / "r.csv", HEADER + ROW.replace("Final,ok", "Final,ok,shifted"))
    p = run_cli("validate", sekolah, f)
    assert p.returncode == 3 and "row 1 has 11 cells but the header has 10" in p.stderr


def test_blank_rows_are_no_submission_and_keep_row_numbers(run_cli, sekolah, tmp_path):
    f = write(tmp_path / "b.csv", HEADER + ",,,,,,,,,\n" + ROW.replace("1.234,", "x,"))
    rep = json.loads(run_cli("validate", sekolah, f, "--format", "json").stdout)
    assert rep["rows"] == 1 and [(e["row"], e["field"]) for e in rep["errors"]] == [(2, "jumlah_sd")]
    wb = openpyxl.Workbook()
    wb.active.append(HEADER.strip().split(","))
    wb.active.append(["03/12/2026 09:15:02", "32.04 Kabupaten Bandung", "2026-11", 10, 5, 5, 10, None, "Final"])
    wb.active["A500"] = " "  # a stray cell far below the data
    wb.active["A500"] = None
    wb.active["C900"] = None
    wb.save(tmp_path / "b.xlsx")
    rep = json.loads(run_cli("validate", sekolah, tmp_path / "b.xlsx", "--format", "json").stdout)
    assert (rep["rows"], rep["accepted"]) == (1, 1)


def test_two_sheets_with_answers_refuse_the_workbook(run_cli, sekolah, tmp_path):
    wb = openpyxl.Workbook()
    for title in ("A", "B"):
        ws = wb.active if title == "A" else wb.create_sheet(title)
        ws.title = title
        ws.append(HEADER.strip().split(","))
    wb.save(tmp_path / "two.xlsx")
    p = run_cli("validate", sekolah, tmp_path / "two.xlsx")
    assert p.returncode == 3 and "2 sheets ('A', 'B')" in p.stderr


def test_config_mapping_to_an_unknown_field_is_a_config_error(run_cli, sekolah, tmp_path):
    write(tmp_path / "in.csv", HEADER + ROW)
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n[[sources]]\n'
          'form = "rekap_sekolah"\ntype = "files"\npaths = ["in.csv"]\n[sources.columns]\nnotafield = "Catatan"\n')
    p = run_cli("sync")
    assert p.returncode == 2 and "'notafield' is not a field of rekap_sekolah" in p.stderr
    no_traceback(p)


@pytest.mark.parametrize("setting,said", [
    ('locale = "fr"', "sources[0].locale: 'fr' is not one of id, en"),
    ('locale = "ID"', "sources[0].locale: 'ID' is not one of id, en"),
    ("sheet = 3", "sources[0].sheet: must be a non-empty text"),
    ('ignore_columns = "No"', "sources[0].ignore_columns: must be a list of column headers"),
])
def test_a_bad_source_setting_is_a_config_error(run_cli, sekolah, tmp_path, setting, said):
    write(tmp_path / "in.csv", HEADER + ROW)
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n[[sources]]\n'
          f'form = "rekap_sekolah"\ntype = "files"\npaths = ["in.csv"]\n{setting}\n')
    p = run_cli("sync")
    no_traceback(p)
    assert p.returncode == 2 and said in p.stderr, p.stderr


@pytest.mark.parametrize("content,said", [
    (b"these are not the rows you are looking for\n" * 200, "is not an SQLite database, or it is damaged"),
    (b"SQLite format 3\x00" + b"\xff" * 5000, "is not an SQLite database, or it is damaged"),
])
def test_a_database_file_that_is_not_sqlite_is_exit_3_and_left_alone(run_cli, sekolah, tmp_path, content, said):
    write(tmp_path / "in.csv", HEADER + ROW)
    (tmp_path / "fs.db").write_bytes(content)
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n[[sources]]\n'
          'form = "rekap_sekolah"\ntype = "files"\npaths = ["in.csv"]\n')
    p = run_cli("sync")
    no_traceback(p)
    assert p.returncode == 3 and said in p.stderr and "restore it from a backup" in p.stderr, p.stderr
    assert (tmp_path / "fs.db").read_bytes() == content


def test_invisible_characters_in_headers_do_not_hide_columns(run_cli, sekolah, tmp_path):
    """A file saved twice with a byte-order mark keeps the second one in its first header, and
    headers pasted from the web carry zero-width spaces: the columns are still found, so the
    timestamp (which decides which answer is the latest) is not silently lost."""
    header = HEADER.replace("Jumlah SD", "Jumlah\u200b SD").replace("Catatan", "\u200eCatatan\u200f").replace(
        "Periode", "\u2068Periode\u2069")
    (tmp_path / "in.csv").write_bytes("\ufeff\ufeff".encode() + (header + ROW).encode())
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n[[sources]]\n'
          'form = "rekap_sekolah"\ntype = "files"\npaths = ["in.csv"]\n')
    p = run_cli("sync", "--format", "json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "unknown_column" not in p.stdout + p.stderr
    db = sqlite3.connect(tmp_path / "fs.db")
    assert db.execute("select jumlah_sd, catatan, _submitted_at from rekap_sekolah").fetchall() == [
        (1234, "ok", "2026-12-03 02:15:02.000000")]


def test_exports_that_cannot_be_written_keep_the_data_and_exit_3(run_cli, sekolah, tmp_path):
    write(tmp_path / "in.csv", HEADER + ROW)
    (tmp_path / "exports").write_text("a file where the exports folder should be")
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\ndatabase = "sqlite:///fs.db"\n[[sources]]\n'
          'form = "rekap_sekolah"\ntype = "files"\npaths = ["in.csv"]\n')
    p = run_cli("sync")
    no_traceback(p)
    assert p.returncode == 3 and "could not be written" in p.stdout + p.stderr
    assert sqlite3.connect(tmp_path / "fs.db").execute("select count(*) from rekap_sekolah").fetchone() == (1,)

"""Large CSV files are read a part at a time, and a file that only grew is read from where it ended.

Both are only ways of reading: every test compares the tables they leave with those a whole read
of the same files leaves (db_servers.snapshot), and the counts the sync reports."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from db_servers import snapshot
from forms_sync.definition.model import load_definitions
from forms_sync.sources import files
from forms_sync.store import tables as T
from forms_sync.sync import COUNTS, run_sync
from sync_data import write_project

COUNTED = (*COUNTS, "deleted")


def project(folder: Path) -> Path:
    """The generated two-form project (resubmissions, refused rows, awkward text), with exact
    repeats of earlier rows appended to one file, so repeats fall in different parts."""
    config = write_project(folder, regencies=120, months=3, files=2)
    target = sorted((folder / "in").glob("sekolah_*.csv"))[0]
    with open(target, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    with open(target, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows[1:4] + rows[1:2])  # one row three times in all
    return config


def sync(config: Path, monkeypatch, url: str, *, parts: bool, full: bool = False):
    monkeypatch.setenv("FORMS_SYNC_DATABASE_URL", url)
    monkeypatch.setattr(files, "STREAM_BYTES", 0 if parts else 10**15)
    monkeypatch.setattr(files, "CHUNK_ROWS", 37)
    result = run_sync(config, export=False, full=full)
    return result, {f.form: {k: getattr(f, k) for k in COUNTED} for f in result.forms}


def tables(url: str, config: Path, *, runs_differ: bool = False) -> dict:
    snap = snapshot(url, load_definitions(config.parent / "defs").values())
    snap.pop("_watermarks")  # how a file was read is part of its watermark
    if runs_differ:  # the order of arrival within a run (column 5) depends on how rows were split in runs
        snap["_submissions"] = Counter({k[:5] + k[6:]: n for k, n in snap["_submissions"].items()})
    return snap


def test_parts_store_exactly_what_a_whole_read_stores(tmp_path, monkeypatch):
    a, b = project(tmp_path / "a"), project(tmp_path / "b")
    whole, whole_counts = sync(a, monkeypatch, f"sqlite:///{tmp_path / 'a.db'}", parts=False)
    parted, parted_counts = sync(b, monkeypatch, f"sqlite:///{tmp_path / 'b.db'}", parts=True)
    assert parted_counts == whole_counts
    assert whole_counts["rekap_sekolah"]["superseded"] > 0 and whole_counts["rekap_sekolah"]["rejected"] > 0
    assert tables(f"sqlite:///{tmp_path / 'a.db'}", a) == tables(f"sqlite:///{tmp_path / 'b.db'}", b)
    # the repeated row is three submissions with three ids, in both
    with sa.create_engine(f"sqlite:///{tmp_path / 'b.db'}").connect() as conn:
        ids = conn.execute(sa.select(T.submissions.c.submission_id)).scalars().all()
    assert len(ids) == len(set(ids)) == sum(c["new"] for c in parted_counts.values())


def grow(config: Path, extra: int) -> Path:
    """Append `extra` later submissions (copies of the first rows, a month later) to a sekolah file."""
    target = sorted((config.parent / "in").glob("sekolah_*.csv"))[0]
    with open(target, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:extra + 1]
    stamp = header.index("Stempel waktu") if "Stempel waktu" in header else 0
    with open(target, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([[c if i != stamp else c.replace("2026", "2027", 1) for i, c in enumerate(r)]
                                  for r in body])
    return target


def test_a_grown_file_is_read_from_where_it_ended(tmp_path, monkeypatch):
    a, b = project(tmp_path / "a"), project(tmp_path / "b")
    url_a, url_b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    sync(a, monkeypatch, url_a, parts=True)
    grow(a, 50)
    _, counts = sync(a, monkeypatch, url_a, parts=True)
    assert counts["rekap_sekolah"]["read"] == 50  # only the appended rows were read
    assert counts["rekap_sekolah"]["new"] == 50 and counts["rekap_puskesmas"]["read"] == 0
    # the same as syncing the grown files at once
    grow(b, 50)
    sync(b, monkeypatch, url_b, parts=True)
    assert tables(url_a, a, runs_differ=True) == tables(url_b, b, runs_differ=True)
    # and again: the grown file is unchanged now
    _, counts = sync(a, monkeypatch, url_a, parts=True)
    assert counts["rekap_sekolah"]["read"] == 0 and counts["rekap_sekolah"]["new"] == 0


def test_a_grown_file_keeps_counting_repeats_of_its_rows(tmp_path, monkeypatch):
    """A row appended again, identical to one read last time, is a new submission with the id a
    whole read gives its second occurrence (so --full later finds every row known)."""
    a = project(tmp_path / "a")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    sync(a, monkeypatch, url, parts=True)
    target = sorted((a.parent / "in").glob("sekolah_*.csv"))[0]
    with open(target, newline="", encoding="utf-8") as fh:
        first = list(csv.reader(fh))[1]  # already there three times
    with open(target, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([first, first])
    _, counts = sync(a, monkeypatch, url, parts=True)
    assert counts["rekap_sekolah"]["new"] == 2
    _, again = sync(a, monkeypatch, url, parts=True, full=True)
    assert again["rekap_sekolah"]["new"] == 0 and again["rekap_sekolah"]["unchanged"] == again["rekap_sekolah"]["read"]


def test_a_file_changed_before_its_end_is_read_whole_again(tmp_path, monkeypatch):
    a = project(tmp_path / "a")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    sync(a, monkeypatch, url, parts=True)
    target = grow(a, 5)
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("Final", "Sementara", 1), encoding="utf-8")  # an edit near the top
    _, counts = sync(a, monkeypatch, url, parts=True)
    rows = len(list(csv.reader(open(target, newline="", encoding="utf-8")))) - 1
    assert counts["rekap_sekolah"]["read"] == rows  # every row read again...
    assert counts["rekap_sekolah"]["new"] == 6  # ...the edited one and the five appended are new


def test_a_late_bad_timestamp_refuses_the_whole_file_as_a_whole_read_does(tmp_path, monkeypatch):
    """A file-level fault found in a later part rolls back the parts already stored."""
    a, b = project(tmp_path / "a"), project(tmp_path / "b")
    for config in (a, b):
        target = sorted((config.parent / "in").glob("sekolah_*.csv"))[0]
        lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
        rows = list(csv.reader(lines))
        stamp = rows[0].index("Stempel waktu")
        rows[-2][stamp] = "kemarin sore"
        with open(target, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    whole, whole_counts = sync(a, monkeypatch, f"sqlite:///{tmp_path / 'a.db'}", parts=False)
    parted, parted_counts = sync(b, monkeypatch, f"sqlite:///{tmp_path / 'b.db'}", parts=True)
    assert parted_counts == whole_counts
    refused = [e for e in parted.forms[0].files if e.get("status") == "refused"]
    assert len(refused) == 1 and refused[0]["problems"][0]["code"] == "bad_timestamp"
    assert tables(f"sqlite:///{tmp_path / 'a.db'}", a) == tables(f"sqlite:///{tmp_path / 'b.db'}", b)


def test_ragged_rows_found_in_parts_are_refused_as_a_whole_read_refuses_them(tmp_path, monkeypatch):
    a = project(tmp_path / "a")
    target = sorted((a.parent / "in").glob("sekolah_*.csv"))[0]
    with open(target, "a", encoding="utf-8") as fh:
        fh.write("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u\n")
    result, counts = sync(a, monkeypatch, f"sqlite:///{tmp_path / 'a.db'}", parts=True)
    entry = next(e for e in result.forms[0].files if e["source"].endswith(target.name))
    assert entry["status"] == "unreadable" and "cells but the header has" in json.dumps(entry)
    assert result.exit_code == 3


def long_note(config: Path) -> str:
    """Put a 3 MB note with line breaks (a pasted report) in the first sekolah row: larger than the
    blocks Arrow parses (which then hands the file to Python's csv module) and than that module's
    default cell limit (128 KB). Returns the note."""
    target = sorted((config.parent / "in").glob("sekolah_*.csv"))[0]
    with open(target, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    note = ("Laporan kegiatan " + "x" * 983 + "\r\n") * 3200
    rows[1][rows[0].index("Catatan")] = note
    with open(target, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return note


@pytest.mark.parametrize("parts", [False, True])
def test_a_cell_larger_than_a_read_block_is_read_and_refused_as_too_long(tmp_path, monkeypatch, parts):
    plain, long = project(tmp_path / "plain"), project(tmp_path / "long")
    note = long_note(long)
    _, plain_counts = sync(plain, monkeypatch, f"sqlite:///{tmp_path / 'plain.db'}", parts=parts)
    result, counts = sync(long, monkeypatch, f"sqlite:///{tmp_path / 'long.db'}", parts=parts)
    assert result.exit_code in (0, 1) and all(e.get("status") != "unreadable" for f in result.forms for e in f.files)
    assert counts["rekap_sekolah"]["new"] == plain_counts["rekap_sekolah"]["new"]
    with sa.create_engine(f"sqlite:///{tmp_path / 'long.db'}").connect() as conn:
        refused = conn.exec_driver_sql("SELECT field, code, message_en FROM rekap_sekolah__rejected "
                                       "WHERE value LIKE 'Laporan kegiatan%'").all()
        answers = conn.exec_driver_sql("SELECT answers FROM _submissions WHERE answers LIKE '%Laporan kegiatan%'").all()
    assert refused == [("catatan", "max_length", f"Catatan must be at most 50000 characters long, got "
                        f"{len(note.strip())}.")]  # the trailing line break is trimmed, as in every cell
    assert len(answers) == 1 and json.loads(answers[0][0])["catatan"].strip() == note.strip()  # kept whole


def test_bare_sha256_watermarks_of_earlier_versions_still_mean_unchanged(tmp_path, monkeypatch):
    a = project(tmp_path / "a")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    sync(a, monkeypatch, url, parts=True)
    engine = sa.create_engine(url)
    w = T.watermarks
    with engine.begin() as conn:
        for source, value in conn.execute(sa.select(w.c.source, w.c.value)).all():
            if source.startswith("file:"):
                conn.execute(w.update().where(w.c.source == source).values(value=json.loads(value)["sha256"]))
    engine.dispose()
    _, counts = sync(a, monkeypatch, url, parts=True)
    assert all(c["read"] == 0 for c in counts.values())


def validate(config: Path, monkeypatch, target: Path, *, parts: bool, clean_out: Path | None = None) -> str:
    """`validate_file` on a sekolah file, read in parts of 37 rows or whole; the JSON report."""
    from forms_sync.commands import validate_file

    monkeypatch.setattr(files, "STREAM_BYTES", 0 if parts else 10**15)
    monkeypatch.setattr(files, "CHUNK_ROWS", 37)
    return validate_file(config.parent / "defs" / "rekap_sekolah.yaml", target, clean_out=clean_out).report_json()


def test_validate_in_parts_reports_exactly_what_a_whole_read_reports(tmp_path, monkeypatch):
    """Resubmissions across parts, repeats, refused rows and a blank row: one report either way."""
    a = project(tmp_path / "a")
    target = sorted((a.parent / "in").glob("sekolah_*.csv"))[0]
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(",,,,,,,,,,,,\n")  # a blank row: no submission, rows after it keep their numbers
    with open(target, newline="", encoding="utf-8") as fh:
        later = list(csv.reader(fh))[1]  # resubmitted a year later: supersedes row 1 from the last part
    stamp = 0
    later[stamp] = later[stamp].replace("2026", "2027", 1)
    with open(target, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(later)
    whole_csv, parts_csv = tmp_path / "whole.csv", tmp_path / "parts.csv"
    whole = validate(a, monkeypatch, target, parts=False, clean_out=whole_csv)
    parted = validate(a, monkeypatch, target, parts=True, clean_out=parts_csv)
    assert parted == whole
    report = json.loads(parted)
    assert report["rows"] > 3 * 37 and report["rejected"] > 0 and report["errors"]
    assert 1 in report["superseded_rows"]  # settled across parts
    assert parts_csv.read_bytes() == whole_csv.read_bytes()
    assert len(list(csv.reader(open(parts_csv, newline="", encoding="utf-8")))) == report["accepted"] + 1


def test_validate_in_parts_hands_a_late_file_level_fault_to_the_whole_reader(tmp_path, monkeypatch):
    a = project(tmp_path / "a")
    target = sorted((a.parent / "in").glob("sekolah_*.csv"))[0]
    rows = list(csv.reader(open(target, newline="", encoding="utf-8")))
    rows[-2][rows[0].index("Stempel waktu")] = "kemarin sore"
    with open(target, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    parted = validate(a, monkeypatch, target, parts=True)
    assert parted == validate(a, monkeypatch, target, parts=False)
    report = json.loads(parted)
    assert report["accepted"] == 0 and report["errors"][0]["code"] == "bad_timestamp"


def test_a_file_of_blank_rows_read_in_parts_is_empty_as_a_whole_read_says(tmp_path, monkeypatch):
    a = project(tmp_path / "a")
    target = sorted((a.parent / "in").glob("sekolah_*.csv"))[0]
    header = target.read_text(encoding="utf-8").splitlines()[0]
    target.write_text(header + "\n" + ",,,,,,,,,,,,\n" * 100, encoding="utf-8")
    parted = validate(a, monkeypatch, target, parts=True)
    assert parted == validate(a, monkeypatch, target, parts=False)
    assert json.loads(parted)["errors"][0]["code"] == "empty_file"
    result, counts = sync(a, monkeypatch, f"sqlite:///{tmp_path / 'a.db'}", parts=True)
    entry = next(e for e in result.forms[0].files if e["source"].endswith(target.name))
    assert entry["status"] == "refused" and entry["problems"][0]["code"] == "empty_file"

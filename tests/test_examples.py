"""The examples/ folder end to end: its definitions lint, every response file gives exactly the
outcome it was designed for, and a full sync of examples/forms-sync.toml lands the designed counts.

The examples are copied to a temporary folder first, so neither the database nor the exports are
ever written into the repository. Every fault below was put into the example files on purpose; the
faults are described in examples/README.md.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FLOOD_CSV = "opendatajabar_bpbd_jumlah_banjir_kabkota.csv"
FLOOD_SHA256 = "30343cef22abdc7c62e7dde60c0cb2ebf6e529d79549894d569c3e6b7ea3e344"


def cli() -> list[str]:
    exe = Path(sys.executable).with_name("forms-sync")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("forms-sync")
    if found:
        return [found]
    return [sys.executable, "-c", "from forms_sync.cli import main; main()"]


def run(*args: str, cwd: Path, db: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("FORMS_SYNC_DATABASE_URL", None)
    if db is not None:
        env["FORMS_SYNC_DATABASE_URL"] = f"sqlite:///{db}"
    return subprocess.run([*cli(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


# --- the definitions ---------------------------------------------------------------------------

def test_check_example_definitions(tmp_path):
    res = run("check", str(EXAMPLES / "form_definitions"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    for form, fields, rules in [("rekap_imunisasi", 14, 2), ("realisasi_apbd", 17, 3), ("profil_desa", 14, 3),
                                ("rekap_banjir", 5, 0)]:
        assert f"{form} v1: {fields} fields, {rules} rules" in res.stdout, res.stdout

    res = run("check", "--config", str(EXAMPLES / "forms-sync.toml"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("ok ") == 4


def test_flood_sample_is_kept_byte_for_byte():
    data = (EXAMPLES / FLOOD_CSV).read_bytes()
    assert hashlib.sha256(data).hexdigest() == FLOOD_SHA256
    assert data.startswith(b"id,kode_provinsi,nama_provinsi,kode_kabupaten_kota,nama_kabupaten_kota,"
                           b"jumlah_banjir,satuan,tahun\r\n1,32,JAWA BARAT,3201,KABUPATEN BOGOR,0,KEJADIAN,2012\r\n")


def test_example_inputs_keep_their_encodings():
    responses = EXAMPLES / "responses"
    excel = (responses / "rekap_imunisasi_oktober_2026_jateng_excel.csv").read_bytes()
    assert excel.startswith(b"\xef\xbb\xbfStempel waktu;")  # Excel "CSV UTF-8": BOM and semicolons
    sikka = (responses / "profil_desa_2025_kab_sikka_excel.csv").read_bytes()
    assert sikka.startswith(b"Stempel waktu;")
    with pytest.raises(UnicodeDecodeError):
        sikka.decode("utf-8")
    text = sikka.decode("cp1252")
    assert "José Fernandes da Silva" in text and "Regapu’u" in text


# --- one file at a time: `forms-sync validate` -------------------------------------------------

DEFS = EXAMPLES / "form_definitions"
FILES = {
    "responses/rekap_imunisasi_november_2026.csv": (
        "rekap_imunisasi", 35, 28, 6, 1, [6],
        {(4, "region", "region_ambiguous"),          # "Bandung": kabupaten or kota?
         (9, None, "rule:idl_total"),                # boys + girls != total
         (11, "cakupan_idl", "ambiguous_number"),    # "91.4"
         (14, "nip_pelapor", "pattern"),             # NIP of 17 digits
         (29, "region", "region_retired"),           # 91.01 Merauke, now 93.01
         (32, None, "rule:posyandu_aktif")}),        # a bad resubmission; the earlier row stays
    "responses/rekap_imunisasi_oktober_2026_jateng_excel.csv": (
        "rekap_imunisasi", 24, 20, 3, 1, [2],
        {(6, "nip_pelapor", "pattern"),              # Excel wrote the NIP as 1,98504E+17
         (11, "cakupan_idl", "required"),            # "-" in a required question
         (15, "tanggal_laporan", "type")}),          # 10/31/2026 typed month first
    "inbox/rekap_imunisasi_kab_jayawijaya_okt-nov_2026.xlsx": (
        "rekap_imunisasi", 3, 3, 0, 0, [], set()),
    "responses/realisasi_apbd_triwulan_iii_2026.csv": (
        "realisasi_apbd", 37, 31, 5, 1, [13],
        {(3, "kode_satker", "pattern"),              # 13115: the leading zero was lost
         (8, None, "rule:total_pendapatan"),         # parts do not add up to the total
         (16, "realisasi_lain", "ambiguous_number"), # 34,130,740,105.93 written the English way
         (20, None, "rule:belanja_modal"),           # capital spending above total spending
         (31, None, "rule:asn_total")}),             # men + women != total
    "responses/profil_desa_2025.csv": (
        "profil_desa", 27, 20, 6, 1, [15],
        {(3, "region", "region_unknown"),            # 3204052003: a code without its dots
         (9, "luas_wilayah", "ambiguous_number"),    # "1.5" km²
         (13, "kode_pos", "pattern"),                # 4-digit postal code
         (20, None, "rule:jumlah_penduduk"),
         (22, None, "rule:dana_desa"),
         (25, "region", "region_mismatch")}),        # 32.04.05.2004 is Cinunuk, not Cimekar
    "responses/profil_desa_2025_kab_sikka_excel.csv": (
        "profil_desa", 16, 14, 2, 0, [],
        {(4, "tanggal_musdes", "type"),              # 31/11/2025
         (6, "nama_kepala_desa", "required")}),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_validate_each_example_file(name, tmp_path):
    form, rows, accepted, rejected, superseded, superseded_rows, errors = FILES[name]
    res = run("validate", str(DEFS / f"{form}.yaml"), str(EXAMPLES / name), "--format", "json", cwd=tmp_path)
    assert "Traceback" not in res.stderr
    assert res.returncode == (1 if rejected else 0), res.stderr
    report = json.loads(res.stdout)
    assert (report["rows"], report["accepted"], report["rejected"], report["superseded"]) == \
        (rows, accepted, rejected, superseded)
    assert report["superseded_rows"] == superseded_rows
    assert {(e["row"], e["field"], e["code"]) for e in report["errors"]} == errors
    assert all(e["level"] == "error" for e in report["errors"])  # no unknown_column: every header matches


# --- the full sync ------------------------------------------------------------------------------

EXPECTED_COUNTS = {  # form: (read, accepted, rejected, superseded)
    "rekap_imunisasi": (62, 51, 9, 2),
    "realisasi_apbd": (37, 31, 5, 1),
    "profil_desa": (43, 34, 8, 1),
    "rekap_banjir": (351, 351, 0, 0),
}


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    work = tmp_path_factory.mktemp("examples_sync")
    shutil.copytree(EXAMPLES, work / "examples", ignore=shutil.ignore_patterns("exports", "*.db"))
    db = work / "forms_sync.db"
    config = str(work / "examples" / "forms-sync.toml")
    first = run("sync", "--config", config, "--format", "json", cwd=work, db=db)
    second = run("sync", "--config", config, "--format", "json", cwd=work, db=db)
    full = run("sync", "--config", config, "--full", "--format", "json", cwd=work, db=db)
    conn = sqlite3.connect(db)
    yield {"work": work, "db": db, "first": first, "second": second, "full": full, "conn": conn}
    conn.close()


def _forms(res) -> dict:
    assert "Traceback" not in res.stderr, res.stderr
    return {f["form"]: f for f in json.loads(res.stdout)["forms"]}


def test_sync_counts(synced):
    res = synced["first"]
    assert res.returncode == 1, res.stderr  # some rows are refused by design
    assert json.loads(res.stdout)["exit"] == 1
    forms = _forms(res)
    assert list(forms) == list(EXPECTED_COUNTS)
    for form, (read, accepted, rejected, superseded) in EXPECTED_COUNTS.items():
        f = forms[form]
        assert (f["read"], f["new"], f["accepted"], f["rejected"], f["superseded"]) == \
            (read, read, accepted, rejected, superseded), form
        assert f["status"] == ("ok" if rejected == 0 else "refused")
        assert all(not entry["problems"] for entry in f["files"]), f["files"]  # no file-level problem


def test_second_sync_reports_nothing_new(synced):
    for key in ("second", "full"):
        res = synced[key]
        assert res.returncode == 0, res.stderr
        for form, (read, *_rest) in EXPECTED_COUNTS.items():
            f = _forms(res)[form]
            assert (f["new"], f["accepted"], f["rejected"], f["superseded"], f["updated"]) == (0, 0, 0, 0, 0)
            assert f["unchanged"] == (read if key == "full" else 0)


def test_clean_tables(synced):
    conn = synced["conn"]
    counts = {form: conn.execute(f"select count(*) from {form}").fetchone()[0] for form in EXPECTED_COUNTS}
    assert counts == {form: c[1] for form, c in EXPECTED_COUNTS.items()}
    statuses = dict(conn.execute("select status, count(*) from _submissions group by status").fetchall())
    assert statuses == {"accepted": 467, "rejected": 22, "superseded": 4}


def test_refused_submissions(synced):
    conn = synced["conn"]

    def refused(form):
        return sorted(conn.execute(f"select region_text, period_text, code from {form}__rejected").fetchall())

    assert refused("rekap_imunisasi") == sorted([
        ("Bandung", "November 2026", "region_ambiguous"),
        ("91.01 Kabupaten Merauke", "November 2026", "region_retired"),
        ("32.09 Kabupaten Cirebon", "November 2026", "rule:idl_total"),
        ("32.11 Kabupaten Sumedang", "November 2026", "ambiguous_number"),
        ("32.14 Kabupaten Purwakarta", "November 2026", "pattern"),
        ("32.15 Kabupaten Karawang", "November 2026", "rule:posyandu_aktif"),
        ("33.05 Kabupaten Kebumen", "Oktober 2026", "pattern"),
        ("33.10 Kabupaten Klaten", "Oktober 2026", "required"),
        ("33.14 Kabupaten Sragen", "Oktober 2026", "type"),
    ])
    assert refused("realisasi_apbd") == sorted([
        ("13 Sumatera Barat", "Triwulan III 2026", "pattern"),
        ("18 Lampung", "Triwulan III 2026", "rule:total_pendapatan"),
        ("36 Banten", "Triwulan III 2026", "ambiguous_number"),
        ("61 Kalimantan Barat", "Triwulan III 2026", "rule:belanja_modal"),
        ("81 Maluku", "Triwulan III 2026", "rule:asn_total"),
    ])
    assert refused("profil_desa") == sorted([
        ("3204052003", "2025", "region_unknown"),
        ("32.04.05.2004 Cimekar", "2025", "region_mismatch"),
        ("32.73.01.1003", "2025", "ambiguous_number"),
        ("34.02.02.2001", "2025", "pattern"),
        ("33.10.01.2004", "2025", "rule:jumlah_penduduk"),
        ("33.10.01.2006", "2025", "rule:dana_desa"),
        ("53.07.01.2005", "2025", "type"),
        ("53.07.01.2012", "2025", "required"),
    ])
    assert refused("rekap_banjir") == []
    retired = conn.execute("select message_id, message_en from rekap_imunisasi__rejected "
                           "where code = 'region_retired'").fetchone()
    assert "93.01 Kabupaten Merauke" in retired[0] and "93.01 Kabupaten Merauke" in retired[1]


def _one(conn, sql, *args):
    rows = conn.execute(sql, args).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def test_resubmissions_settle_as_designed(synced):
    conn = synced["conn"]
    # Tasikmalaya and Cirebon corrected their November answers: the correction is the row kept.
    assert _one(conn, "select status_data, catatan from rekap_imunisasi where region='32.06' and period='2026-11'") \
        == ("Final", "Perbaikan: data seluruh puskesmas sudah masuk.")
    assert _one(conn, "select catatan from rekap_imunisasi where region='32.09' and period='2026-11'") \
        == ("Perbaikan isian tanggal 1 Desember.",)
    # Karawang's resubmission broke a rule: the earlier valid answer stays.
    aktif, total, note = _one(conn, "select posyandu_aktif, jumlah_posyandu, catatan from rekap_imunisasi "
                                    "where region='32.15' and period='2026-11'")
    assert aktif <= total and note is None
    # Those refused first and then answered properly are in the table.
    for region in ("32.04", "32.11", "93.01"):
        _one(conn, "select region from rekap_imunisasi where region=? and period='2026-11'", region)
    assert _one(conn, "select cakupan_idl from rekap_imunisasi where region='32.11' and period='2026-11'") == (91.4,)
    # Jawa Tengah replaced its APBD murni figures by APBD perubahan; Srigading corrected its data.
    assert _one(conn, "select jenis_apbd from realisasi_apbd where region='33' and period='2026-Q3'") \
        == ("APBD perubahan",)
    assert _one(conn, "select catatan from profil_desa where region='34.02.02.2003'") \
        == ("Perbaikan setelah pemutakhiran data Dukcapil",)
    _one(conn, "select region from profil_desa where region='32.04.05.2003'")  # Cimekar, third try
    superseded = sorted(conn.execute("select source, row from _submissions where status='superseded'").fetchall())
    assert superseded == [
        ("file:responses/profil_desa_2025.csv", 15),
        ("file:responses/realisasi_apbd_triwulan_iii_2026.csv", 13),
        ("file:responses/rekap_imunisasi_november_2026.csv", 6),
        ("file:responses/rekap_imunisasi_oktober_2026_jateng_excel.csv", 2),
    ]


def test_values_are_read_as_written(synced):
    conn = synced["conn"]
    # multi-choice options that hold a comma; "-" placeholders are missing values
    assert _one(conn, "select vaksin_kosong, stok_vaksin_cukup from rekap_imunisasi "
                      "where region='32.02' and period='2026-11'") == ('["Polio (bOPV, IPV)", "PCV"]', 0)
    assert _one(conn, "select vaksin_kosong, kasus_kipi, catatan from rekap_imunisasi "
                      "where region='32.03' and period='2026-11'") == (None, None, None)
    # names without codes; a late October report
    for region in ("32.05", "32.75"):
        _one(conn, "select region from rekap_imunisasi where region=? and period='2026-11'", region)
    _one(conn, "select region from rekap_imunisasi where region='32.79' and period='2026-10'")
    # the e-mailed template: typed cells, no timestamp
    assert _one(conn, "select cakupan_idl, stok_vaksin_cukup, tanggal_laporan, vaksin_kosong, _submitted_at, "
                      "_source from rekap_imunisasi where region='95.01' and period='2026-11'") == (
        68.4, 0, "2026-12-02", '["Campak Rubela (MR)", "Rotavirus"]', None,
        "file:inbox/rekap_imunisasi_kab_jayawijaya_okt-nov_2026.xlsx")
    assert _one(conn, "select nip_pelapor from rekap_imunisasi where region='95.07' and period='2026-11'") \
        == ("199002282015031001",)
    # rupiah with grouping and sen; leading zeros kept; province names and placeholders
    assert _one(conn, "select kode_satker, realisasi_lain from realisasi_apbd where region='11' "
                      "and period='2026-Q3'") == ("010115", 77851527032.74)
    _one(conn, "select region from realisasi_apbd where region='31' and period='2026-Q3'")  # "DKI Jakarta"
    _one(conn, "select region from realisasi_apbd where region='91' and period='2026-Q2'")
    assert _one(conn, "select sumber_pembiayaan, narahubung from realisasi_apbd where region='96'") == (None, None)
    # Windows-1252: an accented name and official names with a typographic apostrophe
    assert _one(conn, "select nama_kepala_desa from profil_desa where region='53.07.01.2001'") \
        == ("José Fernandes da Silva",)
    for region in ("53.07.01.2021", "53.07.08.2019"):  # Regapu’u, Udek Du’en
        _one(conn, "select region from profil_desa where region=?", region)
    assert _one(conn, "select luas_wilayah from profil_desa where region='53.07.01.2001'") == (30.27,)


def test_flood_data_from_open_data_jabar(synced):
    conn = synced["conn"]
    assert _one(conn, "select count(distinct region), count(distinct period), min(period), max(period), "
                      "sum(jumlah_banjir) from rekap_banjir") == (27, 13, "2012", "2024", 2653)
    regions = [r for (r,) in conn.execute("select distinct region from rekap_banjir order by region")]
    assert regions == [f"32.{i:02d}" for i in range(1, 19)] + [f"32.{i}" for i in range(71, 80)]
    assert _one(conn, "select jumlah_banjir from rekap_banjir where region='32.04' and period='2012'") == (17,)
    assert _one(conn, "select jumlah_banjir from rekap_banjir where region='32.01' and period='2012'") == (0,)


def test_completeness(synced):
    conn = synced["conn"]
    rows = conn.execute("select period, status, count(*) from completeness where form='rekap_imunisasi' "
                        "and status != 'missing' group by 1, 2 order by 1, 2").fetchall()
    assert rows == [("2026-10", "accepted", 22), ("2026-10", "rejected", 3),
                    ("2026-11", "accepted", 29), ("2026-11", "rejected", 1)]
    rejected = [r for (r,) in conn.execute("select region from completeness where form='profil_desa' "
                                           "and status='rejected' order by region")]
    assert rejected == ["32.73.01.1003", "33.10.01.2004", "33.10.01.2006", "34.02.02.2001",
                        "53.07.01.2005", "53.07.01.2012"]


def _completeness_rows(engine, form=None) -> list[tuple]:
    import sqlalchemy as sa
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select form, period, region, status, on_time, _submitted_at from completeness"
                                    + (" where form = :f" if form else "")), {"f": form} if form else {}).all()
    return sorted(tuple(r) for r in rows)


def test_completeness_kept_per_period_equals_a_full_rewrite(synced, tmp_path):
    """Syncs rewrite only the keys they touch; the rows equal a rewrite of every period, also
    once time moves on (a new latest ended period comes into scope, an empty one drops out)."""
    import datetime as dt

    import sqlalchemy as sa

    from forms_sync.config import load_config
    from forms_sync.definition.model import load_definitions
    from forms_sync.status import update_completeness

    cfg = load_config(str(synced["work"] / "examples" / "forms-sync.toml"))
    definitions = load_definitions(cfg.definitions_dir)
    copy = tmp_path / "copy.db"
    shutil.copy(synced["db"], copy)
    kept = sa.create_engine(f"sqlite:///{copy}")
    rebuilt = sa.create_engine(f"sqlite:///{shutil.copy(synced['db'], tmp_path / 'rebuilt.db')}")
    try:
        forms = [f for (f,) in sqlite3.connect(copy).execute("select distinct form from completeness")]
        assert forms
        for later in (None, dt.date.today() + dt.timedelta(days=800)):
            for form in forms:
                with kept.begin() as conn:
                    update_completeness(conn, definitions[form], cfg.timezone, set(), today=later)
                with rebuilt.begin() as conn:
                    update_completeness(conn, definitions[form], cfg.timezone, None, today=later)
            assert _completeness_rows(kept) == _completeness_rows(rebuilt)
        with sqlite3.connect(copy) as c:  # damage some keys; rewriting just those repairs them
            damaged = c.execute("select form, region, period from completeness where status != 'missing' "
                                "order by form, period, region limit 40").fetchall()
            c.executemany("update completeness set status = 'x', on_time = null, _submitted_at = null "
                          "where form = ? and region = ? and period = ?", damaged)
        assert _completeness_rows(kept) != _completeness_rows(rebuilt)
        for form in {f for f, _, _ in damaged}:
            keys = {(r, p) for f, r, p in damaged if f == form} | {("99", "1999")}  # and one out of scope
            with kept.begin() as conn:
                update_completeness(conn, definitions[form], cfg.timezone, keys, today=later)
        assert _completeness_rows(kept) == _completeness_rows(rebuilt)
    finally:
        kept.dispose()
        rebuilt.dispose()


def test_exports_stay_in_the_copy(synced):
    exports = synced["work"] / "examples" / "exports"
    assert sorted(p.name for p in exports.iterdir()) == sorted(
        f"{form}.{ext}" for form in EXPECTED_COUNTS for ext in ("csv", "parquet", "xlsx"))
    flood = (exports / "rekap_banjir.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(flood) == 1 + 351


def test_completeness_after_syncs_that_add_files_equals_a_full_rewrite(tmp_path):
    """Files arriving one at a time (new keys, resubmissions of stored keys, refused rows): the
    completeness the syncs kept key by key equals a rewrite of every period."""
    import sqlalchemy as sa

    from forms_sync.config import load_config
    from forms_sync.definition.model import load_definitions
    from forms_sync.status import update_completeness
    from forms_sync.sync import run_sync
    from sync_data import write_project

    db = tmp_path / "p.db"
    config = write_project(tmp_path / "p", regencies=120, months=3, files=4, provinces=10,
                           database=f"sqlite:///{db}")
    later = tmp_path / "later"
    later.mkdir()
    for f in sorted((tmp_path / "p" / "in").glob("*_0[234].csv")):
        f.rename(later / f.name)
    cfg = load_config(str(config))
    definitions = load_definitions(cfg.definitions_dir)
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        for arriving in [None, *sorted(later.iterdir())]:
            if arriving is not None:
                arriving.rename(tmp_path / "p" / "in" / arriving.name)
            run_sync(cfg, export=False)
            kept = _completeness_rows(engine)
            with engine.begin() as conn:
                for form in ("rekap_sekolah", "rekap_puskesmas"):
                    update_completeness(conn, definitions[form], cfg.timezone, None)
            assert kept == _completeness_rows(engine), arriving
            assert any(r[3] == "rejected" for r in kept) and any(r[3] == "accepted" for r in kept)
    finally:
        engine.dispose()

"""`forms-sync migrate`: renames keep the column's data, removals and type changes archive the table
first, conversions that would lose values are refused with nothing changed; on all three databases,
and end to end through the CLI (sync refuses -> migrate -> sync works)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import write
from db_servers import database_url  # noqa: F401  (fixture)
from forms_sync.definition.model import parse_definition
from forms_sync.store import database as db
from forms_sync.store import tables as T
from forms_sync.store.migrate import MigrationRefused, apply_migration, parse_renames, plan_migration

FIELDS = [
    {"name": "jumlah", "label": "Jumlah", "type": "integer", "required": False},
    {"name": "isian", "label": "Isian", "type": "text", "required": False},
    {"name": "nilai", "label": "Nilai", "type": "number", "required": False},
    {"name": "aktif", "label": "Aktif", "type": "boolean", "required": False},
    {"name": "tanggal", "label": "Tanggal", "type": "date", "required": False},
]


def definition(version: int = 1, fields=FIELDS):
    return parse_definition({"id": "uji_migrasi", "version": version, "title": "Uji", "respondent": "regency",
                             "period": "monthly", "locale": "id", "fields": fields})


def with_field(name: str, **changes) -> list[dict]:
    return [{**f, **changes} if f["name"] == name else f for f in FIELDS]


ROWS = pd.DataFrame({
    "region": ["32.01", "32.04", "32.73"], "period": ["2026-11"] * 3,
    "jumlah": pd.array([1234, None, 7], dtype="Int64"),
    "isian": ["1.234", "56", None],
    "nilai": pd.array([1500000.5, 2.0, None], dtype="Float64"),
    "aktif": pd.array([True, False, None], dtype="boolean"),
    "tanggal": [dt.date(2026, 12, 3), None, dt.date(2026, 1, 31)],
    "_submitted_at": dt.datetime(2026, 12, 3, 2, 15, 2), "_submission_id": ["s1", "s2", "s3"],
    "_source": "file:x.csv", "_synced_at": dt.datetime(2026, 12, 3, 3, 0),
})


@pytest.fixture
def engine(database_url):
    engine = db.open_engine(database_url)
    db.ensure_base(engine)
    with engine.begin() as conn:
        db.ensure_form_tables(conn, definition())
        db.insert(conn, T.form_table(definition()), ROWS)
        db.insert(conn, T.rejected_table(definition()), pd.DataFrame({
            "_submission_id": ["s9"], "row": [4], "field": ["isian"], "value": ["?"], "code": ["type"],
            "message_id": ["m"], "message_en": ["m"], "_source": ["file:x.csv"], "_synced_at": [dt.datetime(2026, 12, 3)]}))
    yield engine
    engine.dispose()


def migrate(engine, d, renames=None):
    with engine.begin() as conn:
        plan = plan_migration(conn, d, renames or {})
        apply_migration(conn, d, plan)
    with engine.begin() as conn:
        db.ensure_form_tables(conn, d)  # what the next sync does: it must now pass
    return plan


def table(engine, name: str, order: str = "region") -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(f"SELECT * FROM {name} ORDER BY {order}"), conn)


def test_rename_keeps_the_values(engine):
    fields = [{**f, "name": "keterangan"} if f["name"] == "isian" else f for f in FIELDS]
    plan = migrate(engine, definition(2, fields), {"isian": "keterangan"})
    assert plan.archive is None and plan.describe() == ["rename column isian -> keterangan"]
    got = table(engine, "uji_migrasi")
    assert "isian" not in got and got["keterangan"].tolist()[:2] == ["1.234", "56"]
    assert table(engine, "uji_migrasi__rejected", "row")["field"].tolist() == ["keterangan"]
    long = table(engine, "uji_migrasi__long")
    assert set(long["field"]) >= {"keterangan", "jumlah"}


def test_removed_field_is_archived_before_the_column_goes(engine):
    plan = migrate(engine, definition(2, [f for f in FIELDS if f["name"] != "nilai"]))
    assert plan.archive == "uji_migrasi__v1"
    assert "nilai" not in table(engine, "uji_migrasi")
    archived = table(engine, "uji_migrasi__v1")
    assert len(archived) == 3 and archived["nilai"].astype(float).tolist()[:2] == [1500000.5, 2.0]
    # removing another field later keeps the first archive and makes a second one
    plan = migrate(engine, definition(2, [f for f in FIELDS if f["name"] not in ("nilai", "aktif")]))
    assert plan.archive == "uji_migrasi__v2" and "aktif" in table(engine, "uji_migrasi__v2")


@pytest.mark.parametrize("name, new_type, expected", [
    ("jumlah", "number", [1234.0, None, 7.0]),
    ("isian", "integer", [1234, 56, None]),  # read as the definition's locale reads it (id: 1.234 = 1234)
    ("nilai", "text", ["1500000.5", "2", None]),
    ("aktif", "text", ["true", "false", None]),
    ("tanggal", "text", ["2026-12-03", None, "2026-01-31"]),
])
def test_retype_converts_and_archives(engine, name, new_type, expected):
    plan = migrate(engine, definition(2, with_field(name, type=new_type)))
    assert plan.archive == "uji_migrasi__v1" and name in plan.retyped
    got = table(engine, "uji_migrasi")[name]
    assert [None if pd.isna(v) else (float(v) if new_type == "number" else v) for v in got] == expected
    assert len(table(engine, "uji_migrasi__v1")) == 3


def test_unconvertible_values_refuse_and_change_nothing(engine):
    with pytest.raises(MigrationRefused) as info, engine.begin() as conn:
        plan_migration(conn, definition(2, with_field("nilai", type="integer")), {})
    message = str(info.value)
    assert "'nilai' cannot change from number to integer" in message and "'1500000.5'" in message
    assert "Nothing was changed" in message and "\n" not in message
    with engine.begin() as conn:
        with pytest.raises(Exception, match="forms-sync migrate uji_migrasi"):
            db.ensure_form_tables(conn, definition(2, with_field("nilai", type="integer")))
    assert table(engine, "uji_migrasi")["nilai"].notna().sum() == 2


@pytest.mark.parametrize("renames, words", [
    ({"nope": "x"}, "has no field 'nope'"),
    ({"isian": "jumlah"}, "already has a column 'jumlah'"),
    ({"isian": "missing"}, "has no field 'missing'"),
])
def test_bad_renames_are_refused(engine, renames, words):
    fields = [{**f, "name": "keterangan"} if f["name"] == "isian" else f for f in FIELDS]
    with pytest.raises(MigrationRefused, match=words), engine.begin() as conn:
        plan_migration(conn, definition(2, fields), renames)


def test_parse_renames():
    assert parse_renames(["a=b", " c = d "]) == {"a": "b", "c": "d"}
    with pytest.raises(Exception, match="OLD=NEW"):
        parse_renames(["ab"])


def test_cli_sync_refuses_then_migrate_applies(run_cli, tmp_path):
    header = "Stempel waktu,Kabupaten/Kota,Periode,Jumlah,Isian,Nilai,Aktif,Tanggal\n"
    write(tmp_path / "in" / "a.csv", header + "03/12/2026 09:15:02,32.04,2026-11,\"1.234\",56,\"2,5\",Ya,03/12/2026\n")
    write(tmp_path / "forms-sync.toml", 'definitions = "defs"\n[[sources]]\nform = "uji_migrasi"\ntype = "files"\n'
                                        'paths = ["in/*.csv"]\n')
    yaml = ("id: uji_migrasi\nversion: {v}\ntitle: Uji\nrespondent: regency\nperiod: monthly\nfields:\n"
            "- {{name: jumlah, label: Jumlah, type: integer}}\n- {{name: {isian}, label: Isian, type: text}}\n"
            "- {{name: nilai, label: Nilai, type: number}}\n- {{name: aktif, label: Aktif, type: boolean}}\n"
            "- {{name: tanggal, label: Tanggal, type: date}}\n")
    write(tmp_path / "defs" / "uji_migrasi.yaml", yaml.format(v=1, isian="isian"))
    assert run_cli("sync", "--no-export").returncode == 0
    write(tmp_path / "defs" / "uji_migrasi.yaml", yaml.format(v=2, isian="keterangan"))
    p = run_cli("sync", "--no-export")
    assert p.returncode == 2 and "forms-sync migrate uji_migrasi" in p.stderr and "--rename" in p.stderr
    p = run_cli("migrate", "uji_migrasi", "--rename", "isian=keterangan", "--dry-run")
    assert p.returncode == 0 and "would" in p.stdout and "nothing was changed" in p.stdout, p.stderr
    assert run_cli("sync", "--no-export").returncode == 2
    p = run_cli("migrate", "uji_migrasi", "--rename", "isian=keterangan")
    assert p.returncode == 0 and "rename column isian -> keterangan" in p.stdout, p.stderr
    p = run_cli("sync", "--no-export", "--full")
    assert p.returncode == 0, p.stderr
    p = run_cli("migrate", "uji_migrasi")
    assert p.returncode == 0 and "nothing to migrate" in p.stdout
    p = run_cli("migrate", "uji_migrasi", "--rename", "x")
    assert p.returncode == 2 and "OLD=NEW" in p.stderr and "Traceback" not in p.stderr

"""Sync from Google: the google_form and google_sheet sources against the local emulator.

Everything goes over real HTTP through the real client libraries (google-api-python-client for
Forms, gspread for Sheets) with a throwaway service-account key; the emulator counts every call,
so the tests assert the cost of a sync as well as what it lands.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from forms_sync.definition.model import load_definition
from forms_sync.google.client import RetryPolicy
from forms_sync.google.emulator import EmulatorAdmin
from forms_sync.google.emulator.testing import google_sandbox
from forms_sync.google.generate import generate_forms
from forms_sync.google.registry import load_registry
from forms_sync.sources.google import common, form as form_source
from forms_sync.sources.google.common import Pacer
from forms_sync.sources.google.sheet import cell_text, serial_to_utc_text
from forms_sync.sync import run_sync

TODAY = dt.date(2026, 12, 3)
FAST = RetryPolicy(attempts=4, deadline=20, initial_delay=0.01, max_delay=0.05, timeout=5)
LIST = "forms.responses.list"
VALUES = "spreadsheets.values.get"
META = "spreadsheets.get"

SEKOLAH = [
    {"name": "jumlah_sd", "label": "Jumlah SD", "type": "integer", "min": 0},
    {"name": "anggaran", "label": "Anggaran", "type": "number", "required": False},
    {"name": "sumber_dana", "label": "Sumber dana", "type": "multi_choice", "choices": ["APBN", "APBD, provinsi"],
     "required": False},
    {"name": "tanggal", "label": "Tanggal laporan", "type": "date", "required": False},
    {"name": "kode_satker", "label": "Kode satuan kerja", "type": "text", "pattern": "^[0-9]{3,6}$",
     "required": False},
    {"name": "catatan", "label": "Catatan", "type": "text", "required": False},
]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "retry_policy", lambda cfg: FAST)
    with google_sandbox(tmp_path) as box:
        yield box


@pytest.fixture
def admin(sandbox):
    return EmulatorAdmin(sandbox.root)


def definition(tmp_path, form_id="rekap_sekolah", fields=None):
    folder = tmp_path / "form_definitions"
    folder.mkdir(exist_ok=True)
    data = {"id": form_id, "version": 1, "title": f"Rekap {form_id}", "respondent": "regency",
            "period": "monthly", "fields": fields or SEKOLAH}
    path = folder / f"{form_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_definition(path)


def google_form(tmp_path, form_id="rekap_sekolah", fields=None) -> str:
    """A definition generated into a published form on the emulator; its formId."""
    d = definition(tmp_path, form_id, fields)
    [result] = generate_forms([d], publish=True, today=TODAY, retry=FAST)
    assert result.status == "created"
    return load_registry(d).form_id


def config(tmp_path, sources: list[dict], name="forms-sync.toml", **google) -> Path:
    lines = [f'database = "sqlite:///{tmp_path}/forms_sync.db"', 'export_formats = ["csv"]']
    for s in sources:
        lines.append("[[sources]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in s.items()]
    if google:
        lines.append("[google]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in google.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def query(tmp_path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(tmp_path / "forms_sync.db") as conn:
        return conn.execute(sql, args).fetchall()


def watermark(tmp_path, form="rekap_sekolah") -> dict:
    rows = query(tmp_path, "select source, value from _watermarks where form = ? and source not like '(%'", form)
    return {source: json.loads(value) for source, value in rows}


def options(sandbox, form_id: str, title: str) -> list[str]:
    form = sandbox.emulator.forms.get(form_id)
    item = next(i for i in form["items"] if i.get("title") == title)
    return [o["value"] for o in item["questionItem"]["question"]["choiceQuestion"]["options"]]


def stamp(n: int, base: str = "2026-12-01T08:00:00") -> str:
    """A distinct RFC 3339 time per n, microseconds apart, as Google writes lastSubmittedTime."""
    moment = dt.datetime.fromisoformat(base) + dt.timedelta(microseconds=n)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def answer(region="32.04 Kabupaten Bandung", period="November 2026", jumlah="10", **more) -> dict:
    return {"Kabupaten/Kota": region, "Periode": period, "Jumlah SD": jumlah, **more}


def one(result, form="rekap_sekolah"):
    return next(f for f in result.forms if f.form == form)


# --- google_form ---------------------------------------------------------------------------------

def test_more_than_5000_responses_land_exactly_once_and_a_quiet_sync_costs_one_call(tmp_path, sandbox, admin):
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}])
    regions = options(sandbox, form_id, "Kabupaten/Kota")
    periods = options(sandbox, form_id, "Periode")
    keys = [(r, p) for p in periods for r in regions][:5200]
    admin.submit_many(form_id, [{"answers": answer(r, p, str(i), **{"Sumber dana": ["APBN", "APBD, provinsi"]}),
                                 "submittedAt": stamp(i)} for i, (r, p) in enumerate(keys)])
    sandbox.emulator.reset_calls()

    res = one(run_sync(cfg))
    assert (res.status, res.read, res.new, res.accepted, res.rejected) == ("ok", 5200, 5200, 5200, 0)
    assert res.api_calls == 2 and sandbox.emulator.calls()[LIST] == 2  # two pages: 5,000 + 200
    assert query(tmp_path, "select count(*), count(distinct _submission_id) from rekap_sekolah") == [(5200, 5200)]
    assert query(tmp_path, "select count(*) from _submissions") == [(5200,)]
    assert query(tmp_path, "select sumber_dana from rekap_sekolah limit 1") == [('["APBN", "APBD, provinsi"]',)]
    mark = watermark(tmp_path)[f"google_form:{form_id}"]
    assert mark["after"] == stamp(5199)  # the last lastSubmittedTime, exactly as Google wrote it

    sandbox.emulator.reset_calls()
    res = one(run_sync(cfg))
    assert (res.status, res.new, res.unchanged) == ("ok", 0, 1)  # only the response on the boundary
    assert res.api_calls == 1
    assert {k: v for k, v in sandbox.emulator.calls().items() if k != "oauth2.token"} == {LIST: 1}
    runs = query(tmp_path, "select status, api_calls from _sync_runs order by id")
    assert runs == [("ok", 2), ("ok", 1)]


def test_responses_sharing_the_watermark_time_are_neither_lost_nor_repeated(tmp_path, sandbox, admin):
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}])
    boundary = "2026-12-01T08:00:00.123456Z"
    admin.submit(form_id, answer("32.04 Kabupaten Bandung"), submitted_at=boundary)
    admin.submit(form_id, answer("32.05 Kabupaten Garut"), submitted_at=boundary)
    assert one(run_sync(cfg)).accepted == 2
    assert watermark(tmp_path)[f"google_form:{form_id}"]["after"] == boundary

    # Two more arrive with the very same lastSubmittedTime after the sync: `>` would lose them.
    admin.submit(form_id, answer("32.06 Kabupaten Tasikmalaya"), submitted_at=boundary)
    admin.submit(form_id, answer("32.07 Kabupaten Ciamis"), submitted_at=boundary)
    res = one(run_sync(cfg))
    assert (res.read, res.new, res.unchanged, res.accepted) == (4, 2, 2, 2)
    # A millisecond cursor (…08:00:00.123Z) would return the same responses forever; ours moves on.
    admin.submit(form_id, answer("32.08 Kabupaten Kuningan"), submitted_at="2026-12-01T08:00:00.123999Z")
    res = one(run_sync(cfg))
    assert (res.read, res.new, res.unchanged) == (5, 1, 4)  # the boundary's four once more, then done
    assert watermark(tmp_path)[f"google_form:{form_id}"]["after"] == "2026-12-01T08:00:00.123999Z"
    res = one(run_sync(cfg))
    assert (res.read, res.new, res.unchanged, res.api_calls) == (1, 0, 1, 1)
    assert query(tmp_path, "select count(*) from rekap_sekolah") == [(5,)]
    assert query(tmp_path, "select count(*) from _submissions") == [(5,)]


def test_an_edit_replaces_the_earlier_version_even_when_it_moves_to_another_key(tmp_path, sandbox, admin):
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}])
    early = admin.submit(form_id, answer("32.05 Kabupaten Garut", jumlah="5"), submitted_at=stamp(1))
    r = admin.submit(form_id, answer("32.05 Kabupaten Garut", jumlah="10"), submitted_at=stamp(2))
    res = one(run_sync(cfg))
    assert (res.accepted, res.superseded) == (1, 1)

    admin.edit_response(form_id, r["responseId"], answer("32.05 Kabupaten Garut", jumlah="20"),
                        submitted_at=stamp(3))
    res = one(run_sync(cfg))
    assert (res.read, res.new, res.accepted, res.updated) == (1, 1, 1, 1)
    assert query(tmp_path, "select region, period, jumlah_sd, _submission_id from rekap_sekolah") == [
        ("32.05", "2026-11", 20, r["responseId"])]
    assert sorted(query(tmp_path, "select status from _submissions where submission_id = ?", r["responseId"])) == [
        ("accepted",), ("superseded",)]

    # The respondent picked the wrong regency: the edit moves the response. Its old row goes, and the
    # earlier response for Garut, beaten until now, is Garut's latest valid submission again.
    admin.edit_response(form_id, r["responseId"], answer("32.04 Kabupaten Bandung", jumlah="21"),
                        submitted_at=stamp(4))
    res = one(run_sync(cfg))
    assert res.exit_code == 0
    assert query(tmp_path, "select region, jumlah_sd, _submission_id from rekap_sekolah order by region") == [
        ("32.04", 21, r["responseId"]), ("32.05", 5, early["responseId"])]
    assert query(tmp_path, "select status from _submissions where submission_id = ?", early["responseId"]) == [
        ("accepted",)]
    assert sorted(query(tmp_path, "select status from _submissions where submission_id = ?", r["responseId"])) == [
        ("accepted",), ("superseded",), ("superseded",)]

    # An edit that is refused never replaces valid data: the earlier version stays.
    admin.edit_response(form_id, r["responseId"], answer("32.04 Kabupaten Bandung", jumlah="dua"),
                        submitted_at=stamp(5))
    res = one(run_sync(cfg))
    assert (res.status, res.rejected, res.exit_code) == ("refused", 1, 1)
    assert query(tmp_path, "select region, jumlah_sd from rekap_sekolah where region = '32.04'") == [("32.04", 21)]
    assert query(tmp_path, "select code, value from rekap_sekolah__rejected") == [("type", "dua")]


def test_a_field_removed_from_a_live_form_keeps_its_stored_answers_and_later_syncs_run(tmp_path, sandbox, admin):
    """The admin removes an answered field: generate takes its question off the form (its id kept as
    retired), migrate drops the column, and from then on the old answers to that question are
    neither a crash nor a warning on every run; new responses land as before."""
    from forms_sync.store.commands import migrate_form
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}])
    admin.submit(form_id, answer("32.05 Kabupaten Garut", Catatan="ada catatan"), submitted_at=stamp(1))
    assert one(run_sync(cfg)).exit_code == 0
    changed = definition(tmp_path, fields=[f for f in SEKOLAH if f["name"] != "catatan"])
    [result] = generate_forms([changed], publish=True, today=TODAY, retry=FAST)
    assert result.status == "updated" and "catatan" in load_registry(changed).previous_question_ids.values()
    assert one(run_sync(cfg)).exit_code == 2  # a removed field waits for migrate
    migrate_form(cfg, "rekap_sekolah", {})
    for n in (2, 3):  # the boundary response is read again each time: no crash, no warning
        admin.submit(form_id, answer("32.04 Kabupaten Bandung", jumlah=str(n)), submitted_at=stamp(n))
        res = one(run_sync(cfg))
        assert (res.exit_code, res.new, res.accepted) == (0, 1, 1), res.message
        assert not [p for f in res.files for p in f["problems"]] and not res.drift
    assert query(tmp_path, "select region, jumlah_sd from rekap_sekolah order by region") == [("32.04", 3), ("32.05", 10)]
    answers = json.loads(query(tmp_path, "select answers from _submissions order by arrival limit 1")[0][0])
    assert answers.get("catatan") == "ada catatan"  # the raw answers as received are kept


def test_full_sync_marks_responses_deleted_in_google(tmp_path, sandbox, admin):
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}])
    older = admin.submit(form_id, answer("32.04 Kabupaten Bandung", jumlah="1"), submitted_at=stamp(1))
    newer = admin.submit(form_id, answer("32.04 Kabupaten Bandung", jumlah="2"), submitted_at=stamp(2))
    garut = admin.submit(form_id, answer("32.05 Kabupaten Garut", jumlah="3"), submitted_at=stamp(3))
    admin.submit(form_id, answer("32.06 Kabupaten Tasikmalaya", jumlah="4"), submitted_at=stamp(4))
    assert one(run_sync(cfg)).accepted == 3
    admin.delete_response(form_id, newer["responseId"])
    admin.delete_response(form_id, garut["responseId"])

    res = one(run_sync(cfg))  # incremental: a deletion leaves no trace in responses.list
    assert res.deleted == 0 and query(tmp_path, "select count(*) from rekap_sekolah") == [(3,)]

    sandbox.emulator.reset_calls()
    res = one(run_sync(cfg, full=True))
    assert (res.status, res.read, res.new, res.deleted, res.api_calls) == ("ok", 2, 0, 2, 1)
    assert sandbox.emulator.calls()[LIST] == 1
    assert query(tmp_path, "select region, jumlah_sd, _submission_id from rekap_sekolah order by region") == [
        ("32.04", 1, older["responseId"]), ("32.06", 4, query(tmp_path, "select _submission_id from rekap_sekolah "
                                                                         "where region = '32.06'")[0][0])]
    statuses = dict(query(tmp_path, "select submission_id, status from _submissions"))
    assert statuses[newer["responseId"]] == statuses[garut["responseId"]] == "deleted"
    assert statuses[older["responseId"]] == "accepted"
    assert one(run_sync(cfg, full=True)).deleted == 0  # said once
    assert "32.05" not in Path(tmp_path / "exports" / "rekap_sekolah.csv").read_text()


def test_a_storm_of_429_within_the_retry_limit_still_syncs_and_counts_every_attempt(tmp_path, sandbox, admin):
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}])
    admin.submit(form_id, answer())
    sandbox.emulator.reset_calls()
    sandbox.emulator.inject(429, count=FAST.attempts - 1, method=LIST)
    res = one(run_sync(cfg))
    assert (res.status, res.accepted) == ("ok", 1)
    assert res.api_calls == FAST.attempts == sandbox.emulator.calls()[LIST]


def test_persistent_500_fails_that_form_only_and_commits_nothing_for_it(tmp_path, sandbox, admin):
    first = google_form(tmp_path, "rekap_sekolah")
    second = google_form(tmp_path, "rekap_puskesmas", fields=[
        {"name": "jumlah", "label": "Jumlah puskesmas", "type": "integer"}])
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"},
                            {"form": "rekap_puskesmas", "type": "google_form"}])
    admin.submit(first, answer(), submitted_at=stamp(1))
    admin.submit(second, {"Kabupaten/Kota": "32.04 Kabupaten Bandung", "Periode": "November 2026",
                          "Jumlah puskesmas": "7"})
    run_sync(cfg)
    before = (query(tmp_path, "select * from _submissions where form = 'rekap_sekolah'"), watermark(tmp_path))

    admin.submit(first, answer("32.05 Kabupaten Garut"), submitted_at=stamp(2))
    admin.submit(second, {"Kabupaten/Kota": "32.05 Kabupaten Garut", "Periode": "November 2026",
                          "Jumlah puskesmas": "8"})
    sandbox.emulator.inject(500, count=FAST.attempts, method=LIST)  # the first form's every attempt
    result = run_sync(cfg)
    failed, ok = one(result, "rekap_sekolah"), one(result, "rekap_puskesmas")
    assert result.exit_code == 3
    assert (failed.status, failed.exit_code, failed.new, failed.api_calls) == ("failed", 3, 0, FAST.attempts)
    assert "forms.responses.list did not finish" in failed.message and "HTTP 500" in failed.message
    assert "watermark is unchanged" in failed.message and "next sync" in failed.message
    assert (query(tmp_path, "select * from _submissions where form = 'rekap_sekolah'"), watermark(tmp_path)) == before
    assert (ok.status, ok.new, ok.accepted) == ("ok", 1, 1)
    run = query(tmp_path, "select status, api_calls, counts from _sync_runs order by id desc limit 1")[0]
    assert run[:2] == ("failed", FAST.attempts + 1)
    assert json.loads(run[2])["rekap_sekolah"]["message"] == failed.message

    res = one(run_sync(cfg))  # Google is back: the next run picks up exactly what was missed
    assert (res.status, res.new, res.accepted) == ("ok", 1, 1)


def test_a_failure_in_mid_pagination_commits_nothing(tmp_path, sandbox, admin, monkeypatch):
    monkeypatch.setattr(form_source, "PAGE_SIZE", 2)
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}])
    regions = options(sandbox, form_id, "Kabupaten/Kota")[:5]
    admin.submit_many(form_id, [{"answers": answer(r), "submittedAt": stamp(i)} for i, r in enumerate(regions)])
    sandbox.emulator.inject(None, count=1, method=LIST)  # page 1 answers...
    sandbox.emulator.inject(503, count=99, method=LIST)  # ...page 2 never does
    res = one(run_sync(cfg))
    assert (res.status, res.exit_code, res.api_calls) == ("failed", 3, 1 + FAST.attempts)
    assert query(tmp_path, "select count(*) from _submissions") == [(0,)]
    assert query(tmp_path, "select count(*) from rekap_sekolah") == [(0,)]
    assert watermark(tmp_path) == {}

    sandbox.emulator.clear_faults()
    res = one(run_sync(cfg))
    assert (res.status, res.new, res.accepted, res.api_calls) == ("ok", 5, 5, 3)
    assert query(tmp_path, "select count(*) from _submissions") == [(5,)]


def test_timeouts_are_retried_and_then_fail_the_form_with_exit_3(tmp_path, sandbox, admin, monkeypatch):
    monkeypatch.setattr(common, "retry_policy", lambda cfg: RetryPolicy(attempts=2, deadline=10,
                                                                        initial_delay=0.01, timeout=0.3))
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}])
    admin.submit(form_id, answer())
    sandbox.emulator.inject(None, count=1, method=LIST, delay=0.8)
    res = one(run_sync(cfg))
    assert (res.status, res.accepted, res.api_calls) == ("ok", 1, 2)

    admin.submit(form_id, answer("32.05 Kabupaten Garut"))
    sandbox.emulator.inject(None, count=2, method=LIST, delay=0.8)
    res = one(run_sync(cfg))
    assert (res.status, res.exit_code, res.api_calls) == ("failed", 3, 2)
    assert "timed out" in res.message
    assert query(tmp_path, "select count(*) from _submissions") == [(1,)]


def test_cli_summary_and_exit_code_when_google_keeps_failing(tmp_path, sandbox, admin, run_cli):
    form_id = google_form(tmp_path)
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"}], retry_attempts=2, retry_deadline=10)
    admin.submit(form_id, answer())
    sandbox.emulator.inject(503, count=2, method=LIST)
    done = run_cli("sync", "--config", cfg, "--format", "json")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    [f] = summary["forms"]
    assert (summary["exit"], f["status"], f["api_calls"]) == (3, "failed", 2)
    assert "forms.responses.list did not finish" in f["message"] and "HTTP 503" in f["message"]
    assert sandbox.secrets()[0] not in done.stdout + done.stderr
    done = run_cli("sync", "--config", cfg, "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["forms"][0]["accepted"] == 1


def test_a_form_given_by_form_id_maps_answers_by_question_title_once(tmp_path, sandbox, admin):
    form_id = google_form(tmp_path)
    lock = tmp_path / "form_definitions" / "rekap_sekolah.lock.json"
    lock.rename(tmp_path / "moved.lock.json")  # a form forms-sync did not generate: no lock file
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form", "form_id": form_id}])
    admin.submit(form_id, answer(jumlah="1.234"))
    sandbox.emulator.reset_calls()
    res = one(run_sync(cfg))
    assert (res.accepted, res.api_calls) == (1, 2)  # forms.get once, to learn the question ids
    assert query(tmp_path, "select jumlah_sd from rekap_sekolah") == [(1234,)]
    sandbox.emulator.reset_calls()
    admin.submit(form_id, answer("32.05 Kabupaten Garut"))
    res = one(run_sync(cfg))
    assert (res.new, res.api_calls) == (1, 1)
    assert "forms.get" not in sandbox.emulator.calls()


# --- google_sheet --------------------------------------------------------------------------------

HEADER = ["Stempel waktu", "Kabupaten/Kota", "Periode", "Jumlah SD", "Anggaran", "Kode satuan kerja",
          "Tanggal laporan", "Catatan", "Catatan 2"]


def sheet_source(spreadsheet_id, **more) -> dict:
    return {"form": "rekap_sekolah", "type": "google_sheet", "spreadsheet_id": spreadsheet_id,
            "sheet": "Form Responses 1", **more}


def test_sheet_values_are_read_unformatted_with_the_sheets_locale_and_time_zone(tmp_path, sandbox, admin):
    definition(tmp_path)
    sid = admin.create_spreadsheet(title="Rekap (Responses)", locale="id_ID", time_zone="Asia/Jakarta", sheets=[{
        "title": "Form Responses 1", "rows": [
            HEADER,
            [{"datetime": "2026-12-03T09:15:02"}, "32.04 Kabupaten Bandung", "November 2026", 1234, 1234.5, "007",
             {"date": "2026-12-01"}, "lama", ""],
            [],  # a blank row between responses is no submission
            # A question deleted and made again: Sheets calls the new column "Catatan 2".
            [{"datetime": "2026-12-03T10:00:00"}, "32.05 Kabupaten Garut", "November 2026", "1.234", "1,5", "0012",
             "", "", "baru"],
        ]}])
    cfg = config(tmp_path, [sheet_source(sid)])
    res = one(run_sync(cfg))
    assert (res.status, res.read, res.accepted, res.api_calls) == ("ok", 2, 2, 2)  # metadata + values
    assert res.files[0]["problems"] == []  # "Catatan 2" is no unknown column
    rows = query(tmp_path, "select region, jumlah_sd, anggaran, kode_satker, tanggal, catatan, _submitted_at "
                           "from rekap_sekolah order by region")
    assert rows == [("32.04", 1234, 1234.5, "007", "2026-12-01", "lama", "2026-12-03 02:15:02.000000"),
                    ("32.05", 1234, 1.5, "0012", None, "baru", "2026-12-03 03:00:00.000000")]
    assert query(tmp_path, "select row from _submissions order by row") == [(1,), (3,)]

    sandbox.emulator.reset_calls()
    res = one(run_sync(cfg))
    assert (res.status, res.read, res.new, res.api_calls) == ("ok", 0, 0, 1)
    assert {k: v for k, v in sandbox.emulator.calls().items() if k != "oauth2.token"} == {VALUES: 1}

    admin.fill_spreadsheet(sid, [[{"datetime": "2026-12-04T08:00:00"}, "32.06 Kabupaten Tasikmalaya",
                                  "November 2026", 3]], sheet="Form Responses 1")
    sandbox.emulator.reset_calls()
    res = one(run_sync(cfg))
    assert (res.read, res.new, res.unchanged, res.accepted, res.api_calls) == (3, 1, 2, 1, 2)
    assert sandbox.emulator.calls()[META] == 1  # the locale and time zone, read again when data changed


def test_sheet_time_zone_and_locale_come_from_its_metadata(tmp_path, sandbox, admin):
    definition(tmp_path)
    sid = admin.create_spreadsheet(locale="en_US", time_zone="Asia/Makassar", sheets=[{
        "title": "Form Responses 1", "rows": [
            ["Timestamp", "Kabupaten/Kota", "Periode", "Jumlah SD", "Anggaran"],
            [{"datetime": "2026-12-03T09:00:00"}, "32.04 Kabupaten Bandung", "November 2026", 7, 2.5],
            ["12/4/2026 08:30:00", "32.05 Kabupaten Garut", "November 2026", 8, ""],  # typed as text: m/d/Y
        ]}])
    res = one(run_sync(config(tmp_path, [sheet_source(sid)])))
    assert res.accepted == 2
    assert query(tmp_path, "select region, anggaran, _submitted_at from rekap_sekolah order by region") == [
        ("32.04", 2.5, "2026-12-03 01:00:00.000000"), ("32.05", None, "2026-12-04 00:30:00.000000")]


def test_sheet_schema_drift_is_reported_never_silently_dropped(tmp_path, sandbox, admin):
    definition(tmp_path)
    before = ["Timestamp", "Kabupaten/Kota", "Periode", "Jumlah SD", "Anggaran", "Lama", "Catatan"]
    row = [{"datetime": "2026-12-03T09:00:00"}, "32.04 Kabupaten Bandung", "November 2026", 7, 2.5, "x", "c"]
    sid = admin.create_spreadsheet(sheets=[{"title": "Form Responses 1", "rows": [before, row]}])
    cfg = config(tmp_path, [sheet_source(sid, ignore_columns=["Lama"])])
    res = one(run_sync(cfg))
    assert (res.accepted, res.drift) == (1, [])

    after = ["Timestamp", "Kabupaten/Kota", "Periode", "Jumlah SD", "Nilai anggaran", "Catatan", "Kolom baru"]
    admin.fill_spreadsheet(sid, [after, [{"datetime": "2026-12-04T09:00:00"}, "32.05 Kabupaten Garut",
                                         "November 2026", 8, 3.5, "d", "e"]], sheet="Form Responses 1", replace=True)
    res = one(run_sync(cfg))
    changes = {(d["change"], d["column"]): d for d in res.drift}
    assert set(changes) == {("renamed", "Nilai anggaran"), ("removed", "Lama"), ("added", "Kolom baru")}
    renamed = changes[("renamed", "Nilai anggaran")]
    assert (renamed["old"], renamed["was"], renamed["field"]) == ("Anggaran", "anggaran", None)
    assert "field anggaran has no column: it is empty in every row" in renamed["effect"]
    assert "nothing is lost" in changes[("removed", "Lama")]["effect"]
    assert "unknown_column" in changes[("added", "Kolom baru")]["effect"]
    assert {p["code"] for p in res.files[0]["problems"]} == {"unknown_column"}
    stored = json.loads(query(tmp_path, "select drift from _sync_runs order by id desc limit 1")[0][0])
    assert {(d["change"], d["column"]) for d in stored} == set(changes)
    assert one(run_sync(cfg)).drift == []  # reported once, when it happened

    # A required column gone: the sheet is refused as a whole, and the drift says why.
    admin.fill_spreadsheet(sid, [["Timestamp", "Kabupaten/Kota", "Periode", "Jumlah"],
                                 [{"datetime": "2026-12-05T09:00:00"}, "32.06 Kabupaten Tasikmalaya", "November 2026",
                                  9]], sheet="Form Responses 1", replace=True)
    res = one(run_sync(cfg))
    assert res.status == "refused" and res.accepted == 0
    jumlah = next(d for d in res.drift if d.get("was") == "jumlah_sd")
    assert "required field jumlah_sd has no column" in jumlah["effect"]
    # Mapping the renamed column in the config is enough: the unchanged sheet is read again.
    cfg = config(tmp_path, [sheet_source(sid, ignore_columns=["Lama"], columns={"jumlah_sd": "Jumlah"})])
    res = one(run_sync(cfg))
    assert (res.status, res.new, res.accepted) == ("ok", 1, 1)


def test_sheet_failures_commit_nothing_and_leave_the_watermark(tmp_path, sandbox, admin):
    definition(tmp_path)
    sid = admin.create_spreadsheet(sheets=[{"title": "Form Responses 1", "rows": [
        ["Timestamp", "Kabupaten/Kota", "Periode", "Jumlah SD"],
        [{"datetime": "2026-12-03T09:00:00"}, "32.04 Kabupaten Bandung", "November 2026", 7]]}])
    cfg = config(tmp_path, [sheet_source(sid)])
    assert one(run_sync(cfg)).accepted == 1
    mark = watermark(tmp_path)
    admin.fill_spreadsheet(sid, [[{"datetime": "2026-12-04T09:00:00"}, "32.05 Kabupaten Garut", "November 2026", 8]],
                           sheet="Form Responses 1")
    sandbox.emulator.inject(500, count=FAST.attempts, method=VALUES)
    res = one(run_sync(cfg))
    assert (res.status, res.exit_code, res.api_calls) == ("failed", 3, FAST.attempts)
    assert "spreadsheets.values.get did not finish" in res.message
    assert watermark(tmp_path) == mark and query(tmp_path, "select count(*) from _submissions") == [(1,)]

    wrong = config(tmp_path, [sheet_source(sid, sheet="Tab yang salah")], name="wrong.toml")
    res = one(run_sync(wrong))
    assert (res.status, res.exit_code) == ("failed", 3)
    assert "no tab 'Tab yang salah'" in res.message and "'Form Responses 1'" in res.message

    res = one(run_sync(cfg))
    assert (res.status, res.new, res.accepted) == ("ok", 1, 1)


def test_the_form_and_a_sheet_form_sync_side_by_side(tmp_path, sandbox, admin):
    form_id = google_form(tmp_path, "rekap_sekolah")
    definition(tmp_path, "rekap_puskesmas", fields=[{"name": "jumlah", "label": "Jumlah puskesmas",
                                                     "type": "integer"}])
    sid = admin.create_spreadsheet(sheets=[{"title": "Data", "rows": [
        ["Kabupaten/Kota", "Periode", "Jumlah puskesmas"], ["32.04", "2026-11", 4]]}])
    cfg = config(tmp_path, [{"form": "rekap_sekolah", "type": "google_form"},
                            {"form": "rekap_puskesmas", "type": "google_sheet", "spreadsheet_id": sid}])
    admin.submit(form_id, answer())
    sandbox.emulator.inject(503, count=FAST.attempts, method=LIST)
    result = run_sync(cfg)
    assert (one(result).status, one(result, "rekap_puskesmas").accepted) == ("failed", 1)
    sandbox.emulator.reset_calls()
    result = run_sync(cfg)
    assert [(f.form, f.status, f.new) for f in result.forms] == [("rekap_sekolah", "ok", 1),
                                                                 ("rekap_puskesmas", "ok", 0)]
    sandbox.emulator.reset_calls()
    result = run_sync(cfg)
    assert [f.api_calls for f in result.forms] == [1, 1]  # nothing new: one call per form, one per sheet
    assert {k: v for k, v in sandbox.emulator.calls().items() if k != "oauth2.token"} == {LIST: 1, VALUES: 1}


# --- small parts ---------------------------------------------------------------------------------

def test_cells_are_written_as_the_definitions_locale_reads_them_back():
    import zoneinfo
    wib = zoneinfo.ZoneInfo("Asia/Jakarta")
    assert cell_text("007", "value", "id", wib) == "007"
    assert cell_text(1234.5, "value", "id", wib) == "1234,5"
    assert cell_text(1234.5, "value", "en", wib) == "1234.5"
    assert cell_text(1234, "value", "id", wib) == "1234"
    assert cell_text(True, "value", "id", wib) == "Ya"
    assert cell_text(46357, "date", "id", wib) == "2026-12-01"
    assert cell_text(46357, "value", "id", wib) == "46357"  # a number in a number field stays a number
    assert cell_text("", "value", "id", wib) is None
    assert serial_to_utc_text(46359 + (9 * 3600 + 15 * 60 + 2) / 86400, wib) == "2026-12-03T02:15:02.000Z"
    assert serial_to_utc_text(-3, wib) is None


def test_pacer_keeps_requests_under_the_per_minute_quota():
    now = [0.0]
    slept = []
    pacer = Pacer(3, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    for _ in range(3):
        pacer.wait()
        now[0] += 1
    pacer.wait()  # the 4th request within the minute waits until the 1st is a minute old
    assert slept == [57.0]
    assert form_source.rfc3339_ns("2026-12-01T08:00:00.123456789Z") % 10**9 == 123456789
    assert form_source.rfc3339_ns("2026-12-01T15:00:00+07:00") == form_source.rfc3339_ns("2026-12-01T08:00:00Z")

"""The one validation path: codes, bilingual messages, rule skipping, resubmissions."""
from __future__ import annotations

import pandas as pd

from conftest import SEKOLAH
from forms_sync.definition.model import parse_definition
from forms_sync.validation.check import check_frame
from forms_sync.validation.resolve import latest_valid

import yaml

D = parse_definition(yaml.safe_load(SEKOLAH))


def frame(rows):
    cols = ["region", "period", "jumlah_sd", "siswa_laki_laki", "siswa_perempuan", "total_siswa", "anggaran",
            "status_data", "catatan"]
    f = pd.DataFrame(rows, columns=cols, dtype="str")
    f["_row"] = range(1, len(f) + 1)
    return f


GOOD = ["32.04", "2026-11", "10", "5", "5", "10", "", "Final", ""]


def problems(rows):
    c = check_frame(D, frame(rows))
    return c, [(int(r), f, code) for r, f, code in c.problems[["row", "field", "code"]].itertuples(index=False)]


def test_clean_row_has_no_problem():
    c, got = problems([GOOD])
    assert got == [] and c.valid.tolist() == [True]
    assert c.typed.loc[0, "total_siswa"] == 10 and c.typed.loc[0, "region"] == "32.04"


def test_rule_is_skipped_where_a_field_is_unreadable():
    row = GOOD.copy()
    row[3] = "lima"  # siswa_laki_laki unreadable: its own error, not the rule's
    _, got = problems([row])
    assert got == [(1, "siswa_laki_laki", "type")]


def test_every_message_is_bilingual_and_says_what_to_type():
    rows = [["Bandung", "2026-13", "1.5", "5", "5", "99", "-", "Selesai", ""]]
    c, got = problems(rows)
    codes = {code for _, _, code in got}
    assert {"region_ambiguous", "period_invalid", "ambiguous_number", "choice"} <= codes
    for r in c.problems.itertuples():
        assert r.message_id and r.message_en and r.message_id != r.message_en
        assert " atau " not in r.message_en, r.message_en
    amb = c.problems[c.problems["code"] == "region_ambiguous"].iloc[0]
    assert "32.04" in amb.message_id and "32.73" in amb.message_id


def test_several_errors_in_one_row_are_all_reported():
    row = ["", "", "", "-1", "x", "1", "", "", ""]
    _, got = problems([row])
    assert {(f, code) for _, f, code in got} >= {("region", "required"), ("period", "required"),
                                                   ("jumlah_sd", "required"), ("siswa_laki_laki", "min"),
                                                   ("siswa_perempuan", "type"), ("status_data", "required")}


def test_latest_valid_wins_and_invalid_never_replaces():
    region = pd.Series(["32.04"] * 4)
    period = pd.Series(["2026-11"] * 4)
    valid = pd.Series([True, True, False, True])
    ts = pd.to_datetime(pd.Series(["2026-12-01", "2026-12-03", "2026-12-05", "2026-12-03"]), utc=True)
    winners, lost = latest_valid(region, period, valid, ts, pd.Series([1, 2, 3, 4]))
    assert list(winners) == [3] and sorted(lost) == [0, 1]  # equal times: the later row wins

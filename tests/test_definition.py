"""Definitions (FORMAT.md §1): every breach refused with the file and the field path; rules are data."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import SEKOLAH, write
from forms_sync.definition.model import load_definition, parse_definition
from forms_sync.definition.rules import RuleSyntaxError, evaluate, parse_rule
from forms_sync.errors import DefinitionError


def base(**changes):
    data = yaml.safe_load(SEKOLAH)
    data.update(changes)
    return data


def problems(data) -> list[str]:
    with pytest.raises(DefinitionError) as exc:
        parse_definition(data, "defs/x.yaml")
    return exc.value.problems


def test_valid_definition_loads(sekolah):
    d = load_definition(sekolah)
    assert d.id == "rekap_sekolah" and d.columns[:3] == ["region", "period", "jumlah_sd"]
    assert d.region_label == "Kabupaten/Kota" and d.rules[0].fields == ("total_siswa", "siswa_laki_laki", "siswa_perempuan")


@pytest.mark.parametrize("change,expected", [
    ({"id": "Rekap-Sekolah"}, "id: 'Rekap-Sekolah' must match"),
    ({"version": "1"}, "version: must be an integer"),
    ({"respondent": "kecamatan"}, "respondent: 'kecamatan' is not one of"),
    ({"period": "weekly"}, "period: 'weekly' is not one of"),
    ({"locale": "fr"}, "locale: 'fr' is not one of id, en"),
    ({"colour": "red"}, "colour: unknown key"),
    # values no database column or date can hold: refused here, not by a crash in a later sync
    ({"version": 10**23}, "version: must be a whole number from 1 to 2,147,483,647"),
    ({"due_days": 10**9}, "due_days: must be from 0 to 3,660"),
])
def test_top_level_errors(change, expected):
    assert any(p.startswith(expected) for p in problems(base(**change))), problems(base(**change))


def test_field_paths_are_precise():
    data = base()
    data["fields"][3]["min"] = "nol"
    data["fields"][1]["name"] = "region"
    data["fields"][2]["label"] = "Jumlah SD"
    data["fields"][5]["choices"] = []
    data["fields"][6]["pattern"] = "(["
    got = problems(data)
    assert any(p.startswith("fields[3].min: must be a number") for p in got)
    assert any(p.startswith("fields[1].name: 'region' is reserved") for p in got)
    assert any(p.startswith("fields[2].label: 'Jumlah SD' is used by an earlier field") for p in got)
    assert any(p.startswith("fields[5].choices: required") for p in got)
    assert any(p.startswith("fields[6].pattern: not a valid regular expression") for p in got)


def test_min_above_max_and_type_mismatch():
    data = base()
    data["fields"][0].update(min=10, max=1)
    data["fields"][6]["min"] = 3
    got = problems(data)
    assert any(p.startswith("fields[0].min: 10 is greater than max 1") for p in got)
    assert any(p.startswith("fields[6].min: not allowed for type text") for p in got)


@pytest.mark.parametrize("check,expected", [
    ("total_siswa == murid", "'murid' is not a field of this form"),
    ("__import__('os').system('x')", "not allowed"),
    ("total_siswa.real == 1", "a dot (.) ('total_siswa.real') is not allowed"),
    ("(1 if total_siswa else 2) == 1", "if/else ('1 if total_siswa else 2') is not allowed"),
    ("total_siswa == 'a'", "only numbers are allowed"),
    ("total_siswa ==", "not a valid expression"),
    ("status_data == 1", "rules compare integer and number fields only"),
])
def test_rule_errors(check, expected):
    data = base()
    data["rules"][0]["check"] = check
    assert any(p.startswith("rules[0].check:") and expected in p for p in problems(data))


def test_error_message_names_the_file(tmp_path):
    path = write(tmp_path / "broken.yaml", "id: x\nversion: [\n")
    with pytest.raises(DefinitionError) as exc:
        load_definition(path)
    assert str(path) in str(exc.value) and "not valid YAML" in str(exc.value)


def test_rules_evaluate_column_wise():
    rule = parse_rule("abs(a - sum(b, c)) <= 1 and not (a < 0) or a == 100")
    frame = pd.DataFrame({"a": [10.0, 10.0, -5.0, 100.0], "b": [4.0, 1.0, -5.0, 0.0], "c": [5.0, 1.0, 0.0, 0.0]})
    assert evaluate(rule, frame).tolist() == [True, False, False, True]


def test_rule_float_equality_is_tolerant():
    frame = pd.DataFrame({"a": [0.3], "b": [0.1], "c": [0.2]})
    assert evaluate(parse_rule("a == b + c"), frame).tolist() == [True]


def test_rule_division_by_zero_is_false_not_a_crash():
    frame = pd.DataFrame({"a": [1.0], "b": [0.0]})
    assert evaluate(parse_rule("a / b < 5"), frame).tolist() == [False]


def test_rule_syntax_is_whitelisted():
    with pytest.raises(RuleSyntaxError):
        parse_rule("[x for x in a]")


# --- Hardening (attack test): each defect is a definition problem with its path, never a traceback.

@pytest.mark.parametrize("form_id", ["regions", "completeness", "rekap__rejected", "rekap__long", "rekap__v1",
                                     "a__b"])
def test_ids_the_database_uses_are_reserved(form_id):
    assert problems(base(id=form_id)) == [
        f"id: {form_id!r} is reserved: the database uses the tables regions, completeness "
        "and <form>__rejected, <form>__long, <form>__v1 and indexes ix_<form>_... (no id may contain __ or start with ix_)"]


def test_id_starting_with_underscore_is_refused():
    assert problems(base(id="_forms"))[0].startswith("id: '_forms' must match ^[a-z]")


def _load_problems(tmp_path, text):
    path = write(tmp_path / "x.yaml", text)
    with pytest.raises(DefinitionError) as exc:
        load_definition(path)
    return exc.value.problems


def test_duplicate_field_key_is_refused_with_its_line(tmp_path):
    text = SEKOLAH.replace("- {name: jumlah_sd, label: Jumlah SD, type: integer, min: 0}",
                           "- name: jumlah_sd\n  label: Jumlah SD\n  type: integer\n  type: text")
    assert text.splitlines()[11] == "  type: text"
    assert _load_problems(tmp_path, text) == ["not valid YAML at line 12, column 3: duplicate key 'type'"]


def test_duplicate_top_level_key_is_refused(tmp_path):
    text = SEKOLAH.replace("respondent: regency\n", "respondent: regency\ntitle: Lagi\n")
    assert _load_problems(tmp_path, text) == ["not valid YAML at line 5, column 1: duplicate key 'title'"]


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    text = SEKOLAH.replace("- {name: jumlah_sd, label: Jumlah SD, type: integer, min: 0}",
                           "- &n {name: jumlah_sd, label: Jumlah SD, type: integer, min: 0}\n"
                           "- {<<: *n, name: jumlah_smp, label: Jumlah SMP}")
    assert load_definition(write(tmp_path / "x.yaml", text)).field("jumlah_smp").type == "integer"


def test_impossible_date_is_a_yaml_problem_with_its_line(tmp_path):
    text = SEKOLAH.replace("- {name: catatan,", "- {name: tanggal, label: Tanggal, type: date, min: 2026-13-40}\n"
                                                 "- {name: catatan,")
    assert _load_problems(tmp_path, text) == [
        "not valid YAML at line 15, column 52: '2026-13-40' is not a real date (write YYYY-MM-DD)"]


def test_date_bounds_are_shown_as_written():
    data = base()
    data["fields"].append({"name": "tanggal", "label": "Tanggal", "type": "date",
                           "min": yaml.safe_load("2026-01-01"), "max": yaml.safe_load("2025-01-01")})
    data["title"] = yaml.safe_load("2026-02-03")
    got = problems(data)
    assert "fields[7].min: 2026-01-01 is greater than max 2025-01-01" in got
    assert "title: must be text, got 2026-02-03" in got
    assert not any("datetime" in p for p in got), got


@pytest.mark.parametrize("value,shown", [(".nan", ".nan"), (".inf", ".inf"), ("-.inf", "-.inf")])
def test_non_finite_bounds_are_refused(value, shown):
    data = base()
    data["fields"][4]["min"] = yaml.safe_load(value)
    data["fields"][3]["max"] = yaml.safe_load(value)
    got = problems(data)
    assert f"fields[4].min: must be a finite number, got {shown}" in got
    assert f"fields[3].max: must be a finite number, got {shown}" in got


def test_deeply_nested_rule_is_a_problem_not_a_recursion_error():
    data = base()
    data["fields"][0]["name"] = "jumlah"
    check = "- " * 990 + "jumlah > 0"
    assert len(check) < 2000
    data["rules"][0]["check"] = check
    assert problems(data) == [
        "rules[0].check: expression is nested too deeply (more than 100 levels); write it more simply, "
        "e.g. sum(a, b, c, ...) instead of a long a + b + c + ..."]
    with pytest.raises(RuleSyntaxError, match="nested too deeply"):
        parse_rule("not " * 300 + "a > 0")


def test_long_sums_within_the_limit_still_work():
    rule = parse_rule("a == " + " + ".join(["b"] * 90))
    assert evaluate(rule, pd.DataFrame({"a": [90.0, 1.0], "b": [1.0, 1.0]})).tolist() == [True, False]
    rule = parse_rule("a == sum(" + ", ".join(["b"] * 500) + ")")
    assert evaluate(rule, pd.DataFrame({"a": [500.0], "b": [1.0]})).tolist() == [True]


@pytest.mark.parametrize("check,expected", [
    ("total_siswa", "rules[0].check: 'total_siswa' is not a condition; the rule must be a condition: "
                    "a comparison (== != < <= > >=), or comparisons joined with and/or/not, e.g. total == a + b"),
    ("total_siswa + 1", "rules[0].check: 'total_siswa + 1' is not a condition;"),
    ("not total_siswa", "rules[0].check: 'total_siswa' is not a condition;"),
    ("total_siswa > 0 and jumlah_sd", "rules[0].check: 'jumlah_sd' is not a condition;"),
    ("(total_siswa > 0) == (jumlah_sd > 0)", "rules[0].check: 'total_siswa > 0' is a condition where a number "
                                              "is expected"),
    ("1/0 == total_siswa", "rules[0].check: '1 / 0' divides by 0"),
    ("total_siswa / -0.0 < 1", "rules[0].check: 'total_siswa / -0.0' divides by 0"),
])
def test_rule_must_be_a_condition(check, expected):
    data = base()
    data["rules"][0]["check"] = check
    got = problems(data)
    assert len(got) == 1 and got[0].startswith(expected), got


def test_division_by_a_field_is_still_allowed():
    data = base()
    data["rules"][0]["check"] = "total_siswa / jumlah_sd <= 1000"
    assert parse_definition(data).rules[0].fields == ("total_siswa", "jumlah_sd")


@pytest.mark.parametrize("pattern", [r"^(?=\d)[0-9]{6}$", r"(a)\1", r"(?<!x)y"])
def test_pattern_features_re2_lacks_are_refused(pattern):
    data = base()
    data["fields"][6]["pattern"] = pattern
    assert problems(data) == ["fields[6].pattern: uses a feature the checker does not support "
                              "(look-around, back-references); write it without them"]


def test_catastrophic_pattern_is_checked_in_linear_time():
    import time

    from forms_sync.validation.check import check_frame

    data = base()
    data["fields"][6]["pattern"] = "(a+)+b"
    d = parse_definition(data)
    cols = ["region", "period", *d.field_names]
    good = ["32.04", "2026-11", "10", "5", "5", "10", "", "Final"]
    rows = [good + ["a" * 60], good + ["aaab"], good + [""]]
    rows[1][0], rows[2][0] = "32.01", "32.02"
    frame = pd.DataFrame(rows, columns=cols, dtype="str")
    frame["_row"] = range(1, 4)
    start = time.perf_counter()
    c = check_frame(d, frame)
    assert time.perf_counter() - start < 10
    got = [(int(r), f, code) for r, f, code in c.problems[["row", "field", "code"]].itertuples(index=False)]
    assert got == [(1, "catatan", "pattern")]


def test_pattern_is_a_full_match():
    from forms_sync.validation.schema import _pattern_check

    s = pd.Series(["123456", "1234567", "x123456", None, pd.NA, "12345\n"], dtype=object)
    assert _pattern_check("^[0-9]{6}$")(s).tolist() == [True, False, False, True, True, False]
    assert _pattern_check("[0-9]{6}|ab")(s).tolist() == [True, False, False, True, True, False]


def test_form_id_may_not_shadow_an_index_name():
    assert any(p.startswith("id: 'ix_rekap_period' is reserved") for p in problems(base(id="ix_rekap_period")))


@pytest.mark.parametrize("field,change,expected", [
    (0, {"max": 10**20}, "fields[0].max: 100000000000000000000 is too large; integer answers"),
    (4, {"min": -1e36}, "fields[4].min: -1e+36 is too large; number answers"),
    (6, {"max_length": 10**22}, "fields[6].max_length: must be from 1 to 50,000"),
    (6, {"label": "Stempel waktu"}, "fields[6].label: 'Stempel waktu' is the header Google Forms gives"),
    (6, {"label": "Email Address"}, "fields[6].label: 'Email Address' is the header Google Forms gives"),
    (6, {"name": "timestamp"}, "fields[6].name: 'timestamp' is the header Google Forms gives"),
])
def test_field_values_no_database_or_download_can_hold(field, change, expected):
    data = base()
    assert data["fields"][field]["type"] in ("integer", "number", "text")
    data["fields"][field].update(change)
    got = problems(data)
    assert any(p.startswith(expected) for p in got), got


def test_a_yaml_alias_chain_is_shown_short_and_quickly(tmp_path):
    """Nine levels of aliases stand for 9**9 items: the message quotes a few, at once."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    text = "\n".join(lines) + "\n" + SEKOLAH.replace("title: Rekapitulasi Jumlah Sekolah dan Siswa", "title: *a8")
    path = write(tmp_path / "bomb.yaml", text)
    with pytest.raises(DefinitionError) as exc:
        load_definition(path)
    title = next(p for p in exc.value.problems if p.startswith("title:"))
    assert title.startswith("title: must be text, got [[") and len(title) < 300


def test_a_multi_choice_option_that_reads_as_two_ticked_options_is_refused():
    data = base()
    data["fields"][5].update(type="multi_choice", choices=["APBN", "APBD", "APBN, APBD", "APBD, provinsi"])
    got = problems(data)
    assert [p for p in got if "ticked together" in p] == [
        "fields[5].choices: 'APBN, APBD' reads the same as the options 'APBN' + 'APBD' ticked together; "
        "rename it (e.g. without the comma)"]

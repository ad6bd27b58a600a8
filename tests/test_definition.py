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
    ("total_siswa.real == 1", "not allowed"),
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

"""`generate`: definitions -> Google Forms, updated in place, against the local emulator over real HTTP."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random

import pytest
import yaml
from click.testing import CliRunner

from forms_sync.definition.model import load_definition
from forms_sync.google import builder
from forms_sync.google.client import API_ROOT_ENV, GoogleSession, RetryPolicy
from forms_sync.google.commands import generate_command, sandbox_command
from forms_sync.google.credentials import SCOPES_GENERATE, SCOPES_PLAN
from forms_sync.google.emulator.testing import google_sandbox
from forms_sync.google.errors import CredentialsError, GoogleUnavailable, RegistryError
from forms_sync.google.generate import generate_forms
from forms_sync.google.registry import load_registry, lock_path
from forms_sync.reference import periods

TODAY = dt.date(2026, 12, 3)
FAST = RetryPolicy(attempts=3, deadline=10, initial_delay=0.01, max_delay=0.05, timeout=5)

ALL_TYPES = [
    {"name": "jumlah_sd", "label": "Jumlah SD", "type": "integer", "min": 0, "max": 100000, "help": "Termasuk swasta"},
    {"name": "anggaran", "label": "Realisasi anggaran (Rp)", "type": "number", "required": False},
    {"name": "status_data", "label": "Status data", "type": "choice", "choices": ["Final", "Sementara"]},
    {"name": "jenjang", "label": "Jenjang", "type": "choice",
     "choices": ["PAUD", "SD", "SMP", "SMA", "SMK", "SLB", "PT"]},
    {"name": "sumber_dana", "label": "Sumber dana", "type": "multi_choice", "choices": ["APBN", "APBD, provinsi"]},
    {"name": "tanggal", "label": "Tanggal laporan", "type": "date", "min": "2026-01-01", "max": "2027-12-31"},
    {"name": "aktif", "label": "Masih aktif", "type": "boolean"},
    {"name": "kode_satker", "label": "Kode satuan kerja", "type": "text", "pattern": "^[0-9]{6}$", "max_length": 6},
    {"name": "catatan", "label": "Catatan", "type": "text", "max_length": 500, "required": False},
]


@pytest.fixture
def sandbox(tmp_path):
    with google_sandbox(tmp_path) as box:
        yield box


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "form_definitions"
    path.mkdir()
    return path


def write_definition(folder, form_id="rekap_sekolah", fields=None, **top):
    data = {"id": form_id, "version": 1, "title": f"Rekap {form_id}", "respondent": "regency",
            "period": "monthly", "due_days": 10, "fields": fields if fields is not None else ALL_TYPES, **top}
    path = folder / f"{form_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_definition(path)


def generate(definitions, **kwargs):
    kwargs.setdefault("today", TODAY)
    kwargs.setdefault("retry", FAST)
    return generate_forms(definitions if isinstance(definitions, list) else [definitions], **kwargs)


def form_of(sandbox, definition) -> dict:
    return sandbox.emulator.forms.get(load_registry(definition).form_id)


def by_title(form) -> dict:
    return {i.get("title", ""): i for i in form.get("items", [])}


def question(item) -> dict:
    return item["questionItem"]["question"]


def registry_matches_form(definition, form) -> None:
    """The lock file's ids are exactly the form's: what the Google intake relies on."""
    registry = load_registry(definition)
    assert [i.item_id for i in registry.items] == [i["itemId"] for i in form["items"]]
    for entry, item in zip(registry.items, form["items"]):
        assert entry.question_id == item.get("questionItem", {}).get("question", {}).get("questionId")
    assert registry.revision_id == form["revisionId"]


# --- the form generated ------------------------------------------------------------------------

@pytest.mark.parametrize("respondent, period", [("regency", "monthly"), ("province", "quarterly"),
                                                ("village", "semester"), ("regency", "yearly")])
def test_every_field_type_and_respondent_level_is_accepted(sandbox, folder, respondent, period):
    definition = write_definition(folder, respondent=respondent, period=period)
    [result] = generate(definition)
    assert result.status == "created" and result.calls == ["forms.create", "forms.batchUpdate"]
    form = form_of(sandbox, definition)
    items = by_title(form)
    region = question(items[definition.region_label])
    if respondent == "village":
        assert region["textQuestion"] == {}
        assert "32.04.05.2001" in items["Desa/Kelurahan"]["description"]
    else:
        options = [o["value"] for o in region["choiceQuestion"]["options"]]
        assert region["choiceQuestion"]["type"] == "DROP_DOWN"
        assert len(options) == (38 if respondent == "province" else 514)
        assert ("32 Jawa Barat" if respondent == "province" else "32.04 Kabupaten Bandung") in options
    window = periods.periods_window(period, TODAY, 12, 1)
    assert [o["value"] for o in question(items["Periode"])["choiceQuestion"]["options"]] == [
        periods.period_label(p) for p in window]
    assert question(items["Jumlah SD"]) == {"questionId": question(items["Jumlah SD"])["questionId"],
                                            "required": True, "textQuestion": {}}
    assert items["Jumlah SD"]["description"] == "Termasuk swasta Bilangan bulat, mis. 1.234. Antara 0 dan 100.000."
    assert "koma untuk desimal, mis. 1.234,5" in items["Realisasi anggaran (Rp)"]["description"]
    assert question(items["Realisasi anggaran (Rp)"]).get("required", False) is False
    assert question(items["Status data"])["choiceQuestion"]["type"] == "RADIO"
    assert question(items["Jenjang"])["choiceQuestion"]["type"] == "DROP_DOWN"
    assert question(items["Sumber dana"])["choiceQuestion"]["type"] == "CHECKBOX"
    assert question(items["Tanggal laporan"])["dateQuestion"] == {"includeYear": True}
    assert "1 Januari 2026" in items["Tanggal laporan"]["description"]
    assert [o["value"] for o in question(items["Masih aktif"])["choiceQuestion"]["options"]] == ["Ya", "Tidak"]
    assert question(items["Kode satuan kerja"])["textQuestion"] == {}
    assert "Tepat 6 angka" in items["Kode satuan kerja"]["description"]
    assert question(items["Catatan"])["textQuestion"] == {"paragraph": True}
    description = form["info"]["description"]
    assert "1.234,5" in description and "paling lambat 10 hari" in description
    assert form["info"]["documentTitle"] == f"{definition.title} [{definition.id}]"
    assert form["publishSettings"]["publishState"]["isPublished"] is False
    registry_matches_form(definition, form)


def test_sections_become_page_breaks(sandbox, folder):
    fields = [dict(f, section="Sekolah") for f in ALL_TYPES[:2]] + [dict(f, section="Anggaran")
                                                                    for f in ALL_TYPES[2:4]]
    definition = write_definition(folder, fields=fields)
    generate(definition)
    form = form_of(sandbox, definition)
    kinds = [("break:" + i["title"]) if "pageBreakItem" in i else i["title"] for i in form["items"]]
    assert kinds == ["Kabupaten/Kota", "Periode", "break:Sekolah", "Jumlah SD", "Realisasi anggaran (Rp)",
                     "break:Anggaran", "Status data", "Jenjang"]
    assert set(load_registry(definition).question_ids) == {"region", "period", "jumlah_sd", "anggaran",
                                                           "status_data", "jenjang"}


def test_english_locale_forms_show_english_number_examples_and_yes_no(sandbox, folder):
    definition = write_definition(folder, locale="en", fields=[ALL_TYPES[1], ALL_TYPES[6]])
    generate(definition)
    items = by_title(form_of(sandbox, definition))
    assert "1,234.5" in items["Realisasi anggaran (Rp)"]["description"]
    assert [o["value"] for o in question(items["Masih aktif"])["choiceQuestion"]["options"]] == ["Yes", "No"]


# --- cost and idempotence ------------------------------------------------------------------------

def test_a_thirty_field_form_costs_exactly_three_calls(sandbox, folder):
    fields = [{"name": f"isian_{i}", "label": f"Isian {i}", "type": ("integer", "number", "text")[i % 3]}
              for i in range(30)]
    definition = write_definition(folder, fields=fields)
    [result] = generate(definition, publish=True)
    assert result.calls == ["forms.create", "forms.batchUpdate", "forms.setPublishSettings"]
    calls = sandbox.emulator.calls()
    assert {k: v for k, v in calls.items() if k.startswith("forms.")} == {
        "forms.create": 1, "forms.batchUpdate": 1, "forms.setPublishSettings": 1}
    form = form_of(sandbox, definition)
    assert len(form["items"]) == 32
    assert form["publishSettings"]["publishState"] == {"isPublished": True, "isAcceptingResponses": True}
    assert load_registry(definition).published


def test_rerunning_an_unchanged_definition_makes_no_call_at_all(sandbox, folder):
    definition = write_definition(folder)
    generate(definition, publish=True)
    before = sandbox.emulator.calls()
    lock_before = lock_path(definition).read_bytes()
    [result] = generate(definition, publish=True)
    assert (result.status, result.calls, result.plan) == ("unchanged", [], [])
    assert sandbox.emulator.calls() == before  # not even a token request
    assert lock_path(definition).read_bytes() == lock_before
    assert len(sandbox.emulator.state["forms"]) == 1


def test_a_later_publish_is_one_call(sandbox, folder):
    definition = write_definition(folder)
    generate(definition)
    [result] = generate(definition, publish=True)
    assert (result.status, result.calls) == ("updated", ["forms.setPublishSettings"])


def test_a_definition_change_that_does_not_touch_the_form_only_refreshes_the_lock_file(sandbox, folder):
    definition = write_definition(folder)
    generate(definition)
    changed = write_definition(folder, rules=[{"name": "r", "check": "jumlah_sd >= 0", "message": "m"}])
    [result] = generate(changed)
    assert (result.status, result.calls) == ("unchanged", [])
    assert load_registry(changed).content_hash == changed.content_hash


# --- updates in place ------------------------------------------------------------------------------

def test_an_update_keeps_the_question_ids_of_unchanged_fields(sandbox, folder):
    definition = write_definition(folder)
    generate(definition)
    before = load_registry(definition).question_ids
    fields = [dict(f) for f in ALL_TYPES]
    fields[0]["label"] = "Jumlah SD (unit)"                    # renamed
    fields[2]["choices"] = ["Final", "Sementara", "Revisi"]     # options changed
    fields[6]["required"] = False                               # now optional
    del fields[4]                                               # removed: sumber_dana
    fields.insert(1, {"name": "jumlah_smp", "label": "Jumlah SMP", "type": "integer"})  # added
    fields.append(fields.pop(2))                                # moved: anggaran to the end
    changed = write_definition(folder, fields=fields, version=2)
    [result] = generate(changed)
    assert result.status == "updated"
    assert result.calls == ["forms.get", "forms.batchUpdate"]
    after = load_registry(changed).question_ids
    for name in ("region", "period", "jumlah_sd", "anggaran", "status_data", "jenjang", "tanggal", "aktif",
                 "kode_satker", "catatan"):
        assert after[name] == before[name], name
    assert "sumber_dana" not in after and after["jumlah_smp"] not in before.values()
    assert load_registry(changed).field_for_question(before["sumber_dana"]) == "sumber_dana"
    form = form_of(sandbox, changed)
    assert [i["title"] for i in form["items"]] == ["Kabupaten/Kota", "Periode"] + [f["label"] for f in fields]
    assert question(by_title(form)["Masih aktif"]).get("required", False) is False
    registry_matches_form(changed, form)
    assert any(line.startswith("> move") for line in result.plan)
    assert any("+'Revisi'" in line for line in result.plan)
    [again] = generate(changed)
    assert (again.status, again.calls) == ("unchanged", [])


def test_a_changed_question_kind_gets_a_new_question_and_the_old_id_is_remembered(sandbox, folder):
    definition = write_definition(folder, fields=ALL_TYPES[:3])
    generate(definition)
    old = load_registry(definition).question_ids["status_data"]
    fields = [dict(f) for f in ALL_TYPES[:3]]
    fields[2] = {"name": "status_data", "label": "Status data", "type": "text"}
    changed = write_definition(folder, fields=fields)
    [result] = generate(changed)
    registry = load_registry(changed)
    assert registry.question_ids["status_data"] != old
    assert registry.field_for_question(old) == "status_data"
    assert any(line.startswith("+ replace") for line in result.plan)
    registry_matches_form(changed, form_of(sandbox, changed))


def test_random_edits_always_converge_to_the_definition(sandbox, folder):
    rng = random.Random(20261203)
    pool = [{"name": f"f{i}", "label": f"Pertanyaan {i}", "type": "integer"} for i in range(12)]
    previous = None
    for _ in range(12):
        fields = [dict(f, label=f["label"] + "!" * (rng.random() < 0.2)) for f in
                  rng.sample(pool, rng.randint(1, len(pool)))]
        fields = [dict(f, section=rng.choice(["A", "B"])) if rng.random() < 0.3 else f for f in fields]
        definition = write_definition(folder, fields=fields)
        generate(definition)
        form = form_of(sandbox, definition)
        desired = builder.desired_form(definition, today=TODAY)
        assert [builder.canonical(i) for i in form["items"]] == [builder.canonical(d.item) for d in desired.items]
        registry_matches_form(definition, form)
        ids = load_registry(definition).question_ids
        if previous:
            for name, qid in ids.items():
                if name in previous:
                    assert previous[name] == qid
        previous = ids
    assert len(sandbox.emulator.state["forms"]) == 1


def test_the_period_drop_down_rolls_forward_in_place(sandbox, folder):
    definition = write_definition(folder)
    generate(definition, today=TODAY)
    period_id = load_registry(definition).question_ids["period"]
    [result] = generate(definition, today=dt.date(2027, 1, 5))
    assert result.calls == ["forms.get", "forms.batchUpdate"]
    options = [o["value"] for o in question(by_title(form_of(sandbox, definition))["Periode"])["choiceQuestion"][
        "options"]]
    assert options[0] == "Januari 2026" and options[-1] == "Februari 2027"
    assert load_registry(definition).question_ids["period"] == period_id


# --- hand edits ---------------------------------------------------------------------------------------

def hand_edit(sandbox, definition, title="Diubah manual"):
    """Someone edits the form in the Forms editor (here: through the API with their own session)."""
    session = GoogleSession(SCOPES_GENERATE, policy=FAST)
    form = form_of(sandbox, definition)
    session.call(session.forms.forms().batchUpdate(formId=form["formId"], body={"requests": [{"updateItem": {
        "item": {"title": title}, "location": {"index": 2}, "updateMask": "title"}}]}), "forms.batchUpdate")


def test_a_form_edited_by_hand_is_refused_unless_forced(sandbox, folder):
    definition = write_definition(folder)
    generate(definition)
    hand_edit(sandbox, definition)
    changed = write_definition(folder, fields=ALL_TYPES[:-1])
    lock_before = lock_path(changed).read_bytes()
    [result] = generate(changed)
    assert result.status == "refused" and result.calls == ["forms.get"]
    assert "edited outside forms-sync" in result.message and "--force" in result.message
    assert any("'Diubah manual'" in line or "Jumlah SD" in line for line in result.plan)
    assert lock_path(changed).read_bytes() == lock_before
    runner = CliRunner()
    cli = runner.invoke(generate_command, ["--definitions", str(folder)])
    assert cli.exit_code == 2 and "refused" in cli.output

    [forced] = generate(changed, force=True)
    assert forced.status == "updated"
    form = form_of(sandbox, changed)
    assert [i["title"] for i in form["items"]][2:] == [f["label"] for f in ALL_TYPES[:-1]]
    registry_matches_form(changed, form)


def test_a_revision_change_without_a_content_change_is_not_a_conflict(sandbox, folder):
    definition = write_definition(folder)
    generate(definition)
    hand_edit(sandbox, definition, "Diubah manual")
    hand_edit(sandbox, definition, "Jumlah SD")  # ... and changed back
    changed = write_definition(folder, fields=ALL_TYPES[:-1])
    [result] = generate(changed)
    assert result.status == "updated"


def test_a_deleted_form_is_reported_never_silently_recreated(sandbox, folder):
    definition = write_definition(folder)
    generate(definition)
    sandbox.emulator.state["forms"].clear()
    with pytest.raises(RegistryError, match="no longer exists"):
        generate(write_definition(folder, fields=ALL_TYPES[:2]))


def test_a_lock_file_from_another_api_root_is_refused(sandbox, folder, monkeypatch):
    definition = write_definition(folder)
    generate(definition)
    monkeypatch.delenv(API_ROOT_ENV)
    with pytest.raises(RegistryError, match="generated on http://127.0.0.1"):
        generate(write_definition(folder, fields=ALL_TYPES[:2]))


# --- failures and retries ----------------------------------------------------------------------------

def test_retries_are_bounded_and_the_final_failure_says_what_to_do(sandbox, folder):
    definition = write_definition(folder)
    sandbox.emulator.inject(503, count=2, method="forms.create")
    [result] = generate(definition)
    assert result.status == "created" and sandbox.emulator.calls()["forms.create"] == 3

    other = write_definition(folder, "rekap_lain")
    sandbox.emulator.inject(503, count=100, method="forms.create")
    with pytest.raises(GoogleUnavailable) as info:
        generate(other)
    assert sandbox.emulator.calls()["forms.create"] == 3 + FAST.attempts
    message = str(info.value)
    assert "forms.create failed after 3 attempt(s)" in message and "run the command again" in message
    assert info.value.exit_code == 3
    assert "\n" not in message


def test_the_deadline_bounds_retries_too(sandbox, folder):
    definition = write_definition(folder)
    sandbox.emulator.inject(503, count=100, method="forms.create")
    policy = RetryPolicy(attempts=50, deadline=0.3, initial_delay=0.1, max_delay=0.2, timeout=5)
    with pytest.raises(GoogleUnavailable):
        generate(definition, retry=policy)
    assert sandbox.emulator.calls()["forms.create"] < 10


def test_a_failure_after_create_never_leads_to_a_second_form(sandbox, folder):
    definition = write_definition(folder)
    sandbox.emulator.inject(500, count=100, method="forms.batchUpdate")
    with pytest.raises(GoogleUnavailable, match="forms.batchUpdate"):
        generate(definition)
    registry = load_registry(definition)
    assert registry is not None and registry.items == ()
    sandbox.emulator.clear_faults()
    [result] = generate(definition)
    assert result.status == "updated" and result.calls == ["forms.get", "forms.batchUpdate"]
    assert list(sandbox.emulator.state["forms"]) == [registry.form_id]
    registry_matches_form(definition, form_of(sandbox, definition))


def test_cli_exit_code_3_and_one_line_when_google_keeps_failing(sandbox, folder, tmp_path):
    write_definition(folder)
    (tmp_path / "forms-sync.toml").write_text("[google]\nretry_attempts = 2\nretry_deadline = 5\n")
    sandbox.emulator.inject(503, count=100)
    result = CliRunner().invoke(generate_command, ["--definitions", str(folder),
                                                   "--config", str(tmp_path / "forms-sync.toml")])
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "forms.create failed after" in errors[0]


# --- dry run -----------------------------------------------------------------------------------------

def test_dry_run_writes_nothing(sandbox, folder):
    definition = write_definition(folder)
    [result] = generate(definition, dry_run=True, publish=True)
    assert (result.status, result.dry_run, result.calls) == ("created", True, [])
    assert result.plan[0].startswith("+ create form") and result.plan[-1].startswith("+ publish")
    assert sandbox.emulator.calls() == {} and not lock_path(definition).exists()

    generate(definition)
    changed = write_definition(folder, fields=ALL_TYPES[1:])
    lock_before = lock_path(changed).read_bytes()
    revision = form_of(sandbox, changed)["revisionId"]
    sandbox.emulator.reset_calls()
    [result] = generate(changed, dry_run=True)
    assert result.calls == ["forms.get"] and result.status == "updated"
    assert result.plan == ["- delete  #3 'Jumlah SD' (no longer in the definition; answers already given are kept "
                           "in the responses)"]
    assert set(sandbox.emulator.calls()) <= {"forms.get", "oauth2.token"}
    assert lock_path(changed).read_bytes() == lock_before and form_of(sandbox, changed)["revisionId"] == revision

    cli = CliRunner().invoke(generate_command, ["--definitions", str(folder), "--dry-run"])
    assert cli.exit_code == 0 and "- delete  #3 'Jumlah SD'" in cli.output and "dry run" in cli.output


# --- credentials and secrets ---------------------------------------------------------------------------

def test_least_privilege_scopes(sandbox, folder):
    definition = write_definition(folder)
    generate(definition)
    generate(write_definition(folder, fields=ALL_TYPES[1:]), dry_run=True)
    tokens = sandbox.emulator.tokens
    assert [tokens.scopes_of(t) for t in tokens.issued()] == [frozenset(SCOPES_GENERATE), frozenset(SCOPES_PLAN)]


def test_no_key_or_token_ever_appears_in_output_or_logs(sandbox, folder, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    write_definition(folder)
    sandbox.emulator.inject(503, count=1, method="forms.batchUpdate")
    runner = CliRunner()
    outputs = [runner.invoke(generate_command, ["--definitions", str(folder), "--publish"]).output]
    write_definition(folder, fields=ALL_TYPES[:3])
    outputs.append(runner.invoke(generate_command, ["--definitions", str(folder), "--dry-run"]).output)
    hand_edit(sandbox, load_definition(folder / "rekap_sekolah.yaml"))
    outputs.append(runner.invoke(generate_command, ["--definitions", str(folder)]).output)
    broken = dict(sandbox.key, private_key=sandbox.key["private_key"][:300])  # a damaged key file
    bad_key = folder.parent / "broken.json"
    bad_key.write_text(json.dumps(broken))
    os.chmod(bad_key, 0o600)
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(bad_key)
    outputs.append(runner.invoke(generate_command, ["--definitions", str(folder), "--force"]).output)
    captured = capsys.readouterr()
    everything = "\n".join(outputs) + caplog.text + captured.out + captured.err
    assert "retrying" in everything and "refused" in everything and "not a usable" in everything
    secrets = sandbox.secrets()
    assert len(secrets) >= 4
    for secret in secrets + [broken["private_key"][40:100]]:
        assert secret not in everything


def test_a_key_file_readable_by_others_gets_a_warning(sandbox, folder, caplog):
    os.chmod(sandbox.key_file, 0o644)
    generate(write_definition(folder))
    assert "readable by group or others" in caplog.text and "chmod 600" in caplog.text


def test_missing_credentials_are_one_clear_line_with_exit_2(sandbox, folder, monkeypatch):
    write_definition(folder)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(folder / "nope.json"))
    result = CliRunner().invoke(generate_command, ["--definitions", str(folder)])
    assert result.exit_code == 2 and "credentials file" in result.output and "not found" in result.output
    with pytest.raises(CredentialsError):
        generate(load_definition(folder / "rekap_sekolah.yaml"))


# --- CLI, config, registry API, sandbox ------------------------------------------------------------------

def test_config_names_the_folder_credentials_and_period_window(sandbox, tmp_path, monkeypatch):
    defs = tmp_path / "defs"
    defs.mkdir()
    definition = write_definition(defs)
    (tmp_path / "forms-sync.toml").write_text(
        'definitions = "defs"\n[google]\ncredentials = "sandbox-key.json"\nperiod_window = [2, 0]\n'
        "retry_attempts = 2\n")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    result = CliRunner().invoke(generate_command, ["--config", str(tmp_path / "forms-sync.toml"), "rekap_sekolah"])
    assert result.exit_code == 0, result.output
    options = question(by_title(form_of(sandbox, definition))["Periode"])["choiceQuestion"]["options"]
    assert len(options) == 3
    unknown = CliRunner().invoke(generate_command, ["--config", str(tmp_path / "forms-sync.toml"), "nope"])
    assert unknown.exit_code == 2 and "no definition with id nope" in unknown.output


def test_load_registry_by_path_or_definition(sandbox, folder):
    definition = write_definition(folder)
    assert load_registry(definition) is None
    generate(definition)
    registry = load_registry(folder / "rekap_sekolah.yaml")
    assert registry == load_registry(definition)
    assert list(registry.question_ids)[:2] == ["region", "period"]
    assert set(registry.question_ids) == {"region", "period", *definition.field_names}
    text = lock_path(definition).read_text()
    assert '"formId"' in text and text.count("\n") < 40  # one line per item: readable and diffable


def test_sandbox_submit_by_definition_id_and_labels(sandbox, folder):
    definition = write_definition(folder, fields=ALL_TYPES[:5])
    generate(definition, publish=True)
    answers = ["Kabupaten/Kota=32.04 Kabupaten Bandung", "Periode=November 2026", "Jumlah SD=1.234",
               "Status data=Final", "Jenjang=SD", "Sumber dana=APBN", "Sumber dana=APBD, provinsi"]
    result = CliRunner().invoke(sandbox_command, ["submit", "rekap_sekolah", "--definitions", str(folder),
                                                  *[a for answer in answers for a in ("-a", answer)]])
    assert result.exit_code == 0, result.output
    [stored] = sandbox.emulator.state["responses"][load_registry(definition).form_id].values()
    ids = load_registry(definition).question_ids
    assert [a["value"] for a in stored["answers"][ids["sumber_dana"]]["textAnswers"]["answers"]] == [
        "APBN", "APBD, provinsi"]
    bad = CliRunner().invoke(sandbox_command, ["submit", "rekap_sekolah", "--definitions", str(folder),
                                               "-a", "Status data=Draft"])
    assert bad.exit_code == 1 and "Error" in bad.output
    listed = CliRunner().invoke(sandbox_command, ["forms"])
    assert "1 responses, published" in listed.output


def test_sandbox_credentials_are_private_and_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(sandbox_command, ["credentials"]).exit_code == 0
    key = tmp_path / "sandbox-credentials.json"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert json.loads(key.read_text())["token_uri"] == "http://127.0.0.1:8765/token"
    before = key.read_text()
    assert runner.invoke(sandbox_command, ["credentials"]).exit_code == 1 and key.read_text() == before


def test_force_also_undoes_hand_edits_when_the_definition_is_unchanged(sandbox, folder):
    definition = write_definition(folder)
    generate(definition)
    hand_edit(sandbox, definition)
    [plain] = generate(definition)
    assert (plain.status, plain.calls) == ("unchanged", [])  # nothing to write: the form is not even read
    [forced] = generate(definition, force=True)
    assert forced.status == "updated" and forced.calls == ["forms.get", "forms.batchUpdate"]
    assert by_title(form_of(sandbox, definition)).get("Jumlah SD")


def test_two_generates_on_one_folder_cannot_run_at_once(sandbox, folder):
    from forms_sync.google.registry import exclusive

    definition = write_definition(folder)
    with exclusive(folder):
        with pytest.raises(RegistryError, match="another forms-sync generate is running"):
            generate(definition)
    assert generate(definition)[0].status == "created"

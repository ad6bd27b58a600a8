"""The local Google emulator: as strict as Google where forms-sync depends on it.

Driven through the real google-api-python-client (and gspread) over real HTTP, authenticated with a
throwaway service-account key, except where the raw JSON shape itself is under test.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from forms_sync.google.client import GoogleSession, RetryPolicy
from forms_sync.google.credentials import SCOPES_GENERATE, SCOPES_SYNC
from forms_sync.google.emulator import Emulator, EmulatorAdmin
from forms_sync.google.emulator.testing import google_sandbox
from forms_sync.google.errors import GoogleRefused, GoogleUnavailable

FAST = RetryPolicy(attempts=4, deadline=10, initial_delay=0.01, max_delay=0.05, timeout=5)


@pytest.fixture
def sandbox(tmp_path):
    with google_sandbox(tmp_path) as box:
        yield box


@pytest.fixture
def writer(sandbox):
    return GoogleSession(SCOPES_GENERATE, policy=FAST)


@pytest.fixture
def reader(sandbox):
    return GoogleSession(SCOPES_SYNC, policy=FAST)


def _create(session, title="Rekap") -> dict:
    return session.call(session.forms.forms().create(body={"info": {"title": title}}, unpublished=True),
                        "forms.create")


def _batch(session, form_id, requests, revision=None) -> dict:
    body = {"requests": requests}
    if revision:
        body["writeControl"] = {"requiredRevisionId": revision}
    return session.call(session.forms.forms().batchUpdate(formId=form_id, body=body), "forms.batchUpdate")


def _text_item(title, index, required=True):
    return {"createItem": {"item": {"title": title, "questionItem": {"question": {
        "required": required, "textQuestion": {}}}}, "location": {"index": index}}}


def _raw(sandbox, method, path, body=None, token=None):
    """A raw HTTP call, to see Google's error JSON exactly as it goes over the wire."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(sandbox.root + path, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _token(sandbox, scopes=SCOPES_GENERATE) -> str:
    return sandbox.emulator.tokens.issue(frozenset(scopes))


# --- forms -------------------------------------------------------------------------------------

def test_create_takes_a_title_only_and_starts_unpublished(writer):
    form = _create(writer)
    assert form["info"] == {"title": "Rekap", "documentTitle": "Rekap"}
    assert form["publishSettings"]["publishState"] == {"isPublished": False, "isAcceptingResponses": False}
    assert form["revisionId"] and form["responderUri"] and "items" not in form
    with pytest.raises(GoogleRefused, match="Only info.title and info.document_title"):
        writer.call(writer.forms.forms().create(body={"info": {"title": "x"}, "items": [
            {"title": "q", "questionItem": {"question": {"textQuestion": {}}}}]}), "forms.create")


def test_errors_have_googles_shape_and_name_every_violation(sandbox):
    token = _token(sandbox)
    status, created = _raw(sandbox, "POST", "/v1/forms", {"info": {"title": "x"}}, token)
    assert status == 200
    status, body = _raw(sandbox, "POST", f"/v1/forms/{created['formId']}:batchUpdate", {"requests": [
        {"createItem": {"item": {"title": "q", "colour": "red", "questionItem": {"question": {
            "required": "yes", "choiceQuestion": {"type": "RADIOX", "options": [{"value": "a"}]}}}},
            "location": {"index": "first"}}}]}, token)
    assert status == 400
    error = body["error"]
    assert set(error) == {"code", "message", "status", "details"}
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert 'Unknown name "colour" at \'requests[0].create_item.item\': Cannot find field.' in error["message"]
    fields = {v["field"] for v in error["details"][0]["fieldViolations"]}
    assert fields == {"requests[0].create_item.item",
                      "requests[0].create_item.item.question_item.question.required",
                      "requests[0].create_item.item.question_item.question.choice_question.type",
                      "requests[0].create_item.location.index"}
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"


def test_snake_case_field_names_are_accepted_as_google_does(sandbox):
    token = _token(sandbox)
    _, created = _raw(sandbox, "POST", "/v1/forms", {"info": {"title": "x", "document_title": "X"}}, token)
    assert created["info"]["documentTitle"] == "X"


def test_unknown_query_parameter_and_bad_enum_query_are_refused(sandbox):
    token = _token(sandbox, SCOPES_SYNC)
    status, body = _raw(sandbox, "GET", "/v1/forms/abc?colour=red", token=token)
    assert status == 400 and "Cannot bind query parameter" in body["error"]["message"]


def test_semantic_checks_beyond_the_discovery_document(writer):
    form = _create(writer)
    cases = [
        ({"createItem": {"item": {"title": "q"}, "location": {"index": 0}}}, "exactly one kind"),
        ({"createItem": {"item": {"title": "q", "questionItem": {"question": {"choiceQuestion": {
            "type": "RADIO", "options": [{"value": "a"}, {"value": "a"}]}}}}, "location": {"index": 0}}},
         "duplicate option"),
        ({"createItem": {"item": {"title": "q", "questionItem": {"question": {"fileUploadQuestion": {
            "folderId": "x"}}}}, "location": {"index": 0}}}, "file upload"),
        ({"createItem": {"item": {"title": "q", "pageBreakItem": {}}, "location": {"index": 5}}}, "out of range"),
        ({"deleteItem": {"location": {"index": 0}}}, "out of range"),
        ({"createItem": {"item": {"title": "q", "pageBreakItem": {}, "textItem": {}}, "location": {"index": 0}}},
         "exactly one kind"),
    ]
    for request, message in cases:
        with pytest.raises(GoogleRefused, match=message) as info:
            _batch(writer, form["formId"], [request])
        assert info.value.status == 400


def test_batch_update_is_atomic_assigns_ids_and_bumps_the_revision(writer):
    form = _create(writer)
    answer = _batch(writer, form["formId"], [_text_item("A", 0), _text_item("B", 1)], form["revisionId"])
    replies = [r["createItem"] for r in answer["replies"]]
    assert all(len(r["itemId"]) == 8 and len(r["questionId"]) == 1 for r in replies)
    revision = answer["writeControl"]["requiredRevisionId"]
    assert revision != form["revisionId"]
    with pytest.raises(GoogleRefused):  # the second request fails: the first must not stay applied
        _batch(writer, form["formId"], [_text_item("C", 0), {"deleteItem": {"location": {"index": 9}}}])
    after = writer.call(writer.forms.forms().get(formId=form["formId"]), "forms.get")
    assert [i["title"] for i in after["items"]] == ["A", "B"]
    assert after["revisionId"] == revision


def test_stale_required_revision_is_a_failed_precondition(writer):
    form = _create(writer)
    _batch(writer, form["formId"], [_text_item("A", 0)], form["revisionId"])
    with pytest.raises(GoogleRefused) as info:
        _batch(writer, form["formId"], [_text_item("B", 0)], form["revisionId"])
    assert (info.value.status, info.value.reason) == (400, "FAILED_PRECONDITION")


def test_update_item_follows_the_mask_and_keeps_or_mints_ids(writer):
    form = _create(writer)
    created = _batch(writer, form["formId"], [_text_item("A", 0)])["replies"][0]["createItem"]
    item_id, question_id = created["itemId"], created["questionId"][0]
    _batch(writer, form["formId"], [{"updateItem": {"location": {"index": 0}, "updateMask": "title,description",
                                                    "item": {"title": "A2", "description": "help"}}}])
    got = writer.call(writer.forms.forms().get(formId=form["formId"]), "forms.get")["items"][0]
    assert (got["title"], got["description"], got["itemId"]) == ("A2", "help", item_id)
    assert got["questionItem"]["question"] == {"questionId": question_id, "required": True, "textQuestion": {}}
    # The whole question in the mask without its id: Google mints a new questionId.
    _batch(writer, form["formId"], [{"updateItem": {"location": {"index": 0}, "updateMask": "questionItem.question",
                                                    "item": {"questionItem": {"question": {"dateQuestion": {}}}}}}])
    got = writer.call(writer.forms.forms().get(formId=form["formId"]), "forms.get")["items"][0]
    assert "dateQuestion" in got["questionItem"]["question"]
    assert got["questionItem"]["question"]["questionId"] != question_id
    with pytest.raises(GoogleRefused, match="invalid field mask path"):
        _batch(writer, form["formId"], [{"updateItem": {"location": {"index": 0}, "updateMask": "colour",
                                                        "item": {"title": "x"}}}])


def test_move_delete_and_form_info(writer):
    form = _create(writer)
    _batch(writer, form["formId"], [_text_item(t, i) for i, t in enumerate("ABCD")])
    _batch(writer, form["formId"], [
        {"moveItem": {"originalLocation": {"index": 0}, "newLocation": {"index": 3}}},
        {"deleteItem": {"location": {"index": 1}}},
        {"updateFormInfo": {"info": {"description": "Petunjuk"}, "updateMask": "description"}}])
    got = writer.call(writer.forms.forms().get(formId=form["formId"]), "forms.get")
    assert [i["title"] for i in got["items"]] == ["B", "D", "A"]
    assert got["info"]["description"] == "Petunjuk"
    with pytest.raises(GoogleRefused, match="read-only"):
        _batch(writer, form["formId"], [{"updateFormInfo": {"info": {"documentTitle": "x"},
                                                            "updateMask": "documentTitle"}}])


def test_publish_settings(writer):
    form = _create(writer)
    publish = writer.forms.forms().setPublishSettings
    with pytest.raises(GoogleRefused, match="not published cannot accept"):
        writer.call(publish(formId=form["formId"], body={"publishSettings": {"publishState": {
            "isPublished": False, "isAcceptingResponses": True}}}), "forms.setPublishSettings")
    answer = writer.call(publish(formId=form["formId"], body={"publishSettings": {"publishState": {
        "isPublished": True, "isAcceptingResponses": True}}, "updateMask": "publishState"}), "forms.setPublishSettings")
    assert answer == {"formId": form["formId"], "publishSettings": {"publishState": {
        "isPublished": True, "isAcceptingResponses": True}}}


def test_partial_responses_with_fields(writer):
    form = _create(writer)
    _batch(writer, form["formId"], [_text_item("A", 0)])
    got = writer.call(writer.forms.forms().get(formId=form["formId"], fields="items(title),revisionId"), "forms.get")
    assert got == {"items": [{"title": "A"}], "revisionId": "00000002"}


# --- auth --------------------------------------------------------------------------------------

def test_missing_invalid_and_insufficient_tokens(sandbox, reader):
    status, body = _raw(sandbox, "POST", "/v1/forms", {"info": {"title": "x"}})
    assert (status, body["error"]["status"]) == (401, "UNAUTHENTICATED")
    status, body = _raw(sandbox, "POST", "/v1/forms", {"info": {"title": "x"}}, token="ya29.forged")
    assert status == 401
    with pytest.raises(GoogleRefused) as info:  # sync's read-only scopes cannot write a form
        _create(reader)
    assert info.value.status == 403


def test_token_endpoint_accepts_only_the_jwt_bearer_grant(sandbox):
    request = urllib.request.Request(sandbox.root + "/token", data=b"grant_type=password&username=x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 400
    assert json.loads(info.value.read())["error"] == "unsupported_grant_type"


# --- responses ---------------------------------------------------------------------------------

@pytest.fixture
def published_form(writer):
    form = _create(writer)
    _batch(writer, form["formId"], [
        _text_item("Nama", 0),
        {"createItem": {"item": {"title": "Status", "questionItem": {"question": {"required": True, "choiceQuestion": {
            "type": "RADIO", "options": [{"value": "Final"}, {"value": "Sementara"}]}}}}, "location": {"index": 1}}},
        {"createItem": {"item": {"title": "Dana", "questionItem": {"question": {"choiceQuestion": {
            "type": "CHECKBOX", "options": [{"value": "APBN"}, {"value": "APBD, provinsi"}]}}}},
            "location": {"index": 2}}},
        {"createItem": {"item": {"title": "Tanggal", "questionItem": {"question": {"dateQuestion": {
            "includeYear": True}}}}, "location": {"index": 3}}}])
    writer.call(writer.forms.forms().setPublishSettings(formId=form["formId"], body={"publishSettings": {
        "publishState": {"isPublished": True, "isAcceptingResponses": True}}}), "forms.setPublishSettings")
    return writer.call(writer.forms.forms().get(formId=form["formId"]), "forms.get")


def test_submissions_are_checked_like_the_forms_ui(sandbox, writer):
    admin = EmulatorAdmin(sandbox.root)
    form = _create(writer)
    _batch(writer, form["formId"], [_text_item("Nama", 0)])
    with pytest.raises(Exception, match="not accepting responses"):
        admin.submit(form["formId"], {"Nama": "x"})


def test_submit_edit_delete_and_get(sandbox, reader, published_form):
    admin = EmulatorAdmin(sandbox.root)
    form_id = published_form["formId"]
    qids = {i["title"]: i["questionItem"]["question"]["questionId"] for i in published_form["items"]}
    for bad, message in [({"Nama": "x"}, "required"), ({"Nama": "x", "Status": "Draft"}, "not an option"),
                         ({"Nama": "x", "Status": "Final", "Tanggal": "3/12/2026"}, "YYYY-MM-DD"),
                         ({"Nama": "x", "Status": "Final", "Umur": "3"}, "not a question")]:
        with pytest.raises(Exception, match=message):
            admin.submit(form_id, bad)
    sent = admin.submit(form_id, {"nama ": "Dinas", "Status": "Final", "Dana": ["APBN", "APBD, provinsi"],
                                  "Tanggal": "2026-12-03"})
    got = reader.call(reader.forms.forms().responses().get(formId=form_id, responseId=sent["responseId"]),
                      "forms.responses.get")
    assert got["formId"] == form_id
    assert got["answers"][qids["Dana"]]["textAnswers"]["answers"] == [{"value": "APBN"}, {"value": "APBD, provinsi"}]
    assert got["lastSubmittedTime"].endswith("Z") and len(got["lastSubmittedTime"]) == len("2026-12-03T09:15:02.123456Z")
    edited = admin.edit_response(form_id, sent["responseId"], {"Nama": "Dinas 2", "Status": "Sementara"})
    assert edited["lastSubmittedTime"] > sent["lastSubmittedTime"]
    assert edited["createTime"] == sent["createTime"]
    admin.delete_response(form_id, sent["responseId"])
    with pytest.raises(GoogleRefused) as info:
        reader.call(reader.forms.forms().responses().get(formId=form_id, responseId=sent["responseId"]), "get")
    assert info.value.status == 404


def test_list_pages_at_most_5000_and_filters_by_timestamp(sandbox, reader, published_form):
    form_id = published_form["formId"]
    admin = EmulatorAdmin(sandbox.root)
    seeded = [{"answers": {"Nama": f"r{i}", "Status": "Final"},
               "submittedAt": f"2026-12-03T09:{i // 3600 % 60:02d}:{i // 60 % 60:02d}.{i % 60:06d}Z"}
              for i in range(6000)]
    ids = admin.submit_many(form_id, seeded)
    assert len(set(ids)) == 6000
    responses = reader.forms.forms().responses()
    first = reader.call(responses.list(formId=form_id, pageSize=10000), "forms.responses.list")
    assert len(first["responses"]) == 5000 and "formId" not in first["responses"][0]
    second = reader.call(responses.list(formId=form_id, pageSize=10000, pageToken=first["nextPageToken"]), "list")
    assert len(second["responses"]) == 1000 and "nextPageToken" not in second
    assert len({r["responseId"] for r in first["responses"] + second["responses"]}) == 6000
    with pytest.raises(GoogleRefused, match="filter must be the same"):
        reader.call(responses.list(formId=form_id, pageToken=first["nextPageToken"],
                                   filter="timestamp > 2026-01-01T00:00:00Z"), "list")
    cut = seeded[5990]["submittedAt"]  # 2026-12-03T09:00:01.000050Z-like, microsecond precision
    after = reader.call(responses.list(formId=form_id, filter=f"timestamp > {cut}"), "list")["responses"]
    at_or_after = reader.call(responses.list(formId=form_id, filter=f"timestamp >= {cut}"), "list")["responses"]
    assert (len(after), len(at_or_after)) == (9, 10)
    nanos = cut[:-1] + "001Z"  # one nanosecond later: the response at `cut` is no longer included
    assert len(reader.call(responses.list(formId=form_id, filter=f"timestamp >= {nanos}"), "l")["responses"]) == 9
    with pytest.raises(GoogleRefused, match="Invalid filter"):
        reader.call(responses.list(formId=form_id, filter="timestamp > yesterday"), "list")


# --- sheets ------------------------------------------------------------------------------------

@pytest.fixture
def spreadsheet(sandbox):
    return EmulatorAdmin(sandbox.root).create_spreadsheet(title="Rekap (Responses)", locale="id_ID", sheets=[{
        "title": "Form Responses 1", "rows": [
            ["Stempel waktu", "Jumlah SD", "Catatan", "Final"],
            [{"datetime": "2026-12-03T09:15:02"}, 1234.5, "", True],
            [],
            [{"date": "2026-12-04"}, 7, "0012", False, None, ""]]}])


def test_spreadsheet_metadata_has_locale_and_time_zone(reader, spreadsheet):
    got = reader.call(reader.sheets.spreadsheets().get(spreadsheetId=spreadsheet), "spreadsheets.get")
    assert got["properties"]["locale"] == "id_ID" and got["properties"]["timeZone"] == "Asia/Jakarta"
    assert [s["properties"]["title"] for s in got["sheets"]] == ["Form Responses 1"]


def test_values_render_like_google_and_trim_trailing_empties(sandbox, reader, spreadsheet):
    values = reader.sheets.spreadsheets().values()
    formatted = reader.call(values.get(spreadsheetId=spreadsheet, range="'Form Responses 1'"), "values.get")
    assert formatted["range"] == "'Form Responses 1'!A1:Z1000"
    assert formatted["values"] == [["Stempel waktu", "Jumlah SD", "Catatan", "Final"],
                                   ["03/12/2026 09:15:02", "1234,5", "", "TRUE"],
                                   [],
                                   ["04/12/2026", "7", "0012", "FALSE"]]
    raw = reader.call(values.get(spreadsheetId=spreadsheet, range="'Form Responses 1'!A2:D4",
                                 valueRenderOption="UNFORMATTED_VALUE"), "values.get")["values"]
    assert raw[0][1:] == [1234.5, "", True] and raw[2][:2] == [46360, 7]
    assert raw[0][0] == pytest.approx(46359 + (9 * 3600 + 15 * 60 + 2) / 86400)
    strings = reader.call(values.batchGet(spreadsheetId=spreadsheet, ranges=["A2:A2", "B2:D2"],
                                          valueRenderOption="UNFORMATTED_VALUE",
                                          dateTimeRenderOption="FORMATTED_STRING"), "values.batchGet")
    assert [r["values"] for r in strings["valueRanges"]] == [[["03/12/2026 09:15:02"]], [[1234.5, "", True]]]
    empty = reader.call(values.get(spreadsheetId=spreadsheet, range="F1:G9"), "values.get")
    assert "values" not in empty
    with pytest.raises(GoogleRefused, match="Unable to parse range"):
        reader.call(values.get(spreadsheetId=spreadsheet, range="Nope!A1"), "values.get")
    status, body = _raw(sandbox, "GET", f"/v4/spreadsheets/{spreadsheet}/values/A1?valueRenderOption=PRETTY",
                        token=_token(sandbox, SCOPES_SYNC))
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


def test_gspread_client_goes_to_the_api_root(reader, spreadsheet):
    sheet = reader.gspread().open_by_key(spreadsheet).worksheet("Form Responses 1")
    assert sheet.get_all_values()[1] == ["03/12/2026 09:15:02", "1234,5", "", "TRUE"]


# --- faults, counts, persistence ---------------------------------------------------------------

def test_faults_are_injected_for_the_next_calls_and_every_call_is_counted(sandbox, writer):
    emulator = sandbox.emulator
    emulator.inject(503, count=2, method="forms.create")
    _create(writer)
    assert emulator.calls()["forms.create"] == 3
    for status in (429, 500, 503):
        EmulatorAdmin(sandbox.root).inject(status, count=FAST.attempts)
        with pytest.raises(GoogleUnavailable, match=f"forms.create failed after 4 attempt.*HTTP {status}"):
            _create(writer)
    assert EmulatorAdmin(sandbox.root).calls()["forms.create"] == 3 + 3 * FAST.attempts


def test_a_slow_answer_times_out_and_is_retried(sandbox):
    session = GoogleSession(SCOPES_GENERATE, policy=RetryPolicy(attempts=3, initial_delay=0.01, timeout=0.3))
    sandbox.emulator.inject(None, count=1, method="forms.create", delay=1.0)
    assert _create(session)["formId"]
    assert sandbox.emulator.calls()["forms.create"] == 2


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "state.json"
    first = Emulator(state)
    with first.lock:
        form = first.forms.create({"info": {"title": "Tetap"}}, {}, "http://x")
        first._save()
    assert Emulator(state).forms.get(form["formId"])["info"]["title"] == "Tetap"


def test_sandbox_serve_runs_in_the_foreground_and_keeps_state_across_restarts(tmp_path):
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = tmp_path / "sandbox.json"
    command = [sys.executable, "-c", "from forms_sync.google.commands import sandbox_command; sandbox_command()",
               "serve", "--port", str(port), "--state", str(state)]

    def start():
        # Ctrl-C reaches a server started from a terminal; a test run started in the background
        # (`pytest &` in a script) ignores SIGINT, and its children would inherit that.
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        assert "listening on" in process.stdout.readline()
        return process

    def stop(process):
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0

    server = start()
    try:
        admin = EmulatorAdmin(f"http://127.0.0.1:{port}")
        spreadsheet = admin.create_spreadsheet(sheets=[{"title": "Data", "rows": [["a", 1]]}])
    finally:
        stop(server)
    server = start()
    try:
        admin.fill_spreadsheet(spreadsheet, [["b", 2]])  # the spreadsheet is still there
        assert json.loads(state.read_text())["spreadsheets"][spreadsheet]["sheets"][0]["rows"][1][0]["value"] == "b"
    finally:
        stop(server)

"""Google Forms API v1 semantics: forms, items, revisions, publish settings and responses.

Request bodies arrive already checked against the discovery document (see discovery.py); this
module adds what the document cannot say: oneof kinds, required parts, valid indexes, revision
checks, and that create takes a title only. A batchUpdate is applied to a copy and kept only if
every request in it succeeds, as Google's is atomic.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import secrets

from forms_sync.google.emulator import timestamps
from forms_sync.google.emulator.discovery import camel, load_api, snake
from forms_sync.google.emulator.errors import failed_precondition, invalid_argument, not_found

ITEM_KINDS = ("questionItem", "questionGroupItem", "pageBreakItem", "textItem", "imageItem", "videoItem")
QUESTION_KINDS = ("choiceQuestion", "textQuestion", "scaleQuestion", "dateQuestion", "timeQuestion",
                  "fileUploadQuestion", "rowQuestion", "ratingQuestion")
REQUEST_KINDS = ("createItem", "updateItem", "deleteItem", "moveItem", "updateFormInfo", "updateSettings")
MAX_PAGE_SIZE = 5000
_FILTER = re.compile(r"\s*timestamp\s*(>=|>)\s*(\S+)\s*")


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


class FormsBackend:
    """All forms and their responses, in one JSON-serialisable dict (for --state persistence)."""

    def __init__(self, state: dict, clock: timestamps.Clock):
        self.state = state
        state.setdefault("forms", {})
        state.setdefault("responses", {})
        self.clock = clock

    # --- forms -------------------------------------------------------------------------------

    def _form(self, form_id: str) -> dict:
        form = self.state["forms"].get(form_id)
        if form is None:
            raise not_found()
        return form

    def create(self, body: dict, query: dict, base_url: str) -> dict:
        info = body.get("info", {})
        extra = [k for k in body if k != "info"] + [f"info.{k}" for k in info if k not in ("title", "documentTitle")]
        if extra:
            raise invalid_argument(
                "Only info.title and info.document_title may be set when creating a form; "
                f"found {', '.join(sorted(extra))}. Add items with forms.batchUpdate.")
        form_id = "1" + secrets.token_urlsafe(32)[:43]
        title = info.get("title", "") or "Untitled form"
        # Since 2026 forms created through the API are unpublished unless asked otherwise.
        published = query.get("unpublished") is False
        form = {
            "formId": form_id,
            "info": {"title": title, "documentTitle": info.get("documentTitle") or title},
            "settings": {"emailCollectionType": "DO_NOT_COLLECT"},
            "revisionId": _revision(1),
            "responderUri": f"{base_url}/forms/d/e/{secrets.token_urlsafe(40)[:56]}/viewform",
            "publishSettings": {"publishState": {"isPublished": published, "isAcceptingResponses": published}},
        }
        self.state["forms"][form_id] = form
        self.state["responses"][form_id] = {}
        return copy.deepcopy(form)

    def get(self, form_id: str) -> dict:
        return copy.deepcopy(self._form(form_id))

    def batch_update(self, form_id: str, body: dict) -> dict:
        form = self._form(form_id)
        control = body.get("writeControl", {})
        current = form["revisionId"]
        if control.get("requiredRevisionId") and control.get("targetRevisionId"):
            raise invalid_argument("Only one of write_control.required_revision_id and target_revision_id "
                                   "may be set.")
        required = control.get("requiredRevisionId")
        if required and required != current:
            raise failed_precondition(f"The required revision ID '{required}' does not match the latest "
                                      f"revision of the form '{current}'; read the form again.")
        target = control.get("targetRevisionId")
        if target and not (target.isdigit() and 0 < int(target) <= int(current)):
            raise invalid_argument(f"The target revision ID '{target}' is not a valid revision of this form.")
        requests = body.get("requests")
        if not requests:
            raise invalid_argument("requests: at least one request is required.")
        draft = copy.deepcopy(form)
        replies = [self._apply(draft, request, f"requests[{i}]") for i, request in enumerate(requests)]
        draft["revisionId"] = _revision(int(current) + 1)
        if not draft.get("items"):
            draft.pop("items", None)
        self.state["forms"][form_id] = draft
        answer = {"replies": replies, "writeControl": {"requiredRevisionId": draft["revisionId"]}}
        if body.get("includeFormInResponse"):
            answer["form"] = copy.deepcopy(draft)
        return answer

    def set_publish_settings(self, form_id: str, body: dict) -> dict:
        form = self._form(form_id)
        if "publishSettings" not in body:
            raise invalid_argument("publish_settings: required.")
        mask = body.get("updateMask", "*") or "*"
        if {camel(p.strip()) for p in mask.split(",")} - {"*", "publishState"}:
            raise invalid_argument(f"Invalid update_mask '{mask}': use publish_state or *.")
        state = body["publishSettings"].get("publishState", {})
        published = bool(state.get("isPublished"))
        accepting = bool(state.get("isAcceptingResponses"))
        if accepting and not published:
            raise invalid_argument("A form that is not published cannot accept responses: set "
                                   "publish_state.is_published to true as well.")
        form["publishSettings"] = {"publishState": {"isPublished": published, "isAcceptingResponses": accepting}}
        return {"formId": form_id, "publishSettings": copy.deepcopy(form["publishSettings"])}

    # --- batchUpdate requests -----------------------------------------------------------------

    def _apply(self, form: dict, request: dict, where: str) -> dict:
        kinds = [k for k in REQUEST_KINDS if k in request]
        if len(kinds) != 1:
            raise invalid_argument(f"{where}: exactly one request kind must be set, found {len(kinds)}.")
        kind = kinds[0]
        body = request[kind]
        where = f"{where}.{snake(kind)}"
        items = form.setdefault("items", [])
        if kind == "createItem":
            item = copy.deepcopy(body.get("item") or _missing(f"{where}.item"))
            index = _index(body, "location", where, len(items) + 1)
            self._check_ids_free(form, item, where)
            _check_item(item, f"{where}.item")
            _assign_ids(form, item)
            items.insert(index, item)
            question_ids = [q["questionId"] for q in _questions(item)]
            reply = {"itemId": item["itemId"]}
            if question_ids:
                reply["questionId"] = question_ids
            return {"createItem": reply}
        if kind == "updateItem":
            index = _index(body, "location", where, len(items))
            mask = body.get("updateMask") or _missing(f"{where}.update_mask")
            item = copy.deepcopy(items[index])
            _apply_mask(item, body.get("item") or _missing(f"{where}.item"), mask, "Item", where)
            _check_item(item, f"{where}.item")
            _assign_ids(form, item)
            items[index] = item
            return {}
        if kind == "deleteItem":
            del items[_index(body, "location", where, len(items))]
            return {}
        if kind == "moveItem":
            origin = _index(body, "originalLocation", where, len(items))
            target = _index(body, "newLocation", where, len(items))
            items.insert(target, items.pop(origin))
            return {}
        if kind == "updateFormInfo":
            mask = body.get("updateMask") or _missing(f"{where}.update_mask")
            if "documentTitle" in {camel(p.strip()) for p in mask.split(",")}:
                raise invalid_argument(f"{where}: info.document_title is read-only after the form is created.")
            _apply_mask(form["info"], body.get("info") or {}, mask, "Info", where, star=("title", "description"))
            return {}
        mask = body.get("updateMask") or _missing(f"{where}.update_mask")
        _apply_mask(form.setdefault("settings", {}), body.get("settings") or {}, mask, "FormSettings", where)
        return {}

    @staticmethod
    def _check_ids_free(form: dict, item: dict, where: str) -> None:
        used_items = {i.get("itemId") for i in form.get("items", [])}
        used_questions = {q.get("questionId") for i in form.get("items", []) for q in _questions(i)}
        if item.get("itemId") and item["itemId"] in used_items:
            raise invalid_argument(f"{where}.item.item_id: '{item['itemId']}' is already used in this form.")
        for q in _questions(item):
            if q.get("questionId") and q["questionId"] in used_questions:
                raise invalid_argument(f"{where}: question id '{q['questionId']}' is already used in this form.")

    # --- responses ----------------------------------------------------------------------------

    def list_responses(self, form_id: str, query: dict) -> dict:
        self._form(form_id)
        size = query.get("pageSize", 0) or MAX_PAGE_SIZE
        if size < 0:
            raise invalid_argument("page_size must not be negative.")
        size = min(size, MAX_PAGE_SIZE)
        flt = query.get("filter", "")
        after_ns, inclusive = _parse_filter(flt)
        cursor = _read_token(query.get("pageToken"), flt) if query.get("pageToken") else None
        selected = []
        for response in self.state["responses"][form_id].values():
            key = (response["_ts"], response["responseId"])
            if after_ns is not None and (key[0] < after_ns or (key[0] == after_ns and not inclusive)):
                continue
            if cursor is not None and key <= cursor:
                continue
            selected.append((key, response))
        selected.sort(key=lambda pair: pair[0])
        page = selected[:size]
        answer: dict = {}
        if page:
            answer["responses"] = [_public(r, with_form_id=False) for _, r in page]
        if len(selected) > size:
            answer["nextPageToken"] = _make_token(page[-1][0], flt)
        return answer

    def get_response(self, form_id: str, response_id: str) -> dict:
        self._form(form_id)
        response = self.state["responses"][form_id].get(response_id)
        if response is None:
            raise not_found()
        return _public(response, with_form_id=True)

    def submit(self, form_id: str, answers: dict, *, submitted_at: str | None = None,
               created_at: str | None = None, strict: bool = True) -> dict:
        """Record a response as a respondent would (admin endpoint); checks what Google's UI enforces."""
        form = self._form(form_id)
        accepting = form.get("publishSettings", {}).get("publishState", {}).get("isAcceptingResponses")
        if strict and not accepting:
            raise failed_precondition("This form is not accepting responses: publish it first "
                                      "(forms-sync generate --publish).")
        now = self.clock.now()
        submitted = _admin_time(submitted_at, now)
        created = _admin_time(created_at, submitted)
        response_id = "ACYDBN" + secrets.token_urlsafe(36)[:48]
        response = {"formId": form_id, "responseId": response_id, "createTime": timestamps.format_ns(created),
                    "lastSubmittedTime": timestamps.format_ns(submitted), "_ts": submitted,
                    "answers": self._answers(form, answers, strict)}
        self.state["responses"][form_id][response_id] = response
        return _public(response, with_form_id=True)

    def edit_response(self, form_id: str, response_id: str, answers: dict, *,
                      submitted_at: str | None = None, strict: bool = True) -> dict:
        """A respondent editing their response: answers replaced, lastSubmittedTime moves on."""
        form = self._form(form_id)
        response = self.state["responses"][form_id].get(response_id)
        if response is None:
            raise not_found()
        submitted = _admin_time(submitted_at, self.clock.now())
        response.update(answers=self._answers(form, answers, strict), _ts=submitted,
                        lastSubmittedTime=timestamps.format_ns(submitted))
        return _public(response, with_form_id=True)

    def delete_response(self, form_id: str, response_id: str) -> None:
        self._form(form_id)
        if self.state["responses"][form_id].pop(response_id, None) is None:
            raise not_found()

    def _answers(self, form: dict, answers: dict, strict: bool) -> dict:
        if not isinstance(answers, dict):
            raise invalid_argument("answers: must be an object of question id or title -> value(s).")
        by_id: dict[str, tuple[dict, str]] = {}
        by_title: dict[str, list[str]] = {}
        for item in form.get("items", []):
            for q in _questions(item):
                by_id[q["questionId"]] = (q, item.get("title", ""))
                by_title.setdefault(_fold(item.get("title", "")), []).append(q["questionId"])
        out: dict = {}
        for key, value in answers.items():
            qid = key if key in by_id else None
            if qid is None:
                candidates = by_title.get(_fold(key), [])
                if len(candidates) != 1:
                    if strict or candidates:
                        raise invalid_argument(f"answers: {key!r} is not a question id or a unique question "
                                               "title of this form.")
                    qid = key  # not strict: an answer to a question that no longer exists
                else:
                    qid = candidates[0]
            values = [str(v) for v in (value if isinstance(value, list) else [value]) if str(v).strip() != ""]
            if not values:
                continue
            if strict:
                _check_answer(by_id[qid][0], by_id[qid][1], values)
            out[qid] = {"questionId": qid, "textAnswers": {"answers": [{"value": v} for v in values]}}
        if strict:
            for qid, (q, title) in by_id.items():
                if q.get("required") and qid not in out:
                    raise invalid_argument(f"answers: the question {title!r} is required.")
        return out


def _check_answer(question: dict, title: str, values: list[str]) -> None:
    choice = question.get("choiceQuestion")
    if choice:
        options = [o.get("value") for o in choice.get("options", [])]
        other = any(o.get("isOther") for o in choice.get("options", []))
        if choice.get("type") != "CHECKBOX" and len(values) != 1:
            raise invalid_argument(f"answers: {title!r} takes exactly one option.")
        for v in values:
            if v not in options and not other:
                raise invalid_argument(f"answers: {v!r} is not an option of {title!r}.")
        return
    if len(values) != 1:
        raise invalid_argument(f"answers: {title!r} takes one value.")
    if "dateQuestion" in question:
        pattern = r"\d{4}-\d\d-\d\d" if question["dateQuestion"].get("includeYear") else r"\d\d-\d\d"
        if not re.fullmatch(pattern, values[0]):
            raise invalid_argument(f"answers: {title!r} needs a date written YYYY-MM-DD, got {values[0]!r}.")


def _questions(item: dict) -> list[dict]:
    if "questionItem" in item:
        return [item["questionItem"].setdefault("question", {})]
    if "questionGroupItem" in item:
        return item["questionGroupItem"].get("questions", [])
    return []


def _check_item(item: dict, where: str) -> None:
    kinds = [k for k in ITEM_KINDS if k in item]
    if len(kinds) != 1:
        raise invalid_argument(f"{where}: an item must have exactly one kind "
                               f"({', '.join(snake(k) for k in ITEM_KINDS)}), found {len(kinds)}.")
    if kinds[0] == "questionItem":
        question = item["questionItem"].get("question") or _missing(f"{where}.question_item.question")
        _check_question(question, f"{where}.question_item.question", allow_row=False)
    elif kinds[0] == "questionGroupItem":
        group = item["questionGroupItem"]
        if not group.get("questions"):
            raise invalid_argument(f"{where}.question_group_item.questions: at least one question is required.")
        for i, q in enumerate(group["questions"]):
            _check_question(q, f"{where}.question_group_item.questions[{i}]", allow_row=True)


def _check_question(question: dict, where: str, *, allow_row: bool) -> None:
    kinds = [k for k in QUESTION_KINDS if k in question]
    if len(kinds) != 1:
        raise invalid_argument(f"{where}: a question must have exactly one kind, found {len(kinds)}.")
    kind = kinds[0]
    if kind == "fileUploadQuestion":
        raise invalid_argument(f"{where}.file_upload_question: file upload questions cannot be created "
                               "through the API.")
    if kind == "rowQuestion" and not allow_row:
        raise invalid_argument(f"{where}.row_question: only allowed inside a question group.")
    if kind == "choiceQuestion":
        choice = question["choiceQuestion"]
        if choice.get("type", "CHOICE_TYPE_UNSPECIFIED") == "CHOICE_TYPE_UNSPECIFIED":
            raise invalid_argument(f"{where}.choice_question.type: required (RADIO, CHECKBOX or DROP_DOWN).")
        options = choice.get("options") or _missing(f"{where}.choice_question.options")
        seen = set()
        for i, option in enumerate(options):
            if option.get("isOther"):
                if choice["type"] == "DROP_DOWN":
                    raise invalid_argument(f"{where}.choice_question.options[{i}]: a drop-down cannot have "
                                           "an 'other' option.")
                continue
            value = option.get("value", "")
            if not value.strip():
                raise invalid_argument(f"{where}.choice_question.options[{i}].value: must not be empty.")
            if value in seen:
                raise invalid_argument(f"{where}.choice_question.options[{i}].value: duplicate option "
                                       f"'{value}'.")
            seen.add(value)
    if kind == "scaleQuestion":
        scale = question["scaleQuestion"]
        if not (scale.get("low") in (0, 1) and 2 <= scale.get("high", 0) <= 10):
            raise invalid_argument(f"{where}.scale_question: low must be 0 or 1 and high 2 to 10.")


def _assign_ids(form: dict, item: dict) -> None:
    """Blank item and question ids get fresh ones (8 hex digits, like Google's)."""
    used = {i.get("itemId") for i in form.get("items", [])}
    used |= {q.get("questionId") for i in form.get("items", []) for q in _questions(i)}

    def fresh() -> str:
        while True:
            candidate = secrets.token_hex(4)
            if candidate not in used:
                used.add(candidate)
                return candidate

    if not item.get("itemId"):
        item["itemId"] = fresh()
    for q in _questions(item):
        if not q.get("questionId"):
            q["questionId"] = fresh()


def _apply_mask(target: dict, source: dict, mask: str, schema: str, where: str, star=None) -> None:
    """Copy the masked paths from source into target; a path absent from source is cleared."""
    schemas = load_api("forms", "v1").schemas
    for raw in (p.strip() for p in mask.split(",")):
        if raw == "*":
            keys = star or list(schemas[schema]["properties"])
            for key in keys:
                if key in source:
                    target[key] = copy.deepcopy(source[key])
                else:
                    target.pop(key, None)
            continue
        parts = [camel(p) for p in raw.split(".")]
        spec = schemas[schema]
        for part in parts:
            prop = spec.get("properties", {}).get(part)
            if prop is None:
                raise invalid_argument(f"{where}.update_mask: invalid field mask path '{raw}'.")
            spec = schemas[prop["$ref"]] if "$ref" in prop else prop
        src, dst = source, target
        for part in parts[:-1]:
            src = src.get(part, {}) if isinstance(src, dict) else {}
            dst = dst.setdefault(part, {})
        if isinstance(src, dict) and parts[-1] in src:
            dst[parts[-1]] = copy.deepcopy(src[parts[-1]])
        else:
            dst.pop(parts[-1], None)


def _index(body: dict, key: str, where: str, size: int) -> int:
    location = body.get(key) or _missing(f"{where}.{snake(key)}")
    if "index" not in location:
        _missing(f"{where}.{snake(key)}.index")
    index = location["index"]
    if not 0 <= index < size:
        raise invalid_argument(f"{where}.{snake(key)}.index: {index} is out of range (0 to {size - 1}).")
    return index


def _missing(path: str):
    raise invalid_argument(f"{path}: required.")


def _revision(n: int) -> str:
    return f"{n:08d}"


def _public(response: dict, *, with_form_id: bool) -> dict:
    out = {k: copy.deepcopy(v) for k, v in response.items() if not k.startswith("_")}
    if not out.get("answers"):
        out.pop("answers", None)
    if not with_form_id:  # Google leaves formId out of the responses of a list
        out.pop("formId", None)
    return out


def _admin_time(text: str | None, default: int) -> int:
    if text is None:
        return default
    ns = timestamps.parse(text)
    if ns is None:
        raise invalid_argument(f"timestamp {text!r} must be RFC 3339 UTC, e.g. 2026-12-03T09:15:02.123456Z.")
    return ns


def _parse_filter(flt: str) -> tuple[int | None, bool]:
    if not flt:
        return None, False
    m = _FILTER.fullmatch(flt)
    ns = timestamps.parse(m.group(2)) if m else None
    if ns is None:
        raise invalid_argument(f"Invalid filter '{flt}': use 'timestamp > N' or 'timestamp >= N' with N in "
                               "RFC 3339 UTC, e.g. 2014-10-02T15:01:23.045123456Z.")
    return ns, m.group(1) == ">="


def _make_token(key: tuple[int, str], flt: str) -> str:
    blob = json.dumps({"after": list(key), "filter": flt}).encode()
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


def _read_token(token: str, flt: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key = (int(data["after"][0]), str(data["after"][1]))
        same_filter = data["filter"] == flt
    except (ValueError, KeyError, TypeError, IndexError):
        raise invalid_argument("Invalid page_token.") from None
    if not same_filter:
        raise invalid_argument("page_token: the filter must be the same as in the request that returned it.")
    return key

"""Definition -> the form it should be (Forms API items), and the smallest change to get there.

A form is compared in a canonical shape (what forms-sync manages: titles, help texts, required,
question kinds and options), so the same code plans a new form (diff against an empty one), an
update, and recognises a form that already matches. Items are tracked by key ("region",
"period", a field name, "section:<title>"), mapped to Google's itemIds through the registry.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from forms_sync.definition.model import Field, FormDefinition
from forms_sync.google import texts

#: A choice with at most this many options is shown as radio buttons, more as a drop-down.
RADIO_MAX_OPTIONS = 6
#: A text field allowing more than this many characters gets a paragraph box.
PARAGRAPH_MIN_LENGTH = 100
#: Default rolling window of the period drop-down: this many periods back, this many forward.
DEFAULT_PERIOD_WINDOW = (12, 1)

_MASKS = {  # canonical key -> the UpdateItemRequest mask path that changes it
    "title": "title", "description": "description", "required": "questionItem.question.required",
    "choiceType": "questionItem.question.choiceQuestion", "options": "questionItem.question.choiceQuestion",
    "paragraph": "questionItem.question.textQuestion", "includeYear": "questionItem.question.dateQuestion",
    "includeTime": "questionItem.question.dateQuestion",
}


@dataclass(frozen=True)
class DesiredItem:
    key: str
    item: dict  # a Forms API Item without itemId/questionId


@dataclass(frozen=True)
class DesiredForm:
    title: str
    document_title: str
    description: str
    items: tuple[DesiredItem, ...]

    @property
    def state_hash(self) -> str:
        return state_hash(self.title, self.description, [d.item for d in self.items])


def desired_form(definition: FormDefinition, *, today: dt.date,
                 period_window: tuple[int, int] = DEFAULT_PERIOD_WINDOW) -> DesiredForm:
    """The form a definition asks for on `today` (the period drop-down is a rolling window)."""
    from forms_sync.reference import periods, regions

    locale = definition.locale
    items = [DesiredItem("region", _region_item(definition, regions.load()))]
    back, forward = period_window
    window = periods.periods_window(definition.period, today, back, forward)
    labels = [periods.period_label(p, locale) for p in window]
    items.append(DesiredItem("period", _question(definition.period_label, texts.PERIOD_HELP, True,
                                                 _choice("DROP_DOWN", labels))))
    current_section: str | None = None
    seen_sections: dict[str, int] = {}
    for f in definition.fields:
        if f.section != current_section:
            title = f.section or ""
            seen_sections[title] = seen_sections.get(title, 0) + 1
            n = seen_sections[title]
            items.append(DesiredItem(f"section:{title}" + (f"#{n}" if n > 1 else ""),
                                     {"title": title, "pageBreakItem": {}}))
            current_section = f.section
        items.append(DesiredItem(f.name, field_item(f, locale)))
    return DesiredForm(title=definition.title, document_title=f"{definition.title} [{definition.id}]",
                       description=texts.form_description(definition), items=tuple(items))


def _region_item(definition: FormDefinition, reference) -> dict:
    label = definition.region_label
    if definition.respondent == "village":
        example = reference.dropdown_label(texts.VILLAGE_EXAMPLE_CODE)
        return _question(label, texts.region_help(definition, example), True, {"textQuestion": {}})
    return _question(label, texts.region_help(definition), True,
                     _choice("DROP_DOWN", reference.dropdown_options(definition.respondent)))


def field_item(f: Field, locale: str) -> dict:
    """The question for one field, by type; the help text says the format the sync accepts."""
    if f.type in ("integer", "number"):
        question = {"textQuestion": {}}
    elif f.type == "text":
        paragraph = f.paragraph if f.paragraph is not None else (f.max_length or 0) > PARAGRAPH_MIN_LENGTH
        question = {"textQuestion": {"paragraph": True} if paragraph else {}}
    elif f.type == "choice":
        question = _choice("RADIO" if len(f.choices) <= RADIO_MAX_OPTIONS else "DROP_DOWN", f.choices)
    elif f.type == "multi_choice":
        question = _choice("CHECKBOX", f.choices)
    elif f.type == "boolean":
        question = _choice("RADIO", texts.BOOLEAN_OPTIONS[locale])
    elif f.type == "date":
        question = {"dateQuestion": {"includeYear": True}}
    else:  # pragma: no cover - the definition model allows no other type
        raise ValueError(f"unknown field type {f.type}")
    return _question(f.label, texts.field_help(f, locale), f.required, question)


def _question(title: str, description: str, required: bool, question: dict) -> dict:
    item = {"title": title, "questionItem": {"question": {"required": required, **question}}}
    if description:
        item["description"] = description
    return item


def _choice(kind: str, options) -> dict:
    return {"choiceQuestion": {"type": kind, "options": [{"value": str(o)} for o in options]}}


# --- canonical shape ------------------------------------------------------------------------------

def canonical(item: dict) -> dict:
    """What forms-sync manages of an item, with Google's omitted defaults filled in."""
    out = {"title": item.get("title", ""), "description": item.get("description", "")}
    if "pageBreakItem" in item:
        return {**out, "kind": "section"}
    question = item.get("questionItem", {}).get("question")
    if question is None:  # an item kind forms-sync never creates: compare it whole
        rest = {k: v for k, v in item.items() if k not in ("itemId", "title", "description")}
        return {**out, "kind": "other", "other": json.dumps(rest, sort_keys=True)}
    out["required"] = bool(question.get("required"))
    if "choiceQuestion" in question:
        choice = question["choiceQuestion"]
        return {**out, "kind": "choice", "choiceType": choice.get("type"),
                "options": [o.get("value", "") for o in choice.get("options", [])]}
    if "textQuestion" in question:
        return {**out, "kind": "text", "paragraph": bool(question["textQuestion"].get("paragraph"))}
    if "dateQuestion" in question:
        date = question["dateQuestion"]
        return {**out, "kind": "date", "includeYear": bool(date.get("includeYear")),
                "includeTime": bool(date.get("includeTime"))}
    rest = {k: v for k, v in question.items() if k not in ("questionId", "required")}
    return {**out, "kind": "other", "other": json.dumps(rest, sort_keys=True)}


def state_hash(title: str, description: str, items: list[dict]) -> str:
    """Hash of a form's managed content, equal for a form as sent and as Google returns it."""
    blob = json.dumps([title, description, [canonical(i) for i in items]], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def form_state_hash(form: dict) -> str:
    info = form.get("info", {})
    return state_hash(info.get("title", ""), info.get("description", ""), form.get("items", []))


# --- planning -------------------------------------------------------------------------------------

@dataclass
class Plan:
    """One batchUpdate's requests, the same as readable lines, and where every item ends up."""

    requests: list[dict] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # keys, in the order of their createItem replies
    kept: dict[str, dict] = field(default_factory=dict)  # key -> the existing item it keeps
    replaced: list[str] = field(default_factory=list)  # keys whose question was deleted and created anew

    @property
    def empty(self) -> bool:
        return not self.requests


def plan_changes(form: dict, desired: DesiredForm, known: dict[str, str]) -> Plan:
    """The requests that turn `form` (as forms.get returns it) into `desired`.

    `known` maps item keys to the itemIds forms-sync created before (the registry). Order of the
    requests: form info, deletes (highest index first), moves, creates, updates; each index is
    valid at the point its request is applied, as batchUpdate applies them in order.
    """
    plan = Plan()
    items = list(form.get("items", []))
    by_id = {it.get("itemId"): i for i, it in enumerate(items)}
    wanted = {d.key: d for d in desired.items}
    matched = _match(items, by_id, desired, known)
    for key, index in list(matched.items()):
        if canonical(items[index])["kind"] != canonical(wanted[key].item)["kind"]:
            del matched[key]
            plan.replaced.append(key)
    _plan_info(plan, form.get("info", {}), desired)

    keep_index = set(matched.values())
    for index in range(len(items) - 1, -1, -1):
        if index not in keep_index:
            plan.requests.append({"deleteItem": {"location": {"index": index}}})
            plan.lines.append(_delete_line(items[index], index, known, plan.replaced))
    current = [key for index, key in sorted((i, k) for k, i in matched.items())]

    order = [d.key for d in desired.items if d.key in matched]
    stable = _longest_increasing([current.index(k) for k in order])
    stable_keys = {order[i] for i in stable}
    for pos, key in enumerate(order):
        if key in stable_keys:
            continue
        origin = current.index(key)
        current.pop(origin)
        target = current.index(order[pos - 1]) + 1 if pos > 0 else 0
        current.insert(target, key)
        plan.requests.append({"moveItem": {"originalLocation": {"index": origin}, "newLocation": {"index": target}}})
        plan.lines.append(f"> move    {_name(wanted[key].item)} from #{origin + 1} to #{target + 1}")

    for index, d in enumerate(desired.items):
        if d.key in matched:
            continue
        current.insert(index, d.key)
        plan.created.append(d.key)
        plan.requests.append({"createItem": {"item": d.item, "location": {"index": index}}})
        verb = "replace" if d.key in plan.replaced else "create "
        plan.lines.append(f"+ {verb} #{index + 1} {_name(d.item)} ({describe(d.item)})")

    for index, d in enumerate(desired.items):
        if d.key not in matched:
            continue
        old = items[matched[d.key]]
        plan.kept[d.key] = old
        changed = [k for k, v in canonical(d.item).items() if canonical(old).get(k) != v]
        if changed:
            mask = ",".join(dict.fromkeys(_MASKS[k] for k in changed))
            plan.requests.append({"updateItem": {"item": _with_ids(d.item, old), "location": {"index": index},
                                                 "updateMask": mask}})
            plan.lines.append(f"~ update  #{index + 1} {_name(d.item)}: {_change_words(old, d.item, changed)}")
    return plan


def _match(items: list[dict], by_id: dict, desired: DesiredForm, known: dict[str, str]) -> dict[str, int]:
    """Desired key -> index of the existing item it keeps: by registry itemId, else by title and kind."""
    matched: dict[str, int] = {}
    for d in desired.items:
        index = by_id.get(known.get(d.key))
        if index is not None:
            matched[d.key] = index
    taken = set(matched.values())
    for d in desired.items:
        if d.key in matched:
            continue
        want = canonical(d.item)
        for index, item in enumerate(items):
            if index in taken:
                continue
            have = canonical(item)
            if have["title"] == want["title"] and have["kind"] == want["kind"]:
                matched[d.key] = index
                taken.add(index)
                break
    return matched


def _plan_info(plan: Plan, info: dict, desired: DesiredForm) -> None:
    mask = []
    if info.get("title", "") != desired.title:
        mask.append("title")
        plan.lines.append(f"~ form    title: {info.get('title', '')!r} -> {desired.title!r}")
    if info.get("description", "") != desired.description:
        mask.append("description")
        plan.lines.append("~ form    description (instructions) " + ("changed" if info.get("description") else "set"))
    if mask:
        plan.requests.append({"updateFormInfo": {"info": {"title": desired.title, "description": desired.description},
                                                 "updateMask": ",".join(mask)}})


def _with_ids(item: dict, old: dict) -> dict:
    """The desired item carrying the existing ids, so an update never mints a new questionId."""
    new = json.loads(json.dumps(item))
    new["itemId"] = old["itemId"]
    old_question = old.get("questionItem", {}).get("question", {})
    if "questionItem" in new and old_question.get("questionId"):
        new["questionItem"]["question"]["questionId"] = old_question["questionId"]
    return new


def _longest_increasing(values: list[int]) -> list[int]:
    """Indexes into `values` of one longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []  # values[tails[k]] is the smallest tail of an increasing run of length k+1
    previous = [-1] * len(values)
    for i, v in enumerate(values):
        k = bisect.bisect_left([values[t] for t in tails], v)
        if k:
            previous[i] = tails[k - 1]
        if k == len(tails):
            tails.append(i)
        else:
            tails[k] = i
    out, i = [], tails[-1] if tails else -1
    while i != -1:
        out.append(i)
        i = previous[i]
    return out[::-1]


# --- words for the plan -----------------------------------------------------------------------

def _name(item: dict) -> str:
    title = item.get("title", "")
    if "pageBreakItem" in item:
        return f"section {title!r}" if title else "section (untitled)"
    return repr(title)


def describe(item: dict) -> str:
    """A person's word for an item: "short answer, required", "drop-down, 14 options", ..."""
    c = canonical(item)
    kind = c["kind"]
    if kind == "section":
        return "page break"
    if kind == "choice":
        word = {"RADIO": "multiple choice", "CHECKBOX": "checkboxes", "DROP_DOWN": "drop-down"}.get(c["choiceType"],
                                                                                                  "choice")
        word += f", {len(c['options'])} options"
    elif kind == "text":
        word = "paragraph" if c["paragraph"] else "short answer"
    else:
        word = kind
    return word + (", required" if c.get("required") else "")


def _change_words(old: dict, new: dict, changed: list[str]) -> str:
    a, b = canonical(old), canonical(new)
    words = []
    for key in changed:
        if key == "options":
            added = [o for o in b["options"] if o not in a["options"]]
            removed = [o for o in a["options"] if o not in b["options"]]
            words.append("options" + _sample("+", added) + _sample("-", removed)
                         + (" (reordered)" if not added and not removed else ""))
        elif key == "title":
            words.append(f"title {a['title']!r} -> {b['title']!r}")
        elif key == "required":
            words.append("now required" if b["required"] else "now optional")
        elif key == "description":
            words.append("help text")
        elif key == "choiceType":
            words.append(f"{describe(old).split(',')[0]} -> {describe(new).split(',')[0]}")
        else:
            words.append(key)
    return ", ".join(words)


def _sample(sign: str, values: list[str]) -> str:
    if not values:
        return ""
    shown = ", ".join(repr(v) for v in values[:3])
    more = f" and {len(values) - 3} more" if len(values) > 3 else ""
    return f" {sign}{shown}{more}"


def _delete_line(item: dict, index: int, known: dict[str, str], replaced: list[str]) -> str:
    key = next((k for k, iid in known.items() if iid == item.get("itemId")), None)
    if key is None:
        why = "not made by forms-sync"
    elif key in replaced:
        why = "its question type changed, so it is created anew"
    else:
        why = "no longer in the definition"
    return f"- delete  #{index + 1} {_name(item)} ({why}; answers already given are kept in the responses)"

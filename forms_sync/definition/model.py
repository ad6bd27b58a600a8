"""The form definition (FORMAT.md §1): loaded from YAML, checked completely, then immutable.

Everything else (the Google Form, the pandera schema, the SQL tables, the templates) is derived
from a `FormDefinition`, so this is the single source of truth.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from forms_sync.errors import DefinitionError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
FIELD_TYPES = ("integer", "number", "text", "choice", "multi_choice", "date", "boolean")
RESPONDENTS = ("regency", "province", "village")
PERIOD_TYPES = ("monthly", "quarterly", "semester", "yearly")
LOCALES = ("id", "en")
# Bounds on what a definition may ask for: every database stores it, and nothing overflows
MAX_VERSION = 2**31 - 1  # an INTEGER column
MAX_DUE_DAYS = 3660  # ten years after the period ends
MAX_CELL = 50_000  # a longer answer is a pasted document or garbage, never a recap answer
MAX_INTEGER = 2**63  # BIGINT holds less
MAX_NUMBER = 10**35  # DECIMAL(65,30) on MariaDB/MySQL holds 35 digits before the point
# Headers Google Forms gives its own columns in response downloads (English, Indonesian)
GOOGLE_META_HEADERS = {"timestamp", "stempel waktu", "cap waktu", "email address", "alamat email"}
_GOOGLE_HEADER_CLASH = ("is the header Google Forms gives its own timestamp or email column in response "
                        "downloads, so files could never be read; choose another")
RESERVED = {"region", "period"}
# Form ids the database uses itself: its own tables, and `<form>__rejected`, `<form>__long`, `<form>__v1`.
RESERVED_IDS = {"regions", "completeness"}

REGION_LABELS = {"province": "Provinsi", "regency": "Kabupaten/Kota", "village": "Desa/Kelurahan"}
PERIOD_LABEL = "Periode"

_TOP_KEYS = {"id", "version", "title", "description", "respondent", "period", "due_days", "locale",
             "fields", "rules", "sections"}
_FIELD_KEYS = {"name", "label", "help", "type", "required", "min", "max", "pattern", "max_length",
               "choices", "section", "paragraph"}
_RULE_KEYS = {"name", "check", "message", "message_en"}
_KEYS_BY_TYPE = {
    "min": {"integer", "number", "date"},
    "max": {"integer", "number", "date"},
    "pattern": {"text"},
    "max_length": {"text"},
    "paragraph": {"text"},
    "choices": {"choice", "multi_choice"},
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    required: bool = True
    help: str | None = None
    min: Any = None  # int/float, or datetime.date for date fields
    max: Any = None
    pattern: str | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    section: str | None = None
    paragraph: bool | None = None  # text only: force a paragraph question on the form


@dataclass(frozen=True)
class Rule:
    name: str
    check: str
    message: str
    message_en: str | None
    fields: tuple[str, ...]  # the field names the expression reads


@dataclass(frozen=True)
class FormDefinition:
    id: str
    version: int
    title: str
    respondent: str
    period: str
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...] = ()
    description: str | None = None
    due_days: int | None = None
    locale: str = "id"
    path: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def region_label(self) -> str:
        return REGION_LABELS[self.respondent]

    @property
    def period_label(self) -> str:
        return PERIOD_LABEL

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def columns(self) -> list[str]:
        """Columns of the clean table, in order: region, period, then every field."""
        return ["region", "period", *self.field_names]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def content_hash(self) -> str:
        """A stable hash of what the definition says (not how the YAML is laid out)."""
        blob = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key repeated in one mapping (plain PyYAML keeps the last one
    silently) and reports an impossible date (2026-13-40) at its line instead of a ValueError."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable key: PyYAML refuses it itself
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {_show(key)}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a real date (write YYYY-MM-DD)", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_definition(path: str | Path) -> FormDefinition:
    """Read and check one definition file; raise DefinitionError listing every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(str(path), ["file not found; give the path of a form definition (.yaml)"])
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(str(path), [f"cannot be read as UTF-8 text ({exc.__class__.__name__})"])
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise DefinitionError(str(path), [f"not valid YAML{where}: {problem}"])
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # a constructor's own failure
        raise DefinitionError(str(path), [f"not valid YAML: {exc.__class__.__name__}: {exc}"[:300]])
    return parse_definition(data, str(path))


def parse_definition(data: Any, path: str = "<definition>") -> FormDefinition:
    """Check a parsed YAML mapping against FORMAT.md §1 and build the definition."""
    from forms_sync.definition.rules import RuleSyntaxError, parse_rule

    problems: list[str] = []
    if not isinstance(data, dict):
        raise DefinitionError(path, ["the file must be a YAML mapping with id, version, title, fields, ..."])

    def need(key: str, kind: type | tuple, where: dict, prefix: str, required: bool = True):
        value = where.get(key)
        if value is None:
            if required:
                problems.append(f"{prefix}{key}: required")
            return None
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            problems.append(f"{prefix}{key}: must be {_kind_word(names)}, got {_show(value)}")
            return None
        return value

    for key in sorted(set(data) - _TOP_KEYS, key=str):
        problems.append(f"{key}: unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")

    form_id = need("id", str, data, "")
    if form_id is not None and not NAME_RE.match(form_id):
        problems.append(f"id: {form_id!r} must match ^[a-z][a-z0-9_]{{0,47}}$ (lower-case letters, digits, _)")
    elif form_id is not None and (form_id in RESERVED_IDS or "__" in form_id or form_id.startswith("ix_")):
        problems.append(f"id: {form_id!r} is reserved: the database uses the tables regions, completeness "
                        "and <form>__rejected, <form>__long, <form>__v1 and indexes ix_<form>_... (no id may contain __ "
                        "or start with ix_)")
    version = need("version", int, data, "")
    if version is not None and not 1 <= version <= MAX_VERSION:
        problems.append(f"version: must be a whole number from 1 to {MAX_VERSION:,}, got {_show(version)}")
    title = need("title", str, data, "")
    description = need("description", str, data, "", required=False)
    respondent = need("respondent", str, data, "")
    if respondent is not None and respondent not in RESPONDENTS:
        problems.append(f"respondent: {respondent!r} is not one of {', '.join(RESPONDENTS)}")
    period = need("period", str, data, "")
    if period is not None and period not in PERIOD_TYPES:
        problems.append(f"period: {period!r} is not one of {', '.join(PERIOD_TYPES)}")
    due_days = need("due_days", int, data, "", required=False)
    if due_days is not None and not 0 <= due_days <= MAX_DUE_DAYS:
        problems.append(f"due_days: must be from 0 to {MAX_DUE_DAYS:,} (days after the period ends), "
                        f"got {_show(due_days)}")
    locale = data.get("locale", "id")
    if not isinstance(locale, str) or locale not in LOCALES:
        problems.append(f"locale: {_show(locale)} is not one of id, en")

    fields: list[Field] = []
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        problems.append("fields: required, a non-empty list of fields")
        raw_fields = []
    names: set[str] = set()
    labels: set[str] = set()
    reserved_labels = {REGION_LABELS.get(respondent, ""), PERIOD_LABEL}
    for i, raw in enumerate(raw_fields):
        p = f"fields[{i}]."
        if not isinstance(raw, dict):
            problems.append(f"fields[{i}]: must be a mapping with name, label, type")
            continue
        before = len(problems)
        for key in sorted(set(raw) - _FIELD_KEYS, key=str):
            problems.append(f"{p}{key}: unknown key (allowed: {', '.join(sorted(_FIELD_KEYS))})")
        name = need("name", str, raw, p)
        if name is not None:
            if not NAME_RE.match(name):
                problems.append(f"{p}name: {name!r} must match ^[a-z][a-z0-9_]{{0,47}}$")
            elif name in RESERVED or name.startswith("_"):
                problems.append(f"{p}name: {name!r} is reserved (region, period and names starting with _)")
            elif name in names:
                problems.append(f"{p}name: {name!r} is used by an earlier field")
            elif name in GOOGLE_META_HEADERS:  # a column header matches a field's name as well as its label
                problems.append(f"{p}name: {name!r} {_GOOGLE_HEADER_CLASH} name")
            names.add(name)
        label = need("label", str, raw, p)
        if label is not None:
            folded = fold_header(label)
            if not folded:
                problems.append(f"{p}label: must not be empty")
            elif folded in labels:
                problems.append(f"{p}label: {label!r} is used by an earlier field (labels must be unique)")
            elif folded in {fold_header(x) for x in reserved_labels if x}:
                problems.append(f"{p}label: {label!r} is the label of the implicit region/period question")
            elif folded in GOOGLE_META_HEADERS:
                problems.append(f"{p}label: {label!r} {_GOOGLE_HEADER_CLASH} label")
            labels.add(folded)
        ftype = need("type", str, raw, p)
        if ftype is not None and ftype not in FIELD_TYPES:
            problems.append(f"{p}type: {ftype!r} is not one of {', '.join(FIELD_TYPES)}")
            ftype = None
        required = raw.get("required", True)
        if not isinstance(required, bool):
            problems.append(f"{p}required: must be true or false, got {_show(required)}")
        help_text = need("help", str, raw, p, required=False)
        section = need("section", str, raw, p, required=False)
        if ftype:
            for key, allowed in _KEYS_BY_TYPE.items():
                if key in raw and ftype not in allowed:
                    problems.append(f"{p}{key}: not allowed for type {ftype} (only {', '.join(sorted(allowed))})")
        lo = _bound(raw, "min", ftype, p, problems)
        hi = _bound(raw, "max", ftype, p, problems)
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"{p}min: {_show(lo)} is greater than max {_show(hi)}")
        pattern = None
        if ftype == "text" and "pattern" in raw:
            pattern = need("pattern", str, raw, p)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(f"{p}pattern: not a valid regular expression ({exc})")
                else:
                    if not _re2_compiles(pattern):
                        problems.append(f"{p}pattern: uses a feature the checker does not support "
                                        "(look-around, back-references); write it without them")
        max_length = None
        if ftype == "text" and "max_length" in raw:
            max_length = need("max_length", int, raw, p)
            if max_length is not None and not 1 <= max_length <= MAX_CELL:
                problems.append(f"{p}max_length: must be from 1 to {MAX_CELL:,} (no longer answer is "
                                f"accepted), got {_show(max_length)}")
        paragraph = raw.get("paragraph") if ftype == "text" else None
        if paragraph is not None and not isinstance(paragraph, bool):
            problems.append(f"{p}paragraph: must be true or false")
        choices: tuple[str, ...] = ()
        if ftype in ("choice", "multi_choice"):
            raw_choices = raw.get("choices")
            if not isinstance(raw_choices, list) or not raw_choices:
                problems.append(f"{p}choices: required for type {ftype}, a non-empty list of options")
            else:
                seen: set[str] = set()
                for j, c in enumerate(raw_choices):
                    if isinstance(c, bool) or not isinstance(c, (str, int, float)) or not str(c).strip():
                        problems.append(f"{p}choices[{j}]: must be non-empty text, got {_show(c)}")
                        continue
                    key = fold_choice(str(c))
                    if key in seen:
                        problems.append(f"{p}choices[{j}]: {_show(c)} repeats an earlier option")
                    seen.add(key)
                choices = tuple(str(c).strip() for c in raw_choices if isinstance(c, (str, int, float))
                                and not isinstance(c, bool) and str(c).strip())
                if ftype == "multi_choice":  # Google writes a multi-choice answer as its options joined by ", "
                    for c in choices:
                        parts = fold_choice(c).split(",")
                        if len(parts) > 1 and all(part in seen for part in parts):
                            problems.append(f"{p}choices: {c!r} reads the same as the options "
                                            f"{' + '.join(repr(x.strip()) for x in c.split(','))} ticked together; "
                                            "rename it (e.g. without the comma)")
        if len(problems) == before and name and label and ftype:
            fields.append(Field(name=name, label=label.strip(), type=ftype, required=required,
                                help=help_text, min=lo, max=hi, pattern=pattern,
                                max_length=max_length, choices=choices, section=section,
                                paragraph=paragraph))

    rules: list[Rule] = []
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        problems.append("rules: must be a list")
        raw_rules = []
    rule_names: set[str] = set()
    field_types = {f.name: f.type for f in fields}
    for i, raw in enumerate(raw_rules):
        p = f"rules[{i}]."
        if not isinstance(raw, dict):
            problems.append(f"rules[{i}]: must be a mapping with name, check, message")
            continue
        for key in sorted(set(raw) - _RULE_KEYS, key=str):
            problems.append(f"{p}{key}: unknown key (allowed: {', '.join(sorted(_RULE_KEYS))})")
        rname = need("name", str, raw, p)
        if rname is not None:
            if not NAME_RE.match(rname):
                problems.append(f"{p}name: {rname!r} must match ^[a-z][a-z0-9_]{{0,47}}$")
            elif rname in rule_names:
                problems.append(f"{p}name: {rname!r} is used by an earlier rule")
            rule_names.add(rname)
        check = need("check", str, raw, p)
        message = need("message", str, raw, p)
        message_en = need("message_en", str, raw, p, required=False)
        used: tuple[str, ...] = ()
        if check is not None:
            try:
                used = parse_rule(check).fields
            except RuleSyntaxError as exc:
                problems.append(f"{p}check: {exc}")
                check = None
            else:
                for fname in used:
                    if fname not in names:
                        problems.append(f"{p}check: {fname!r} is not a field of this form")
                    elif field_types.get(fname) not in (None, "integer", "number"):
                        problems.append(f"{p}check: {fname!r} is a {field_types[fname]} field; "
                                        "rules compare integer and number fields only")
        if rname and check and message:
            rules.append(Rule(rname, check, message, message_en, used))

    if problems:
        raise DefinitionError(path, problems)
    return FormDefinition(id=form_id, version=version, title=title.strip(), respondent=respondent,
                          period=period, fields=tuple(fields), rules=tuple(rules),
                          description=description, due_days=due_days, locale=locale, path=path,
                          raw=data)


def _bound(raw: dict, key: str, ftype: str | None, p: str, problems: list[str]):
    if key not in raw or ftype not in ("integer", "number", "date"):
        return None
    value = raw[key]
    if ftype == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            problems.append(f"{p}{key}: {_show(value)} must be a date written YYYY-MM-DD")
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{p}{key}: must be a number, got {_show(value)}")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{p}{key}: must be a finite number, got {_show(value)}")
        return None
    if ftype == "integer" and isinstance(value, float) and not value.is_integer():
        problems.append(f"{p}{key}: must be a whole number for an integer field, got {value!r}")
        return None
    limit = MAX_INTEGER if ftype == "integer" else MAX_NUMBER
    if not -limit < value < limit:  # beyond what every database stores (BIGINT, DECIMAL(65,30))
        problems.append(f"{p}{key}: {_show(value)} is too large; {ftype} answers lie strictly between "
                        f"-{limit:.0e} and {limit:.0e}")
        return None
    return value


def _show(value: Any) -> str:
    """A value as the definition's author wrote it: dates as YYYY-MM-DD, not Python reprs; cut
    short (a YAML alias chain can stand for billions of items)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    return _SHORT.repr(value)


_SHORT = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxlong = 2, 4, 4, 80, 40


def _re2_compiles(pattern: str) -> bool:
    """Text patterns are checked with Arrow's RE2 engine (linear time, no catastrophic
    backtracking), which has no look-around or back-references."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array(["x"]), f"^(?:{pattern})$")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _kind_word(names: str) -> str:
    return {"str": "text", "int": "an integer", "list": "a list", "dict": "a mapping"}.get(names, names)


_WS = re.compile(r"\s+")


# Invisible characters a header can pick up on the way (a second byte-order mark from a file saved
# twice, zero-width spaces and direction marks pasted from the web); they never tell headers apart.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def fold_header(text: str) -> str:
    """Header comparison key (FORMAT.md §2): case folded, trimmed, inner whitespace runs as one
    space; invisible characters (byte-order marks, zero-width spaces) removed."""
    return _WS.sub(" ", _INVISIBLE.sub("", str(text))).strip().casefold()


def fold_choice(text: str) -> str:
    """Choice comparison key: case-insensitive, whitespace-insensitive."""
    return _WS.sub("", str(text)).casefold()


def load_definitions(folder: str | Path) -> dict[str, FormDefinition]:
    """Load every *.yaml/*.yml in a folder; raise one DefinitionError listing every problem."""
    folder = Path(folder)
    found: dict[str, FormDefinition] = {}
    errors: list[str] = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            d = load_definition(path)
        except DefinitionError as exc:
            errors.append(str(exc))
            continue
        if d.id in found:
            errors.append(f"{path}: id: {d.id!r} is already used by {found[d.id].path}")
            continue
        found[d.id] = d
    if errors:
        raise DefinitionError.combined(errors)
    return found

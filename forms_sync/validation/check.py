"""One validation path for every source: raw text answers -> typed frame + coded problems.

Order of work (FORMAT.md §2): missing markers, then each column read by its type (errors from
reading win), then the generated pandera schema (ranges, text rules, membership, cross-field
rules) on what could be read. Every step is column-wise; Python touches only unique values
(choices, regions, periods, dates) and the ~1% of cells that carry a problem.
"""
from __future__ import annotations

import functools
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from forms_sync.definition.model import MAX_CELL, MAX_INTEGER, Field, FormDefinition
from forms_sync.messages import render
from forms_sync.reading import answers, dates, numbers
from forms_sync.reference import periods, regions
from forms_sync.validation.schema import DTYPES, build_schema

PROBLEM_COLUMNS = ["row", "field", "value", "code", "level", "message_id", "message_en"]
SHOWN_VALUE = 200  # values quoted in messages and reports are cut to this many characters
READ_THREADS = min(2, os.cpu_count() or 1)  # worker threads for Arrow column kernels (2 cores: 2)
PLAIN_GROUP = 10  # number columns whose shape is checked in one pass (a task of its own)

REGION_WORDS_EN = {"province": "province", "regency": "regency/city", "village": "village"}


@dataclass
class Checked:
    typed: pd.DataFrame  # region, period and every field, typed; index as the raw frame
    problems: pd.DataFrame  # PROBLEM_COLUMNS plus "index" (the raw frame's index label)
    valid: pd.Series  # True where the row has no error-level problem


def shown(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value)
    return text if len(text) <= SHOWN_VALUE else text[:SHOWN_VALUE] + "…"


def check_frame(definition: FormDefinition, raw: pd.DataFrame, locale: str | None = None) -> Checked:
    """Check raw answers (columns region, period, field names; text or NA) against a definition.

    `raw` must also hold `_row` (the 1-based row number reported to people).
    """
    locale = locale or definition.locale
    typed = pd.DataFrame(index=raw.index)
    found: list[pd.DataFrame] = []  # problem frames: index, field, value, code, key, params
    cell_bad = {}

    def note(col: str, codes: pd.Series, text: pd.Series, params=None, keys=None):
        bad = codes.notna()
        if bad.any():
            idx = codes.index[bad]
            frame = pd.DataFrame({"index": idx, "field": col, "value": text[bad].map(shown).to_numpy(),
                                  "code": codes[bad].to_numpy()})
            frame["key"] = keys[bad].to_numpy() if keys is not None else None
            frame["params"] = params[bad].to_numpy() if params is not None else None
            found.append(frame)
            cell_bad[col] = cell_bad.get(col, pd.Series(False, index=raw.index)) | bad

    def column_text(col: str) -> pd.Series:
        if col in raw:
            return answers.normalise_missing(raw[col])
        return pd.Series(pd.NA, index=raw.index, dtype="str")

    # Number columns whose every cell is a plain number are typed by Arrow kernels, which release
    # the GIL: on a big frame they run in worker threads while this thread reads regions and periods.
    groups = []  # (integer?, up to PLAIN_GROUP field names of that type)
    for kind in ("integer", "number"):
        names = [f.name for f in definition.fields if f.type == kind and f.name in raw]
        groups += [(kind == "integer", names[i:i + PLAIN_GROUP]) for i in range(0, len(names), PLAIN_GROUP)]
    pool = ThreadPoolExecutor(READ_THREADS) if READ_THREADS > 1 and len(raw) >= 20_000 and groups else None
    plain = {}  # field name -> (its group's future, place in the group)
    for integer, names in groups:
        args = ([raw[n] for n in names], locale, integer)
        if pool:
            done = pool.submit(numbers.read_plain_columns, *args)
        else:
            done = Future()
            done.set_result(numbers.read_plain_columns(*args))
        plain.update({name: (done, i) for i, name in enumerate(names)})
    try:
        _check_columns(definition, raw, locale, typed, note, column_text, plain)
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)

    schema_failures = _schema_failures(definition, typed, cell_bad, raw)
    if schema_failures is not None:
        found.append(schema_failures)

    problems = _finish(definition, found, raw, locale)
    bad_rows = problems.loc[problems["level"] == "error", "index"].unique() if len(problems) else []
    valid = pd.Series(True, index=raw.index)
    valid.loc[bad_rows] = False
    return Checked(typed=typed, problems=problems, valid=valid)


def _check_columns(definition, raw, locale, typed, note, column_text, plain) -> None:
    """Read region, period and every field into `typed`, noting each cell's problem."""
    # Region and period: always required.
    for col in ("region", "period"):
        text = column_text(col)
        missing = text.isna()
        note(col, pd.Series("required", index=raw.index).where(missing), text)
        present = text[~missing]
        if col == "region":
            res = resolve_regions(present, definition.respondent)
            typed[col] = res["code"].reindex(raw.index)
            note(col, res["error"], present, params=res["params"], keys=res["message_key"])
        else:
            ids = periods.parse_periods(present, definition.period)
            typed[col] = ids.reindex(raw.index)
            note(col, pd.Series("period_invalid", index=present.index).where(ids.isna()), present)

    for f in definition.fields:
        if f.name in plain:
            done, place = plain[f.name]
            column = done.result()[place]
            if column is not None:  # every cell a plain number: nothing missing, nothing to report
                typed[f.name] = column
                continue
        text = column_text(f.name)
        missing = text.isna()
        some_missing = bool(missing.any())
        if f.required and some_missing:
            note(f.name, pd.Series("required", index=raw.index).where(missing), text)
        present = text[~missing] if some_missing else text
        if _longest(present) > MAX_CELL:  # bytes >= characters: only then count characters
            lengths = present.str.len()
            too_long = lengths > MAX_CELL
            if too_long.any():
                note(f.name, pd.Series("max_length", index=present.index).where(too_long), present,
                     params=lengths.map(lambda n: {"length": n}))
                present = present[~too_long]
        values, codes = read_column(f, present, locale)
        if not len(values):
            typed[f.name] = _empty(f, raw.index)
        else:
            typed[f.name] = values if values.index.equals(raw.index) else values.reindex(raw.index)
        note(f.name, codes, present)


def resolve_regions(values: pd.Series, level: str) -> pd.DataFrame:
    """regions.resolve(), with the usual answer (exactly a current code of the form's level) taken
    in one set look-up; the reference reads only the other distinct answers."""
    exact = pc.is_in(_text_array(values), value_set=_level_codes(level)).to_numpy(zero_copy_only=False)
    if not exact.any():
        return regions.load().resolve(values, level)
    out = pd.DataFrame({"code": values.to_numpy(dtype=object), "error": None, "message_key": None,
                        "params": None}, index=values.index, dtype=object)
    if not exact.all():
        rest = regions.load().resolve(values[~exact], level)
        for column in out.columns:
            out.loc[~exact, column] = rest[column].to_numpy()
    return out


@functools.lru_cache(maxsize=None)
def _level_codes(level: str) -> pyarrow.Array:
    return pyarrow.array(regions.load().codes_for_level(level), type=pyarrow.string())


def _text_array(values: pd.Series) -> pyarrow.Array:
    arr = pyarrow.array(values.astype("str"), type=pyarrow.string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pyarrow.ChunkedArray) else arr


def _longest(text: pd.Series) -> int:
    """The longest cell in UTF-8 bytes (0 for none)."""
    if not len(text):
        return 0
    longest = pc.max(pc.binary_length(_text_array(text))).as_py()
    return longest or 0


def read_column(f: Field, present: pd.Series, locale: str) -> tuple[pd.Series, pd.Series]:
    if f.type in ("integer", "number"):
        return numbers.read_numbers(present, locale, integer=f.type == "integer")
    if f.type == "date":
        return dates.read_dates(present, locale)
    if f.type == "boolean":
        return answers.read_booleans(present, locale)
    if f.type in ("choice", "multi_choice"):
        return answers.read_choices(present, f)
    return answers.read_text(present, f)


def _empty(f: Field, index) -> pd.Series:
    return pd.Series(pd.NA if DTYPES[f.type] is not object else None, index=index).astype(DTYPES[f.type])


@functools.lru_cache(maxsize=32)
def _schema(definition: FormDefinition) -> pa.DataFrameSchema:
    """The generated schema, built once per definition (a frozen, hashable value); building it
    costs more than validating a 20,000-row chunk."""
    return build_schema(definition)


@functools.lru_cache(maxsize=None)
def _pandera_without_strategies() -> None:
    """Load pandera's pandas checks without its data-synthesis strategies.

    pandera imports its hypothesis-based strategies with its built-in checks, on the first
    validate: when hypothesis is installed (test environments) that is ~0.13 s added to every
    `forms-sync validate`. forms-sync never synthesises data, so if hypothesis is not imported yet
    it is hidden for this one import: pandera then works without strategies (schema.strategy()
    says hypothesis is missing) and `import hypothesis` works as usual afterwards.
    """
    if "hypothesis" in sys.modules or "pandera.strategies.pandas_strategies" in sys.modules:
        return
    sys.modules["hypothesis"] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        import pandera.backends.pandas.builtin_checks  # noqa: F401
    finally:
        if sys.modules.get("hypothesis", 0) is None:
            del sys.modules["hypothesis"]


def _schema_failures(definition, typed, cell_bad, raw) -> pd.DataFrame | None:
    """Run the generated pandera schema; keep failures on cells that were read without error."""
    _pandera_without_strategies()
    try:
        # inplace: the schema coerces nothing, so the copy pandera would make first is not needed
        _schema(definition).validate(typed, lazy=True, inplace=True)
        return None
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    fc = fc[fc["index"].notna()]
    if fc.empty:
        return None
    out = []
    is_rule = fc["check"].astype(str).str.startswith("rule:")
    cols = fc[~is_rule]
    for (col, code), grp in cols.groupby(["column", "check"], sort=False):
        idx = pd.Index(grp["index"].unique())
        if col in cell_bad:
            idx = idx[~cell_bad[col].reindex(idx).to_numpy()]
        if len(idx):
            text = raw[col].reindex(idx) if col in raw else pd.Series(None, index=idx, dtype=object)
            part = pd.DataFrame({"index": idx, "field": col, "code": code,
                                 "value": text.map(shown).to_numpy()})
            part["params"] = [{"length": len(str(t).strip())} for t in text] if code == "max_length" else None
            out.append(part)
    rules = fc[is_rule].drop_duplicates(["index", "check"])
    if len(rules):
        out.append(pd.DataFrame({"index": rules["index"].to_numpy(), "field": None,
                                 "code": rules["check"].to_numpy(), "value": None, "params": None}))
    if not out:
        return None
    frame = pd.concat(out, ignore_index=True)
    frame["key"] = None
    if "params" not in frame:
        frame["params"] = None
    return frame


def _finish(definition: FormDefinition, found: list[pd.DataFrame], raw: pd.DataFrame, locale: str) -> pd.DataFrame:
    if not found:
        return pd.DataFrame(columns=["index", *PROBLEM_COLUMNS])
    frame = pd.concat(found, ignore_index=True)
    frame["row"] = raw["_row"].reindex(frame["index"]).to_numpy()
    frame["level"] = "error"
    rendered = [message_for(definition, r.field, r.code, r.value, r.key, r.params, locale)
                for r in frame.itertuples(index=False)]
    frame["message_id"] = [m[0] for m in rendered]
    frame["message_en"] = [m[1] for m in rendered]
    frame = frame.sort_values(["row", "index"], kind="stable")
    return frame[["index", *PROBLEM_COLUMNS]].reset_index(drop=True)


def message_for(definition: FormDefinition, field: str | None, code: str, value, key=None,
                params=None, locale: str = "id") -> tuple[str, str]:
    """Render one problem's two messages from the catalogue, with what to type instead."""
    p = dict(params or {})
    p.setdefault("value", value)
    if code.startswith("rule:"):
        rule = next(r for r in definition.rules if r.name == code[5:])
        return rule.message, rule.message_en or rule.message
    if field == "region":
        p.update(label=definition.region_label, label_en=REGION_WORDS_EN[definition.respondent])
        p.setdefault("example", "32.04 Kabupaten Bandung")
        if code == "required":
            return render("required", label=definition.region_label)
        return render(key or code, **p)
    if field == "period":
        if code == "required":
            return render("required", label=definition.period_label)
        words = periods.PERIOD_TYPE_WORDS[definition.period]
        return render("period_invalid", value=value, example=periods.period_example(definition.period),
                      period_type_id=words[0], period_type_en=words[1])
    f = definition.field(field)
    p["label"] = f.label
    if code in ("type", "ambiguous_number"):
        if f.type in ("integer", "number"):
            p["example"] = numbers.format_number(1234 if f.type == "integer" else 1234.5, locale,
                                                 integer=f.type == "integer")
            p["hint_en"] = ("Use . for thousands and , for decimals" if locale == "id"
                            else "Use , for thousands and . for decimals")
        elif f.type == "date":
            p["example"] = "03/12/2026" if locale == "id" else "12/3/2026"
        elif f.type == "boolean":
            p["yes"], p["no"] = ("Ya", "Tidak") if locale == "id" else ("Yes", "No")
        return render(code if code == "ambiguous_number" else f"type.{f.type}", **p)
    if code in ("min", "max"):
        bound = f.min if code == "min" else f.max
        p["bound"] = (bound.strftime("%d/%m/%Y") if hasattr(bound, "strftime")
                      else numbers.format_number(bound, locale))
        return render(code, **p)
    if code == "too_large":
        if f.type == "integer":
            p["bound_id"] = p["bound_en"] = "±" + numbers.format_number(MAX_INTEGER - 1, locale, integer=True)
        else:
            p["bound_id"], p["bound_en"] = "di bawah 10^35: 35 digit sebelum koma", "below 10^35: 35 digits before the decimal mark"
        return render(code, **p)
    if code == "max_length":
        p["bound"] = f.max_length or MAX_CELL
        p.setdefault("length", len(value or ""))
        return render(code, **p)
    if code == "pattern":
        p["bound"] = f.pattern
        return render(code, **p)
    if code == "choice":
        p["options"] = ", ".join(f.choices)
        return render("choice.multi" if f.type == "multi_choice" else "choice", **p)
    return render(code, **p)

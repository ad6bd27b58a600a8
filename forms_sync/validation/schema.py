"""The pandera schema of a form's typed frame, generated from the definition (never hand-kept).

Each check's `error` is the stable error code it reports (FORMAT.md §4), so failures map straight
back to codes. Reading (text -> typed values) happens before; this schema checks what was read:
dtypes, ranges, membership, text rules, cross-field rules and the one-row-per-key invariant.
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from forms_sync.definition.model import Field, FormDefinition
from forms_sync.definition.rules import evaluate, parse_rule

DTYPES = {
    "integer": "Int64",
    "number": "Float64",
    "text": object,
    "choice": object,
    "multi_choice": object,
    "date": "datetime64[s]",
    "boolean": "boolean",
}


def _bound(field: Field, value):
    return pd.Timestamp(value) if isinstance(value, dt.date) else value


def field_checks(field: Field) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if field.min is not None:
        checks.append(pa.Check.ge(_bound(field, field.min), error="min"))
    if field.max is not None:
        checks.append(pa.Check.le(_bound(field, field.max), error="max"))
    if field.max_length is not None:
        checks.append(pa.Check(lambda s, n=field.max_length: s.str.len() <= n, error="max_length"))
    if field.pattern is not None:
        checks.append(pa.Check(_pattern_check(field.pattern), error="pattern"))
    if field.type == "choice":
        checks.append(pa.Check.isin(list(field.choices), error="choice"))
    if field.type == "multi_choice":
        allowed = set(field.choices)
        checks.append(pa.Check(lambda s, a=allowed: s.map(lambda v: set(json.loads(v)) <= a).astype(bool),
                               error="choice"))
    return checks


def _pattern_check(pattern: str):
    """Full match of a text pattern, column-wise with Arrow's RE2 engine: linear time, so a pattern
    like (a+)+b cannot hang a sync on a long answer (Python's re backtracks exponentially).
    Missing cells pass (the check only judges answers that were read)."""
    full = f"^(?:{pattern})$"

    def check(s: pd.Series) -> pd.Series:
        values = s.astype(object).where(s.notna(), None)
        arr = pyarrow.array(values, type=pyarrow.string(), from_pandas=True)
        matched = pc.fill_null(pc.match_substring_regex(arr, full), True)
        return pd.Series(np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool), index=s.index)

    return check


def rule_check(rule) -> pa.Check:
    """A cross-field rule; skipped (passes) where any of its fields is missing or unreadable."""
    parsed = parse_rule(rule.check)
    fields = list(rule.fields)

    def holds(df: pd.DataFrame) -> pd.Series:
        skip = df[fields].isna().any(axis=1)
        return evaluate(parsed, df) | skip

    return pa.Check(holds, error=f"rule:{rule.name}")


def build_schema(definition: FormDefinition, *, unique_keys: bool = False) -> pa.DataFrameSchema:
    """Schema of the typed frame. `unique_keys` adds the (region, period) invariant of the clean table."""
    columns = {
        "region": pa.Column(object, nullable=True),
        "period": pa.Column(object, nullable=True),
    }
    for f in definition.fields:
        columns[f.name] = pa.Column(DTYPES[f.type], checks=field_checks(f), nullable=True, coerce=False)
    return pa.DataFrameSchema(
        columns,
        checks=[rule_check(r) for r in definition.rules],
        unique=["region", "period"] if unique_keys else None,
        strict=False,
        name=definition.id,
    )

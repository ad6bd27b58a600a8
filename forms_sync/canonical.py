"""Canonical text of typed values (FORMAT.md §4 `--clean-out`), shared by every text export.

Integers as plain digits, numbers with `.` and no trailing zeros, dates YYYY-MM-DD, booleans
true/false, multi-choice as compact JSON, region as the Kemendagri code, missing as empty.
"""
from __future__ import annotations

import pandas as pd

from forms_sync.definition.model import FormDefinition
from forms_sync.reading.numbers import canonical_numbers


def canonical_column(ftype: str, values: pd.Series) -> pd.Series:
    if ftype == "integer":
        out = values.astype("Int64").astype("str")
    elif ftype == "number":
        out = canonical_numbers(values)
    elif ftype == "date":
        out = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
    elif ftype == "boolean":
        out = values.astype("boolean").map({True: "true", False: "false"})
    else:
        out = values.astype(object)
    return out.astype(object).where(values.notna(), "")


def canonical_frame(definition: FormDefinition, typed: pd.DataFrame) -> pd.DataFrame:
    """region, period and every field as canonical strings ('' for missing)."""
    out = pd.DataFrame(index=typed.index)
    out["region"] = typed["region"].astype(object).where(typed["region"].notna(), "")
    out["period"] = typed["period"].astype(object).where(typed["period"].notna(), "")
    for f in definition.fields:
        out[f.name] = canonical_column(f.type, typed[f.name]) if len(typed) else pd.Series(dtype=object)
    return out

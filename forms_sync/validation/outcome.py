"""Validate one batch: check every row, settle resubmissions, and count (FORMAT.md §3-4)."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from forms_sync.definition.model import FormDefinition
from forms_sync.sources.base import RawBatch, read_ahead
from forms_sync.validation.check import PROBLEM_COLUMNS, Checked, check_frame
from forms_sync.validation.resolve import latest_valid


@dataclass
class Outcome:
    definition: FormDefinition
    batch: RawBatch
    checked: Checked | None  # None when the file failed as a whole
    winners: pd.Index = field(default_factory=lambda: pd.Index([]))
    superseded: pd.Index = field(default_factory=lambda: pd.Index([]))

    @property
    def rows(self) -> int:
        return self.batch.rows

    @property
    def accepted(self) -> int:
        return len(self.winners)

    @property
    def rejected(self) -> int:
        if self.checked is None:
            return self.rows
        return int((~self.checked.valid).sum())

    @property
    def refused(self) -> bool:
        return self.batch.failed or self.rejected > 0

    def problems(self) -> list[dict]:
        """File-level problems first, then row problems in row order, as report dicts."""
        out = [p.to_dict() for p in self.batch.problems]
        if self.checked is not None and len(self.checked.problems):
            frame = self.checked.problems[PROBLEM_COLUMNS].astype(object)
            frame = frame.where(frame.notna(), None)
            for rec in frame.to_dict("records"):
                rec["row"] = int(rec["row"]) if rec["row"] is not None else None
                out.append(rec)
        return out

    def superseded_rows(self) -> list[int]:
        return sorted(int(r) for r in self.batch.frame.loc[self.superseded, "_row"])

    def accepted_frame(self) -> pd.DataFrame:
        """The typed winning rows with their metadata, in row order."""
        if self.checked is None:  # a failed file accepts nothing
            return pd.DataFrame(columns=[*self.definition.columns, "_submitted_at", "_submission_id", "_source",
                                         "_row"])
        typed = self.checked.typed.loc[self.winners.sort_values()]
        meta = self.batch.frame.loc[typed.index, [c for c in ("_submitted_at", "_submission_id", "_source", "_row")
                                                  if c in self.batch.frame]]
        return pd.concat([typed, meta], axis=1)

    def report(self) -> dict:
        return {
            "form": self.definition.id,
            "file": self.batch.source.removeprefix("file:"),
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "superseded": len(self.superseded),
            "errors": self.problems(),
            "superseded_rows": self.superseded_rows(),
        }

    def report_json(self) -> str:
        return json.dumps(self.report(), ensure_ascii=False, indent=2)


def validate_parts(definition: FormDefinition, parts: Iterable[RawBatch], keep_typed: bool = True) -> Outcome:
    """validate_batch for a file read in parts (none failed): each part is checked as the next is
    read, and resubmissions are settled over them all at the end, so the outcome is the one of the
    file read whole. Kept per row: what settling needs, and the typed answers only with
    `keep_typed` (for the accepted rows), so memory grows with the part, not the file."""
    frames, typed, problems, valid = [], [], [], []
    first: RawBatch | None = None
    start = 0
    for part in read_ahead(parts):
        first = first or part
        part.frame.index = pd.RangeIndex(start, start + part.rows)  # labels unique across parts
        start += part.rows
        checked = check_frame(definition, part.frame)
        frames.append(part.frame[["_row", "_submitted_at", "_source"]])
        typed.append(checked.typed if keep_typed else checked.typed[["region", "period"]])
        problems.append(checked.problems)
        valid.append(checked.valid)
    if first is None:
        raise ValueError("validate_parts: no part")
    batch = RawBatch(source=first.source, frame=pd.concat(frames), problems=first.problems,
                     columns=first.columns, records=start)
    checked = Checked(typed=pd.concat(typed), problems=pd.concat(problems, ignore_index=True),
                      valid=pd.concat(valid))
    winners, superseded = latest_valid(checked.typed["region"], checked.typed["period"], checked.valid,
                                       batch.frame["_submitted_at"], batch.frame["_row"])
    return Outcome(definition, batch, checked, winners, superseded)


def validate_batch(definition: FormDefinition, batch: RawBatch, locale: str | None = None) -> Outcome:
    """Check a batch and settle resubmissions within it. A failed file accepts nothing."""
    if batch.failed:
        return Outcome(definition, batch, None)
    checked = check_frame(definition, batch.frame, locale)
    winners, superseded = latest_valid(checked.typed["region"], checked.typed["period"], checked.valid,
                                       batch.frame["_submitted_at"], batch.frame["_row"])
    return Outcome(definition, batch, checked, winners, superseded)

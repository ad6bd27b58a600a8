"""Validate one batch: check every row, settle resubmissions, and count (FORMAT.md §3-4)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from forms_sync.definition.model import FormDefinition
from forms_sync.sources.base import RawBatch
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
        meta = self.batch.frame.loc[typed.index, ["_submitted_at", "_submission_id", "_source", "_row"]]
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


def validate_batch(definition: FormDefinition, batch: RawBatch, locale: str | None = None) -> Outcome:
    """Check a batch and settle resubmissions within it. A failed file accepts nothing."""
    if batch.failed:
        return Outcome(definition, batch, None)
    checked = check_frame(definition, batch.frame, locale)
    winners, superseded = latest_valid(checked.typed["region"], checked.typed["period"], checked.valid,
                                       batch.frame["_submitted_at"], batch.frame["_row"])
    return Outcome(definition, batch, checked, winners, superseded)

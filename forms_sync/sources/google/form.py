"""The `google_form` source: a form's responses through the Forms API, incrementally.

responses.list returns at most 5,000 responses a page and filters only on lastSubmittedTime
(`timestamp >= T`). The watermark is the largest lastSubmittedTime committed, kept exactly as
Google wrote it (full precision), and read back with `>=`: responses on the boundary come back once
more and are recognised by (responseId, revision), so none is lost and none counts twice. An edit
keeps its responseId and moves lastSubmittedTime on, so it arrives as a new revision. Every page is
read before anything is returned: a failure on any page returns nothing (nothing is committed).

Answers are keyed by questionId and mapped to fields through the lock file the definition's
`generate` wrote (or, for a form given by `form_id` that forms-sync did not generate, by question
title, looked up once and kept in the watermark). Each answer becomes the text a person chose or
typed: checkbox values joined with ", " (the multi-choice reader splits them by the known options),
dates as Google sends them (YYYY-MM-DD), region and period as the drop-down option chosen.
"""
from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import re

import pandas as pd

from forms_sync.config import Config, SourceConfig
from forms_sync.definition.model import FormDefinition, fold_header
from forms_sync.errors import ConfigError
from forms_sync.sources.base import RawBatch, file_problem, header_targets
from forms_sync.sources.google.common import (FORMS_READS, Calls, dump_mark, load_mark, log, pacer,
                                              session_for)

PAGE_SIZE = 5000  # the most responses.list returns in one page
LIST_FIELDS = "nextPageToken,responses(responseId,lastSubmittedTime,respondentEmail,answers)"
_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def rfc3339_ns(text: str) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 time, exactly (no float, no truncation)."""
    m = _RFC3339.fullmatch(str(text).strip())
    if not m:
        return None
    try:
        moment = dt.datetime(*(int(g) for g in m.groups()[:6]), tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    if m.group(8) != "Z":
        sign = 1 if m.group(8)[0] == "+" else -1
        moment -= sign * dt.timedelta(hours=int(m.group(8)[1:3]), minutes=int(m.group(8)[4:6]))
    whole = (moment - _EPOCH) // dt.timedelta(seconds=1)
    return whole * 1_000_000_000 + int((m.group(7) or "0").ljust(9, "0"))


class GoogleFormSource:
    """One Google Form bound to one definition."""

    def __init__(self, cfg: Config, definition: FormDefinition, source: SourceConfig):
        from forms_sync.google.registry import load_registry

        self.cfg, self.definition = cfg, definition
        self.name = source.name
        self.registry = load_registry(definition) if definition.path else None
        form_id = source.options.get("form_id") or (self.registry.form_id if self.registry else None)
        if not form_id:
            raise ConfigError(f"form {definition.id}: its google_form source has no form yet. Run "
                              f"`forms-sync generate {definition.id}` (it writes {definition.id}.lock.json), "
                              "or give form_id in the source")
        if not isinstance(form_id, str):
            raise ConfigError(f"form {definition.id}: google_form form_id must be text, got {form_id!r}")
        self.form_id = form_id
        self.by_registry = self.registry is not None and self.registry.form_id == form_id
        self.label = f"google_form:{form_id}"

    # --- the fetch -----------------------------------------------------------------------------

    def fetch(self, watermarks: dict[str, str], *, full: bool = False) -> tuple[list[RawBatch], dict[str, str], int]:
        """(batches, new watermarks, API calls). `full`: list every response and mark the ones gone."""
        session = session_for(self.cfg)
        if self.by_registry:
            self._check_root(session.root)
        calls = Calls(session, self.label, self.definition.id)
        with calls.accounted():
            return self._fetch(session, calls, watermarks, full)

    def _fetch(self, session, calls: Calls, watermarks: dict[str, str], full: bool):
        pace = pacer(self.cfg, FORMS_READS)
        mark = load_mark(watermarks.get(self.label))
        after = None if full else mark.get("after")
        if after is not None and (not isinstance(after, str) or rfc3339_ns(after) is None):
            after = None  # not a time Google wrote: list everything again (known responses are skipped)
        responses = self._list(session, calls, pace, after)
        questions, cached = self._questions(session, calls, pace, responses, mark)
        if not responses and not full:
            return [], {}, calls.count
        batch = self._batch(responses, questions, mark)
        batch.complete = full
        new_mark = {"columns": {c: batch.columns.get(c) for c in self.definition.columns}}
        stamps = [(rfc3339_ns(r.get("lastSubmittedTime", "")), r.get("lastSubmittedTime")) for r in responses]
        stamps = [s for s in stamps if s[0] is not None]
        old = (rfc3339_ns(after), after) if after is not None else None  # a valid time, checked above
        best = max([*stamps, *([old] if old else [])], default=None)
        if best is not None:
            new_mark["after"] = best[1]
        elif mark.get("after"):
            new_mark["after"] = mark["after"]
        if cached is not None:
            new_mark["questions"] = cached
        return [batch], {self.label: dump_mark(new_mark)}, calls.count

    def _list(self, session, calls: Calls, pace, after: str | None) -> list[dict]:
        """Every response at or after `after` (all of them when None), page by page, all or nothing."""
        api = session.forms.forms().responses()
        out: list[dict] = []
        token = None
        while True:
            params = {"formId": self.form_id, "pageSize": PAGE_SIZE, "fields": LIST_FIELDS}
            if after:
                params["filter"] = f"timestamp >= {after}"
            if token:
                params["pageToken"] = token
            page = calls.run(lambda p=params: api.list(**p).execute(), "forms.responses.list", pace)
            if not isinstance(page, dict):
                raise calls.failed("forms.responses.list", "Google answered with something that is not a page "
                                   "of responses")
            listed = page.get("responses") or []
            if not isinstance(listed, list) or not all(isinstance(r, dict) and r.get("responseId") for r in listed):
                raise calls.failed("forms.responses.list", "Google listed a response without a responseId")
            out.extend(listed)
            token = page.get("nextPageToken")
            if not token:
                return out

    def _check_root(self, root: str | None) -> None:
        from forms_sync.google.registry import lock_path

        made_on = self.registry.api_root or None
        if made_on != (root or None):
            from forms_sync.google.errors import RegistryError
            raise RegistryError(
                f"{lock_path(self.definition)}: form {self.definition.id} was generated on {made_on or 'Google'}, "
                f"but the API root is now {root or 'Google (FORMS_SYNC_GOOGLE_API_ROOT is not set)'}; set "
                "FORMS_SYNC_GOOGLE_API_ROOT to match, or give the real form's form_id in the source")

    # --- questions -> fields -------------------------------------------------------------------

    def _questions(self, session, calls: Calls, pace, responses: list[dict],
                   mark: dict) -> tuple[dict[str, str], dict | None]:
        """questionId -> field ("region", "period" or a field name), and the map to keep in the watermark
        when it came from the form itself rather than the lock file."""
        if self.by_registry:
            current = {i.question_id: i.key for i in self.registry.items if i.question_id}
            return {**self.registry.previous_question_ids, **current}, None
        cached = mark.get("questions") if isinstance(mark.get("questions"), dict) else {}
        seen = {q for r in responses for q in (r.get("answers") or {})}
        if cached and seen <= set(cached):
            return cached, cached
        if not seen:
            return cached, cached or None
        form = calls.run(lambda: session.forms.forms().get(
            formId=self.form_id, fields="items(title,questionItem(question(questionId)))").execute(), "forms.get", pace)
        targets = header_targets(self.definition)
        fresh = {}
        for item in form.get("items") or []:
            qid = ((item.get("questionItem") or {}).get("question") or {}).get("questionId")
            key = targets.get(fold_header(item.get("title", "")))
            if qid and key:
                fresh[qid] = key
        return {**cached, **fresh}, {**cached, **fresh}

    # --- responses -> a batch ------------------------------------------------------------------

    def _batch(self, responses: list[dict], questions: dict[str, str], mark: dict) -> RawBatch:
        d = self.definition
        columns = {c: [None] * len(responses) for c in d.columns}
        unknown: collections.Counter = collections.Counter()
        ids, revisions, stamps, emails = [], [], [], []
        for n, r in enumerate(responses):
            answers = r.get("answers") or {}
            for qid, answer in answers.items():
                key = questions.get(qid)
                if key not in columns:  # none, or a field since removed or renamed (by `migrate`)
                    if not self._retired(qid):
                        unknown[qid] += 1
                    continue
                values = [str(v.get("value", "")) for v in (answer.get("textAnswers") or {}).get("answers") or []]
                columns[key][n] = ", ".join(v for v in values if v.strip()) or None
            ids.append(r["responseId"])
            stamps.append(r.get("lastSubmittedTime"))
            emails.append(r.get("respondentEmail"))
            blob = json.dumps([r.get("lastSubmittedTime"), answers], sort_keys=True, ensure_ascii=False)
            revisions.append(hashlib.blake2b(blob.encode("utf-8"), digest_size=16).hexdigest())
        frame = pd.DataFrame({c: pd.Series(v, dtype="str") for c, v in columns.items()},
                             index=pd.RangeIndex(len(responses)))
        frame["_row"] = range(1, len(responses) + 1)
        frame["_submitted_at"] = pd.to_datetime(pd.Series(stamps, dtype=object), utc=True, format="ISO8601",
                                                errors="coerce").astype("datetime64[us, UTC]")
        frame["_submission_id"] = pd.Series(ids, dtype=object)
        frame["_source"] = self.label
        frame["_email"] = pd.Series(emails, dtype=object)
        frame["_revision"] = pd.Series(revisions, dtype=object)
        current = set(self.registry.question_ids.values()) if self.by_registry else set(questions)
        on_form = {key: qid for qid, key in questions.items() if qid in current}
        batch = RawBatch(source=self.label, frame=frame,
                         columns={c: f"question {on_form[c]}" for c in d.columns if c in on_form})
        for qid, count in sorted(unknown.items()):
            batch.problems.append(file_problem("unknown_column", level="warning", column=f"question {qid}"))
            batch.drift.append(self._drift("unknown_question", column=f"question {qid}", responses=count,
                                           effect="answers to a question that is not in the definition (added to "
                                                  "the form by hand?) are ignored; put it in the definition and "
                                                  "run generate, or remove it from the form"))
        batch.drift.extend(self._question_drift(mark.get("columns"), batch.columns))
        for entry in batch.drift:
            log.warning("form %s: %s: %s %s: %s", d.id, self.label, entry["change"], entry.get("column") or
                        entry.get("field"), entry["effect"])
        return batch

    def _retired(self, question_id: str) -> bool:
        """A question generate took off the form with its field: its old answers stay in Google,
        and the field's stored values stay in the database until `migrate` settles them."""
        return self.by_registry and question_id in self.registry.previous_question_ids

    def _question_drift(self, before: dict | None, now: dict[str, str]) -> list[dict]:
        """Fields whose question appeared, went or was replaced since the last read. The first read
        reports only the fields that have no question on the form."""
        d = self.definition
        if not isinstance(before, dict):
            before = {c: now[c] for c in d.columns if c in now}
        out = []
        for c in d.columns:
            old, new = before.get(c), now.get(c)
            if c in before and old == new:
                continue
            if new is None:
                required = c in ("region", "period") or d.field(c).required
                out.append(self._drift("removed", field=c, old=old, effect=(
                    "the form has no question for this field" + (
                        ", so every response is refused as missing it" if required else
                        ", so it is empty in every response") + f"; run `forms-sync generate {d.id}`")))
            elif old is None:
                out.append(self._drift("added", field=c, column=new, effect="answers to it are read"))
            else:
                out.append(self._drift("replaced", field=c, old=old, column=new,
                                       effect="the question was replaced on the form; answers to both are read"))
        return out

    def _drift(self, change: str, **details) -> dict:
        return {"form": self.definition.id, "source": self.label, "change": change, **details}

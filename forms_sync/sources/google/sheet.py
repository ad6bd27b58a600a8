"""The `google_sheet` source: a tab of a Google Sheet (a form's response sheet, or one kept by hand).

Cells are read through gspread's HTTP client with valueRenderOption=UNFORMATTED_VALUE and
dateTimeRenderOption=SERIAL_NUMBER, never with get_all_records (which turns '007' into 7 and
'1,5' into 15): text stays exactly as typed, numbers and dates come as numbers. Each cell is then
written as the text the definition's locale reads back to the same value (as files.py does for
typed XLSX cells): numbers in the definition's locale, date serials in date fields as YYYY-MM-DD,
the timestamp column's serials, which are local to the spreadsheet's time zone, as UTC. The
spreadsheet's locale (for timestamps typed as text) and time zone come from its metadata.

Headers are matched as FORMAT.md §2 says, plus the " 2", " 3" ... suffix Sheets gives a column
whose question title repeats one already in the sheet (a question deleted and made again): those
columns feed the same field, the rightmost non-empty cell winning. Schema drift (a column renamed,
added or gone since the last read) is reported in the batch's drift, never silently dropped.

Cost: one values.get per sync while nothing changed (a hash of the values is kept in the
watermark); spreadsheets.get as well when something did, or on the first read.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zoneinfo

import pandas as pd

from forms_sync.config import Config, SourceConfig, column_mapping
from forms_sync.definition.model import FormDefinition, fold_header
from forms_sync.errors import ConfigError, UnreadableSource
from forms_sync.google.errors import GoogleRefused
from forms_sync.sources.base import EMAIL_HEADERS, TIMESTAMP_HEADERS, RawBatch, build_batch, header_targets
from forms_sync.sources.files import typed_cell_text
from forms_sync.sources.google.common import (SHEETS_READS, Calls, dump_mark, load_mark, log, pacer,
                                              session_for)

RENDER = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
          "majorDimension": "ROWS"}
META_FIELDS = "properties(locale,timeZone),sheets(properties(sheetId,title))"
_SERIAL_EPOCH = dt.datetime(1899, 12, 30)
_SERIAL_MAX = (dt.datetime(9999, 12, 31) - _SERIAL_EPOCH).days
_REPEAT = re.compile(r"(.*\S)\s+(\d+)")
TIMESTAMP = "(timestamp)"
EMAIL = "(email)"


def serial_to_datetime(value: float) -> dt.datetime | None:
    """A Sheets date serial (days since 1899-12-30, local time) to the millisecond; None if not a date."""
    if not 1 <= value <= _SERIAL_MAX:
        return None
    return _SERIAL_EPOCH + dt.timedelta(milliseconds=round(value * 86_400_000))


def serial_to_utc_text(value: float, tz: zoneinfo.ZoneInfo) -> str | None:
    local = serial_to_datetime(value)
    if local is None:
        return None
    utc = local.replace(tzinfo=tz).astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def cell_text(value, role: str, locale: str, tz: zoneinfo.ZoneInfo) -> str | None:
    """One UNFORMATTED cell as text the reader reads back to the same value."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if role == TIMESTAMP:
            return serial_to_utc_text(value, tz) or typed_cell_text(value, locale)
        if role == "date":
            moment = serial_to_datetime(value)
            return moment.date().isoformat() if moment else typed_cell_text(value, locale)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return typed_cell_text(value, locale)


MONTH_FIRST = {"en_US", "en_PH", "fil_PH", "es_US"}  # locales whose dates Sheets writes m/d/Y


def reading_locale(sheet_locale: str | None) -> str | None:
    """How to read timestamps the spreadsheet holds as text: only their day/month order matters, so
    `en` for the month-first locales and `id` (day first) for every other; None when unknown."""
    name = (sheet_locale or "").replace("-", "_")
    if not name:
        return None
    return "en" if name in MONTH_FIRST else "id"


def _header_text(value) -> str:
    return "" if value is None else typed_cell_text(value, "en") if not isinstance(value, str) else value


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


class GoogleSheetSource:
    """One tab of one spreadsheet bound to one definition."""

    def __init__(self, cfg: Config, definition: FormDefinition, source: SourceConfig):
        o = source.options
        self.cfg, self.definition = cfg, definition
        self.name = source.name
        sid = o.get("spreadsheet_id")
        if not isinstance(sid, str) or not sid.strip():
            raise ConfigError(f"sources[{source.index}] (form {definition.id}): a google_sheet source needs "
                              "spreadsheet_id (the long id in the sheet's URL, /spreadsheets/d/<id>/edit)")
        self.spreadsheet_id = sid.strip()
        self.sheet = o.get("sheet")
        if self.sheet is not None and not isinstance(self.sheet, str):
            raise ConfigError(f"sources[{source.index}].sheet: must be the tab's name, got {self.sheet!r}")
        self.locale = o.get("locale")
        if self.locale not in (None, "id", "en"):
            raise ConfigError(f"sources[{source.index}].locale: {self.locale!r} is not id or en")
        self.mapping = column_mapping(o)
        self.ignore = list(o.get("ignore_columns", []))
        self.label = f"google_sheet:{self.spreadsheet_id}" + (f"!{self.sheet}" if self.sheet else "")

    # --- the fetch -----------------------------------------------------------------------------

    def fetch(self, watermarks: dict[str, str], *, full: bool = False) -> tuple[list[RawBatch], dict[str, str], int]:
        session = session_for(self.cfg)
        calls = Calls(session, self.label, self.definition.id)
        with calls.accounted():
            return self._fetch(session, calls, watermarks, full)

    def _fetch(self, session, calls: Calls, watermarks: dict[str, str], full: bool):
        pace = pacer(self.cfg, SHEETS_READS)
        http = session.gspread().http_client
        mark = load_mark(watermarks.get(self.label))
        meta = mark.get("meta") if isinstance(mark.get("meta"), dict) else None
        if meta and self.sheet and str(meta.get("title", "")).casefold() != self.sheet.casefold():
            meta = None  # the config now names another tab
        fresh = meta is None
        if fresh:
            meta = self._metadata(http, calls, pace, None)
        try:
            values = self._values(http, calls, pace, meta["title"])
        except GoogleRefused as exc:
            if fresh or exc.status != 400:
                raise calls.failed("spreadsheets.values.get", str(exc)) from None
            meta, fresh = self._metadata(http, calls, pace, meta.get("sheetId")), True  # the tab was renamed?
            try:
                values = self._values(http, calls, pace, meta["title"])
            except GoogleRefused as again:
                raise calls.failed("spreadsheets.values.get", str(again)) from None
        rows = (values.get("values") or []) if isinstance(values, dict) else None
        if rows is None or not isinstance(rows, list):
            raise calls.failed("spreadsheets.values.get", "Google answered with something that is not a range of cells")
        # What was read, and how it is read: a new column mapping or definition reads the sheet again.
        how = [self.mapping, self.ignore, self.locale, self.definition.content_hash]
        digest = hashlib.sha256(json.dumps([rows, how], ensure_ascii=False, separators=(",", ":"),
                                           default=str).encode()).hexdigest()
        if not full and digest == mark.get("hash"):
            return [], {}, calls.count
        if not fresh:  # something changed: take the locale and time zone as they are now
            meta = self._metadata(http, calls, pace, meta.get("sheetId"))
        batch, headers, fed = self._batch(rows, meta)
        batch.drift = self._drift(mark.get("fed"), mark.get("headers"), headers, fed)
        for entry in batch.drift:
            log.warning("form %s: %s: column %s %s: %s", self.definition.id, self.label, entry.get("column"),
                        entry["change"], entry["effect"])
        new_mark = {"hash": digest, "meta": meta, "headers": headers, "fed": fed}
        return [batch], {self.label: dump_mark(new_mark)}, calls.count

    def _metadata(self, http, calls: Calls, pace, sheet_id) -> dict:
        """Locale, time zone and the tab to read (the configured one, the same sheetId, or the first)."""
        got = calls.run(lambda: http.fetch_sheet_metadata(
            self.spreadsheet_id, params={"includeGridData": "false", "fields": META_FIELDS}), "spreadsheets.get", pace)
        props = got.get("properties") or {}
        tabs = [s.get("properties") or {} for s in got.get("sheets") or []]
        if not tabs:
            raise calls.failed("spreadsheets.get", "the spreadsheet has no tabs")
        if self.sheet:
            tab = next((t for t in tabs if t.get("title") == self.sheet), None) or next(
                (t for t in tabs if str(t.get("title", "")).casefold() == self.sheet.casefold()), None)
            if tab is None:
                raise UnreadableSource(f"{self.label}: the spreadsheet has no tab {self.sheet!r} (its tabs: "
                                       f"{', '.join(repr(t.get('title')) for t in tabs)}). Fix `sheet` in the source "
                                       f"of form {self.definition.id}; nothing of it was stored.")
        else:
            tab = next((t for t in tabs if sheet_id is not None and t.get("sheetId") == sheet_id), tabs[0])
        return {"locale": props.get("locale"), "timeZone": props.get("timeZone"), "title": tab.get("title"),
                "sheetId": tab.get("sheetId")}

    def _values(self, http, calls: Calls, pace, title: str) -> dict:
        return calls.run(lambda: http.values_get(self.spreadsheet_id, _quoted(title), params=RENDER),
                         "spreadsheets.values.get", pace, passthrough=(400,))

    # --- cells -> a batch ----------------------------------------------------------------------

    def _batch(self, rows: list[list], meta: dict) -> tuple[RawBatch, list[str], dict[str, str | None]]:
        """The batch, the header row as read, and the field each header feeds."""
        d = self.definition
        if not rows or not any(str(h).strip() for h in rows[0] if h is not None):
            raise UnreadableSource(f"{self.label}: tab {meta.get('title')!r} has no header row. Row 1 must hold the "
                                   f"column titles (the questions); nothing of form {d.id} was stored.")
        headers = [_header_text(h) for h in rows[0]]
        width = max(len(headers), *(len(r) for r in rows[1:])) if len(rows) > 1 else len(headers)
        headers += [""] * (width - len(headers))
        try:
            tz = zoneinfo.ZoneInfo(meta.get("timeZone") or self.cfg.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = zoneinfo.ZoneInfo(self.cfg.timezone)
        groups, fed = self._columns(headers)
        kept_headers = [text for text, _, _ in groups]
        body, record_numbers = [], []
        for n, raw in enumerate(rows[1:], start=1):
            if not any(c not in (None, "") for c in raw):
                continue  # a blank row between responses is no submission
            raw = list(raw) + [None] * (width - len(raw))
            cells = []
            for (_, positions, role) in groups:
                text = None
                for p in positions:  # a repeated title: the rightmost non-empty cell wins
                    t = cell_text(raw[p], role, d.locale, tz)
                    if t is not None and t.strip():
                        text = t
                cells.append(text)
            body.append(cells)
            record_numbers.append(n)
        cells = pd.DataFrame(body, columns=range(len(groups)), dtype="str") if body else \
            pd.DataFrame(columns=range(len(groups)), dtype="str")
        ts_locale = self.locale or reading_locale(meta.get("locale")) or d.locale
        batch = build_batch(d, self.label, kept_headers, cells, locale=ts_locale, timezone=str(tz),
                            mapping=self.mapping, ignore=self.ignore)
        batch.frame["_row"] = record_numbers
        for _text, positions, _role in groups:
            field = fed.get(headers[positions[0]])
            if len(positions) > 1 and field in batch.columns:
                batch.columns[field] = " | ".join(headers[p] for p in positions)
        return batch, headers, fed

    def _columns(self, headers: list[str]) -> tuple[list[tuple[str, list[int], str]], dict[str, str | None]]:
        """Group the columns that feed one field (a title and its " 2", " 3" repeats), each group with
        the role that decides how its numbers are read; and which field each header feeds (drift)."""
        d = self.definition
        targets = header_targets(d, self.mapping)
        multi = {fold_header(c): f for f, cols in self.mapping.items() if len(cols) > 1 for c in cols}
        known = (set(targets) | set(multi) | {fold_header(c) for c in self.ignore} | TIMESTAMP_HEADERS
                 | EMAIL_HEADERS)
        groups: list[list] = []  # [header text, [(rank, position)], field]
        by_base: dict[str, list] = {}
        fed: dict[str, str | None] = {}
        for i, h in enumerate(headers):
            key = fold_header(h)
            base, text, rank = key, h, 1
            m = _REPEAT.fullmatch(h.strip()) if key and key not in known else None
            if m and int(m.group(2)) >= 2 and fold_header(m.group(1)) in targets:
                base, text, rank = fold_header(m.group(1)), m.group(1), int(m.group(2))
            field = targets.get(base) or multi.get(key) or (
                TIMESTAMP if key in TIMESTAMP_HEADERS else EMAIL if key in EMAIL_HEADERS else None)
            if h.strip():
                fed[h] = field
            group = by_base.get(base) if base in targets else None
            # A repeat joins its title's column; a second plain copy of a title stays apart (duplicate_column).
            if group is not None and (rank > 1 or all(r > 1 for r, _ in group[1])):
                group[1].append((rank, i))
                if rank == 1:
                    group[0] = h
                continue
            group = [text, [(rank, i)], field]
            groups.append(group)
            if base in targets:
                by_base.setdefault(base, group)
        out = []
        for text, members, field in groups:
            if field == TIMESTAMP:
                role = TIMESTAMP
            elif field in d.field_names and d.field(field).type == "date":
                role = "date"
            else:
                role = "value"
            out.append((text, [i for _, i in sorted(members)], role))
        return out, fed

    # --- drift ---------------------------------------------------------------------------------

    def _drift(self, before: dict | None, before_headers: list | None, headers: list[str],
               fed: dict[str, str | None]) -> list[dict]:
        """Columns renamed, added or gone since the last read, and what that does to the fields.
        A header gone and another new at the same place in the header row count as a rename."""
        if not isinstance(before, dict) or not isinstance(before_headers, list):
            return []
        old = {fold_header(h): (i, h) for i, h in enumerate(before_headers) if str(h).strip()}
        new = {fold_header(h): (i, h) for i, h in enumerate(headers) if str(h).strip()}
        gone = [k for k in old if k not in new]
        came = [k for k in new if k not in old]
        still_fed = {f for f in fed.values() if f}
        renamed: dict[str, str] = {}
        for g in gone:
            same_place = [c for c in came if new[c][0] == old[g][0]]
            if same_place:
                renamed[g] = same_place[0]
        out = []
        for g in gone:
            h, was = old[g][1], before.get(old[g][1])
            if g in renamed:
                now_h = new[renamed[g]][1]
                out.append(self._entry("renamed", now_h, old=h, field=fed.get(now_h), was=was,
                                       effect=self._effect(was, fed.get(now_h), still_fed, column_now=True)))
            else:
                out.append(self._entry("removed", h, field=None, was=was,
                                       effect=self._effect(was, None, still_fed, column_now=False)))
        for c in came:
            if c not in renamed.values():
                h = new[c][1]
                out.append(self._entry("added", h, field=fed.get(h), was=None,
                                       effect=self._effect(None, fed.get(h), still_fed, column_now=True)))
        return out

    def _effect(self, was: str | None, becomes: str | None, still_fed: set, *, column_now: bool) -> str:
        """What a column change does to the field it fed (`was`), and what the column now is read as."""
        d = self.definition
        if was and was == becomes:
            return f"still read as {was}"
        fix = "; rename the column back, or map it in the source's columns"
        parts = []
        if was in still_fed:
            parts.append(f"{was} is still read from another column")
        elif was == TIMESTAMP:
            parts.append("rows have no submission time now, so the latest row wins by its place" + fix)
        elif was == EMAIL:
            parts.append("respondent e-mails are no longer read")
        elif was in ("region", "period") or (was and d.field(was).required):
            parts.append(f"required field {was} has no column: the whole sheet is refused (missing_column)" + fix)
        elif was:
            parts.append(f"field {was} has no column: it is empty in every row from now on" + fix)
        if column_now:
            parts.append(f"the column is read as {becomes}" if becomes else
                         "the column matches no field and is ignored (unknown_column); map it in the source's "
                         "columns or list it in ignore_columns")
        return "; ".join(parts) or "it was not read; nothing is lost"

    def _entry(self, change: str, column: str, **details) -> dict:
        return {"form": self.definition.id, "source": self.label, "change": change, "column": column, **details}

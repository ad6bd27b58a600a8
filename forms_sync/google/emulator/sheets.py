"""Google Sheets API v4 reads: spreadsheets.get and values.get/batchGet, rendered like Google's.

What matters for a sync is how Sheets re-types what people entered: in FORMATTED_VALUE numbers
and dates come back written in the spreadsheet's locale ("1234,5", "03/12/2026 09:15:02" in
id_ID), in UNFORMATTED_VALUE as numbers and date serials; trailing empty cells and rows are
dropped. Cells are seeded through the admin endpoints with their type, as Sheets stores them.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import secrets

from forms_sync.google.emulator.errors import ApiError, invalid_argument, not_found

_SERIAL_EPOCH = dt.datetime(1899, 12, 30)
_DECIMAL_COMMA = {"id", "in", "de", "fr", "es", "it", "pt", "nl", "ru", "tr", "vi", "da", "sv", "nb", "fi", "pl"}
# (date, date-time) patterns of a few locales; anything else renders like en_US.
_PATTERNS = {
    "en_US": ("{m}/{d}/{Y}", "{m}/{d}/{Y} {H}:{MM}:{SS}"),
    "en_GB": ("{dd}/{mm}/{Y}", "{dd}/{mm}/{Y} {HH}:{MM}:{SS}"),
    "id_ID": ("{dd}/{mm}/{Y}", "{dd}/{mm}/{Y} {HH}:{MM}:{SS}"),
    "in_ID": ("{dd}/{mm}/{Y}", "{dd}/{mm}/{Y} {HH}:{MM}:{SS}"),
}
_CELL = re.compile(r"([A-Za-z]{0,3})([0-9]*)")
MIN_ROWS, MIN_COLUMNS = 1000, 26


class SheetsBackend:
    def __init__(self, state: dict):
        self.state = state
        state.setdefault("spreadsheets", {})

    def _spreadsheet(self, spreadsheet_id: str) -> dict:
        book = self.state["spreadsheets"].get(spreadsheet_id)
        if book is None:
            raise not_found()
        return book

    # --- API ----------------------------------------------------------------------------------

    def get(self, spreadsheet_id: str, query: dict, base_url: str) -> dict:
        book = self._spreadsheet(spreadsheet_id)
        if query.get("includeGridData"):
            raise ApiError(501, "includeGridData is not emulated; read cells with values.get or batchGet.")
        return {
            "spreadsheetId": spreadsheet_id,
            "properties": copy.deepcopy(book["properties"]),
            "sheets": [{"properties": _sheet_properties(sheet, i)} for i, sheet in enumerate(book["sheets"])],
            "spreadsheetUrl": f"{base_url}/spreadsheets/d/{spreadsheet_id}/edit",
        }

    def values_get(self, spreadsheet_id: str, a1: str, query: dict) -> dict:
        book = self._spreadsheet(spreadsheet_id)
        return _value_range(book, a1, query)

    def values_batch_get(self, spreadsheet_id: str, query: dict) -> dict:
        book = self._spreadsheet(spreadsheet_id)
        ranges = query.get("ranges") or []
        return {"spreadsheetId": spreadsheet_id, "valueRanges": [_value_range(book, r, query) for r in ranges]}

    # --- admin --------------------------------------------------------------------------------

    def create(self, body: dict) -> dict:
        spreadsheet_id = body.get("spreadsheetId") or secrets.token_urlsafe(33)[:44]
        if spreadsheet_id in self.state["spreadsheets"]:
            raise invalid_argument(f"spreadsheet {spreadsheet_id} already exists")
        sheets = body.get("sheets") or [{"title": "Sheet1"}]
        book = {
            "properties": {"title": body.get("title", "Untitled spreadsheet"),
                           "locale": body.get("locale", "en_US"),
                           "autoRecalc": "ON_CHANGE",
                           "timeZone": body.get("timeZone", "Asia/Jakarta")},
            "sheets": [],
        }
        for i, sheet in enumerate(sheets):
            book["sheets"].append({"sheetId": sheet.get("sheetId", 0 if i == 0 else 1000 + i),
                                   "title": sheet.get("title", f"Sheet{i + 1}"),
                                   "rows": [_row(r) for r in sheet.get("rows", [])]})
        self.state["spreadsheets"][spreadsheet_id] = book
        return {"spreadsheetId": spreadsheet_id, **copy.deepcopy(book["properties"])}

    def fill(self, spreadsheet_id: str, body: dict) -> dict:
        """Append rows to a sheet, or replace its content ("mode": "replace")."""
        book = self._spreadsheet(spreadsheet_id)
        sheet = _find_sheet(book, body["sheet"]) if body.get("sheet") else book["sheets"][0]
        if sheet is None:
            raise invalid_argument(f"no sheet named {body['sheet']!r}")
        rows = [_row(r) for r in body.get("rows", [])]
        if body.get("mode", "append") == "replace":
            sheet["rows"] = rows
        else:
            sheet["rows"].extend(rows)
        return {"updatedRows": len(rows), "totalRows": len(sheet["rows"])}


def _sheet_properties(sheet: dict, index: int) -> dict:
    rows, cols = _grid_size(sheet)
    return {"sheetId": sheet["sheetId"], "title": sheet["title"], "index": index, "sheetType": "GRID",
            "gridProperties": {"rowCount": rows, "columnCount": cols}}


def _grid_size(sheet: dict) -> tuple[int, int]:
    width = max((len(r) for r in sheet["rows"]), default=0)
    return max(MIN_ROWS, len(sheet["rows"])), max(MIN_COLUMNS, width)


def _find_sheet(book: dict, title: str) -> dict | None:
    for sheet in book["sheets"]:
        if sheet["title"].casefold() == title.casefold():
            return sheet
    return None


# --- cells ------------------------------------------------------------------------------------

def _row(raw) -> list:
    if not isinstance(raw, list):
        raise invalid_argument("rows: each row must be a list of cells")
    return [_cell(c) for c in raw]


def _cell(raw):
    """A seeded cell: None/"" empty, str text, bool, number, {"date"}, {"datetime"}, {"value", "formatted"}."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return {"type": "bool", "value": raw}
    if isinstance(raw, (int, float)):
        return {"type": "number", "value": raw}
    if isinstance(raw, str):
        return {"type": "text", "value": raw}
    if isinstance(raw, dict):
        if "date" in raw:
            try:
                day = dt.date.fromisoformat(raw["date"])
            except (TypeError, ValueError):
                raise invalid_argument(f"cell {raw!r}: date must be YYYY-MM-DD") from None
            cell = {"type": "date", "value": (dt.datetime.combine(day, dt.time()) - _SERIAL_EPOCH).days}
        elif "datetime" in raw:
            try:
                moment = dt.datetime.fromisoformat(raw["datetime"])
            except (TypeError, ValueError):
                raise invalid_argument(f"cell {raw!r}: datetime must be YYYY-MM-DDTHH:MM:SS") from None
            delta = moment.replace(tzinfo=None) - _SERIAL_EPOCH
            cell = {"type": "datetime", "value": delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6}
        elif "value" in raw:
            cell = _cell(raw["value"])
            if cell is None:
                return None
        else:
            raise invalid_argument(f"cell {raw!r}: use a value, {{\"date\"}}, {{\"datetime\"}} or {{\"value\"}}")
        if "formatted" in raw:
            cell["formatted"] = str(raw["formatted"])
        return cell
    raise invalid_argument(f"cell {raw!r} is not a text, number, boolean, date or datetime")


def render(cell, value_render: str, datetime_render: str, locale: str):
    """A cell as values.get returns it; None for an empty cell."""
    if cell is None:
        return None
    if value_render == "FORMATTED_VALUE":
        return cell.get("formatted") or _format(cell, locale)
    kind, value = cell["type"], cell["value"]
    if kind in ("date", "datetime"):
        if datetime_render == "FORMATTED_STRING":
            return cell.get("formatted") or _format(cell, locale)
        return _plain_number(value)
    if kind == "number":
        return _plain_number(value)
    return value


def _plain_number(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _format(cell: dict, locale: str) -> str:
    kind, value = cell["type"], cell["value"]
    if kind == "text":
        return value
    if kind == "bool":
        return "TRUE" if value else "FALSE"
    if kind == "number":
        text = str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else format(value, ".15g")
        return text.replace(".", ",") if locale.split("_")[0] in _DECIMAL_COMMA else text
    moment = _SERIAL_EPOCH + dt.timedelta(days=value)
    moment = moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))
    date_pattern, datetime_pattern = _PATTERNS.get(locale, _PATTERNS["en_US"])
    parts = {"Y": f"{moment.year:04d}", "m": str(moment.month), "mm": f"{moment.month:02d}",
             "d": str(moment.day), "dd": f"{moment.day:02d}", "H": str(moment.hour),
             "HH": f"{moment.hour:02d}", "MM": f"{moment.minute:02d}", "SS": f"{moment.second:02d}"}
    return (date_pattern if kind == "date" else datetime_pattern).format(**parts)


# --- ranges -----------------------------------------------------------------------------------

def _value_range(book: dict, a1: str, query: dict) -> dict:
    sheet, (r0, c0, r1, c1) = _parse_range(book, a1)
    value_render = query.get("valueRenderOption", "FORMATTED_VALUE")
    datetime_render = query.get("dateTimeRenderOption", "SERIAL_NUMBER")
    major = query.get("majorDimension", "ROWS")
    if major == "DIMENSION_UNSPECIFIED":
        major = "ROWS"
    locale = book["properties"]["locale"]
    grid = []
    for row in sheet["rows"][r0 - 1:r1]:
        grid.append([render(row[c - 1] if c - 1 < len(row) else None, value_render, datetime_render, locale)
                     for c in range(c0, c1 + 1)])
    if major == "COLUMNS":
        grid = [list(col) for col in zip(*grid)] if grid else []
    values = _trim(grid)
    answer = {"range": _a1_text(sheet["title"], r0, c0, r1, c1), "majorDimension": major}
    if values:
        answer["values"] = values
    return answer


def _trim(grid: list[list]) -> list[list]:
    """Google drops trailing empty cells of each row and trailing empty rows; a gap row becomes []."""
    rows = []
    for row in grid:
        while row and row[-1] in (None, ""):
            row = row[:-1]
        rows.append(["" if v is None else v for v in row])
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _parse_range(book: dict, a1: str) -> tuple[dict, tuple[int, int, int, int]]:
    text = a1.strip()
    sheet_part, cells = None, text
    if "!" in text:
        sheet_part, cells = text.rsplit("!", 1)
    elif _find_sheet(book, _unquote(text)) is not None:
        sheet_part, cells = text, ""
    if sheet_part is None:
        sheet = book["sheets"][0]
    else:
        sheet = _find_sheet(book, _unquote(sheet_part))
        if sheet is None:
            raise invalid_argument(f"Unable to parse range: {a1}")
    rows, cols = _grid_size(sheet)
    if not cells:
        return sheet, (1, 1, rows, cols)
    ends = cells.split(":")
    if len(ends) > 2:
        raise invalid_argument(f"Unable to parse range: {a1}")
    parsed = []
    for end in ends:
        m = _CELL.fullmatch(end)
        if not m or not (m.group(1) or m.group(2)):
            raise invalid_argument(f"Unable to parse range: {a1}")
        parsed.append((_column_number(m.group(1)) if m.group(1) else None, int(m.group(2)) if m.group(2) else None))
    (ca, ra), (cb, rb) = parsed[0], parsed[-1]
    if len(parsed) == 1:
        if ca is None or ra is None:
            raise invalid_argument(f"Unable to parse range: {a1}")
        return sheet, (ra, ca, ra, ca)
    r0, c0 = ra or 1, ca or 1
    r1, c1 = rb or rows, cb or cols
    if r1 < r0 or c1 < c0:
        raise invalid_argument(f"Unable to parse range: {a1}")
    return sheet, (r0, c0, max(r1, r0), max(c1, c0))


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == "'":
        return name[1:-1].replace("''", "'")
    return name


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def _a1_text(title: str, r0: int, c0: int, r1: int, c1: int) -> str:
    name = title if re.fullmatch(r"[A-Za-z0-9_]+", title) else "'" + title.replace("'", "''") + "'"
    return f"{name}!{_column_letters(c0)}{r0}:{_column_letters(c1)}{r1}"

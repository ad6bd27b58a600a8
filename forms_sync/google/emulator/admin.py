"""A small client for the emulator's /_emulator/ admin endpoints (sandbox CLI, tests, seeding)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request


class EmulatorAdminError(Exception):
    """The emulator answered an admin request with an error, or could not be reached."""


class EmulatorAdmin:
    def __init__(self, root: str, timeout: float = 30.0):
        self.root = root.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self.root + "/_emulator" + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = str(exc)
            raise EmulatorAdminError(message) from None
        except (urllib.error.URLError, OSError) as exc:
            raise EmulatorAdminError(f"the sandbox at {self.root} cannot be reached ({exc}); "
                                     "start it with `forms-sync sandbox serve`") from None

    def health(self) -> bool:
        return bool(self._call("GET", "/health").get("ok"))

    def calls(self) -> dict[str, int]:
        return self._call("GET", "/calls")

    def reset_calls(self) -> None:
        self._call("DELETE", "/calls")

    def inject(self, status: int | None = None, *, count: int = 1, method: str | None = None,
               delay: float = 0.0) -> None:
        self._call("POST", "/faults", {"status": status, "count": count, "method": method, "delay": delay})

    def forms(self) -> list[dict]:
        return self._call("GET", "/forms")["forms"]

    def submit(self, form_id: str, answers: dict, *, submitted_at: str | None = None,
               strict: bool = True) -> dict:
        """Answer a form as a respondent; `answers` maps question titles (or ids) to a value or list."""
        body = {"answers": answers, "strict": strict}
        if submitted_at:
            body["submittedAt"] = submitted_at
        return self._call("POST", f"/forms/{form_id}/responses", body)

    def submit_many(self, form_id: str, responses: list[dict], *, strict: bool = True) -> list[str]:
        """Many responses in one request: each {"answers": ..., "submittedAt"?: ...}; returns their ids."""
        return self._call("POST", f"/forms/{form_id}/responses",
                          {"responses": responses, "strict": strict})["responseIds"]

    def edit_response(self, form_id: str, response_id: str, answers: dict, *,
                      submitted_at: str | None = None, strict: bool = True) -> dict:
        body = {"answers": answers, "strict": strict}
        if submitted_at:
            body["submittedAt"] = submitted_at
        return self._call("PATCH", f"/forms/{form_id}/responses/{response_id}", body)

    def delete_response(self, form_id: str, response_id: str) -> None:
        self._call("DELETE", f"/forms/{form_id}/responses/{response_id}")

    def create_spreadsheet(self, *, title: str = "Responses", locale: str = "en_US",
                           time_zone: str = "Asia/Jakarta", sheets: list[dict] | None = None,
                           spreadsheet_id: str | None = None) -> str:
        body = {"title": title, "locale": locale, "timeZone": time_zone, "sheets": sheets or [{"title": "Sheet1"}]}
        if spreadsheet_id:
            body["spreadsheetId"] = spreadsheet_id
        return self._call("POST", "/spreadsheets", body)["spreadsheetId"]

    def fill_spreadsheet(self, spreadsheet_id: str, rows: list[list], *, sheet: str | None = None,
                         replace: bool = False) -> dict:
        body = {"rows": rows, "mode": "replace" if replace else "append"}
        if sheet:
            body["sheet"] = sheet
        return self._call("POST", f"/spreadsheets/{spreadsheet_id}/values", body)

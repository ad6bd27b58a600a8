"""The emulator's HTTP server: routing, auth, fault injection, call counts and admin endpoints.

Run it in-process for tests (`with run_emulator() as emu: emu.root`) or in the foreground as
`forms-sync sandbox serve`. API paths are the real ones (`/v1/forms/{id}:batchUpdate`,
`/v4/spreadsheets/{id}/values/{range}`), so a client only changes its API root; admin endpoints
live under `/_emulator/` and need no token:

  GET    /_emulator/calls                       calls per API method; DELETE resets
  POST   /_emulator/faults                      {"status": 503, "count": 3, "method"?, "delay"?}
  GET    /_emulator/forms                       forms with their titles and response counts
  POST   /_emulator/forms/{id}/responses        {"answers": {title or questionId: value(s)}} or
                                                {"responses": [...]} for many; "strict": false skips checks
  PATCH  /_emulator/forms/{id}/responses/{rid}  edit a response (lastSubmittedTime moves on)
  DELETE /_emulator/forms/{id}/responses/{rid}
  POST   /_emulator/spreadsheets                {"title", "locale", "timeZone", "sheets": [{"title", "rows"}]}
  POST   /_emulator/spreadsheets/{id}/values    {"sheet"?, "rows": [...], "mode": "append" | "replace"}
  POST   /_emulator/reset                       forget everything
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from forms_sync.google.emulator import auth, discovery, partial
from forms_sync.google.emulator.errors import ApiError, invalid_argument, not_found
from forms_sync.google.emulator.forms import FormsBackend
from forms_sync.google.emulator.sheets import SheetsBackend
from forms_sync.google.emulator.timestamps import Clock

log = logging.getLogger(__name__)

TOKEN_PATH = "/token"
TOKEN_METHOD = "oauth2.token"


@dataclass
class Fault:
    """Answer the next `count` matching calls with `status` (None: answer normally) after `delay` s."""

    status: int | None
    count: int
    method: str | None = None  # an API method name ("forms.create"); None: every API method
    delay: float = 0.0

    def matches(self, method: str) -> bool:
        if self.method is None:
            return method != TOKEN_METHOD
        return self.method == method


class Emulator:
    """State and behaviour, independent of HTTP so tests can also drive it directly."""

    def __init__(self, state_file: str | os.PathLike | None = None):
        self.state_file = Path(state_file) if state_file else None
        self.state: dict = {}
        if self.state_file and self.state_file.exists():
            self.state = json.loads(self.state_file.read_text(encoding="utf-8"))
        self.lock = threading.RLock()
        self.clock = Clock()
        self.forms = FormsBackend(self.state, self.clock)
        self.sheets = SheetsBackend(self.state)
        self.tokens = auth.TokenStore()
        self.apis = [discovery.load_api("forms", "v1"), discovery.load_api("sheets", "v4")]
        self._calls: Counter = Counter()
        self._faults: list[Fault] = []
        self.root: str | None = None  # set once the server listens

    # --- Python-side admin (tests) -------------------------------------------------------------

    def calls(self) -> dict[str, int]:
        with self.lock:
            return dict(self._calls)

    def reset_calls(self) -> None:
        with self.lock:
            self._calls.clear()

    def inject(self, status: int | None = None, *, count: int = 1, method: str | None = None,
               delay: float = 0.0) -> None:
        """Make the next `count` calls (of `method`) fail with `status` and/or answer after `delay` s."""
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error code")
        with self.lock:
            self._faults.append(Fault(status, count, method, delay))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def submit(self, form_id: str, answers: dict, **kwargs) -> dict:
        with self.lock:
            response = self.forms.submit(form_id, answers, **kwargs)
            self._save()
            return response

    # --- request handling ----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, query: dict[str, list[str]], headers, body: bytes,
               base_url: str) -> tuple[int, dict | str]:
        """(HTTP status, JSON body or plain text) for one request."""
        try:
            if raw_path == TOKEN_PATH and method == "POST":
                return self._token(body)
            if raw_path.startswith("/_emulator/"):
                return 200, self._admin(method, raw_path, body)
            if raw_path.startswith("/forms/d/e/"):
                return 200, self._viewform(raw_path)
            return 200, self._api(method, raw_path, query, headers, body, base_url)
        except ApiError as exc:
            return exc.code, exc.body()

    def _token(self, body: bytes) -> tuple[int, dict]:
        self._count_and_fault(TOKEN_METHOD)
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        try:
            return 200, auth.token_response(self.tokens, form)
        except auth.OAuthError as exc:
            return 400, exc.body()

    def _count_and_fault(self, name: str) -> None:
        with self.lock:
            self._calls[name] += 1
            fault = next((f for f in self._faults if f.matches(name)), None)
            if fault:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
        if fault:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status:
                raise ApiError(fault.status)

    def _api(self, method, raw_path, query, headers, body, base_url):
        found = discovery.match(self.apis, method, raw_path)
        if found is None:
            raise not_found(f"Method not found: {method} {raw_path}")
        api, meth, path_params = found
        self._count_and_fault(meth.name)
        auth.authorize(self.tokens, headers.get("Authorization"), meth.scopes)
        params = discovery.check_query(api, meth, query)
        payload = None
        if meth.request_ref:
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                raise invalid_argument("Invalid JSON payload received. Unexpected token.") from None
            payload = discovery.check_body(api, meth.request_ref, payload)
        with self.lock:
            result = self._dispatch(meth.name, path_params, params, payload, base_url)
            if method != "GET":
                self._save()
        if "fields" in params:
            result = partial.select(result, partial.parse_fields(params["fields"]))
        return result

    def _dispatch(self, name, p, q, body, base_url):
        f, s = self.forms, self.sheets
        routes = {
            "forms.create": lambda: f.create(body, q, base_url),
            "forms.get": lambda: f.get(p["formId"]),
            "forms.batchUpdate": lambda: f.batch_update(p["formId"], body),
            "forms.setPublishSettings": lambda: f.set_publish_settings(p["formId"], body),
            "forms.responses.list": lambda: f.list_responses(p["formId"], q),
            "forms.responses.get": lambda: f.get_response(p["formId"], p["responseId"]),
            "spreadsheets.get": lambda: s.get(p["spreadsheetId"], q, base_url),
            "spreadsheets.values.get": lambda: s.values_get(p["spreadsheetId"], p["range"], q),
            "spreadsheets.values.batchGet": lambda: s.values_batch_get(p["spreadsheetId"], q),
        }
        if name not in routes:
            raise ApiError(501, f"{name} is not emulated by forms-sync's sandbox.", "UNIMPLEMENTED")
        return routes[name]()

    def _admin(self, method: str, raw_path: str, body: bytes):
        path = urllib.parse.unquote(raw_path[len("/_emulator"):]).rstrip("/")
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise invalid_argument("admin request body must be JSON") from None
        with self.lock:
            result = self._admin_route(method, path, data)
            if method != "GET" and not path.startswith(("/calls", "/faults")):
                self._save()
            return result

    def _admin_route(self, method: str, path: str, data: dict):
        if path == "/health":
            return {"ok": True}
        if path == "/calls":
            if method == "DELETE":
                self._calls.clear()
            return dict(self._calls)
        if path == "/faults":
            if method == "POST":
                self.inject(data.get("status"), count=int(data.get("count", 1)), method=data.get("method"),
                            delay=float(data.get("delay", 0)))
            elif method == "DELETE":
                self._faults.clear()
            return {"faults": [vars(f) for f in self._faults]}
        if path == "/reset" and method == "POST":
            for key in list(self.state):
                self.state[key].clear()
            self._calls.clear()
            self._faults.clear()
            return {"ok": True}
        if path == "/forms" and method == "GET":
            return {"forms": [{"formId": fid, "title": form["info"]["title"], "revisionId": form["revisionId"],
                               "responses": len(self.state["responses"].get(fid, {})),
                               "publishState": form.get("publishSettings", {}).get("publishState")}
                              for fid, form in self.state["forms"].items()]}
        m = re.fullmatch(r"/forms/([^/]+)/responses(?:/([^/]+))?", path)
        if m:
            return self._admin_responses(method, m.group(1), m.group(2), data)
        if path == "/spreadsheets" and method == "POST":
            return self.sheets.create(data)
        m = re.fullmatch(r"/spreadsheets/([^/]+)/values", path)
        if m and method == "POST":
            return self.sheets.fill(m.group(1), data)
        raise not_found(f"no admin endpoint {method} /_emulator{path}")

    def _admin_responses(self, method, form_id, response_id, data):
        strict = data.get("strict", True)
        if method == "POST" and response_id is None:
            if "responses" in data:
                ids = [self.forms.submit(form_id, r.get("answers", {}), submitted_at=r.get("submittedAt"),
                                         created_at=r.get("createdAt"), strict=strict)["responseId"]
                       for r in data["responses"]]
                return {"responseIds": ids}
            return self.forms.submit(form_id, data.get("answers", {}), submitted_at=data.get("submittedAt"),
                                     created_at=data.get("createdAt"), strict=strict)
        if method == "PATCH" and response_id:
            return self.forms.edit_response(form_id, response_id, data.get("answers", {}),
                                            submitted_at=data.get("submittedAt"), strict=strict)
        if method == "DELETE" and response_id:
            self.forms.delete_response(form_id, response_id)
            return {}
        raise not_found(f"no admin endpoint {method} for responses")

    def _viewform(self, raw_path: str) -> str:
        for form_id, form in self.state.get("forms", {}).items():
            if form.get("responderUri", "").endswith(raw_path):
                return (f"forms-sync sandbox: form {form_id} ({form['info']['title']}).\n"
                        f"Answer it with: forms-sync sandbox submit {form_id} --answer \"Question=value\" ...\n")
        raise not_found()

    def _save(self) -> None:
        """Persist the state (atomically) when serving with --state."""
        if not self.state_file:
            return
        fd, tmp = tempfile.mkstemp(dir=self.state_file.parent or ".", prefix=".emulator-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self.state, out, ensure_ascii=False)
        os.replace(tmp, self.state_file)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "forms-sync-sandbox"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def _serve(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        status, answer = self.server.emulator.handle(
            self.command, parsed.path, urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            self.headers, body, f"http://{host}")
        if isinstance(answer, str):
            data, ctype = answer.encode("utf-8"), "text/plain; charset=UTF-8"
        else:
            data, ctype = json.dumps(answer, ensure_ascii=False).encode("utf-8"), "application/json; charset=UTF-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, fmt, *args):  # request line and status only: never headers or bodies
        if not self.server.quiet:
            log.info("%s %s", self.address_string(), fmt % args)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):  # the client gave up (e.g. its timeout)
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, emulator: Emulator, quiet: bool):
        super().__init__(address, _Handler)
        self.emulator = emulator
        self.quiet = quiet


@contextlib.contextmanager
def run_emulator(port: int = 0, *, state_file: str | os.PathLike | None = None, host: str = "127.0.0.1"):
    """Run the emulator in a background thread (port 0: a free one); yields it with `.root` set."""
    emulator = Emulator(state_file)
    server = _Server((host, port), emulator, quiet=True)
    emulator.root = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="forms-sync-emulator", daemon=True)
    thread.start()
    try:
        yield emulator
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve(host: str = "127.0.0.1", port: int = 8765, state_file: str | os.PathLike | None = None,
          ready=None) -> None:
    """Serve in the foreground until interrupted; `ready(root)` is called once it listens."""
    emulator = Emulator(state_file)
    with _Server((host, port), emulator, quiet=False) as server:
        emulator.root = f"http://{host}:{server.server_address[1]}"
        if ready:
            ready(emulator.root)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass

"""Routes and request checks taken from the discovery documents bundled with google-api-python-client.

The emulator is only worth having if it is as strict as Google: a request our client builds must be
refused here exactly when Google would refuse it (unknown field, wrong type, unknown enum value,
unknown query parameter). Deriving the checks from the same documents keeps the two in step.
"""
from __future__ import annotations

import functools
import json
import re
import urllib.parse
from dataclasses import dataclass

from forms_sync.google.emulator.errors import invalid_argument

_INT_RANGES = {"int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1),
               "int64": (-2**63, 2**63 - 1), "uint64": (0, 2**64 - 1)}


@dataclass(frozen=True)
class Method:
    """One REST method of a discovery document."""

    id: str          # "forms.forms.batchUpdate"
    name: str        # "forms.batchUpdate": the id without the API prefix, used for call counts
    http_method: str
    pattern: re.Pattern
    literal_length: int
    parameters: dict
    request_ref: str | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Api:
    name: str
    version: str
    doc: dict
    methods: tuple[Method, ...]

    @property
    def schemas(self) -> dict:
        return self.doc["schemas"]

    @property
    def global_parameters(self) -> dict:
        return self.doc.get("parameters", {})


@functools.lru_cache(maxsize=None)
def load_api(name: str, version: str) -> Api:
    from googleapiclient.discovery_cache import get_static_doc

    text = get_static_doc(name, version)
    if text is None:  # pragma: no cover - both documents ship with the client library
        raise RuntimeError(f"discovery document {name}.{version} is not bundled with googleapiclient")
    doc = json.loads(text)
    methods: list[Method] = []

    def walk(resources: dict) -> None:
        for resource in resources.values():
            for meth in resource.get("methods", {}).values():
                flat = meth.get("flatPath") or meth["path"]
                methods.append(Method(
                    id=meth["id"], name=meth["id"].split(".", 1)[1], http_method=meth["httpMethod"],
                    pattern=_path_regex(doc.get("servicePath", "") + flat),
                    literal_length=len(re.sub(r"\{[^}]+\}", "", flat)),
                    parameters=meth.get("parameters", {}), request_ref=meth.get("request", {}).get("$ref"),
                    scopes=tuple(meth.get("scopes", ()))))
            walk(resource.get("resources", {}))

    walk(doc.get("resources", {}))
    # Most literal text first: "values/{range}:append" must win over "values/{range}".
    methods.sort(key=lambda m: -m.literal_length)
    return Api(name, version, doc, tuple(methods))


def _path_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(f"(?P<{p[1:-1].replace('+', '')}>[^/]+)" if p.startswith("{") else re.escape(p)
                    for p in parts)
    return re.compile("/" + regex.lstrip("/") + "$")


def match(apis: list[Api], http_method: str, raw_path: str) -> tuple[Api, Method, dict] | None:
    """The method a request path names, with its path parameters decoded; None when none does."""
    for api in apis:
        for method in api.methods:
            if method.http_method != http_method:
                continue
            m = method.pattern.match(raw_path)
            if m:
                return api, method, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
    return None


def check_query(api: Api, method: Method, query: dict[str, list[str]]) -> dict:
    """Query parameters typed by the discovery document; 400 for unknown names or bad values."""
    out: dict = {}
    for name, values in query.items():
        spec = method.parameters.get(name) or api.global_parameters.get(name)
        if spec is None or spec.get("location") == "path":
            raise invalid_argument(f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                                   f"parameter. Field '{name}' could not be found in request message.")
        typed = [_query_value(name, spec, v) for v in values]
        out[name] = typed if spec.get("repeated") else typed[-1]
    return out


def _query_value(name: str, spec: dict, value: str):
    kind = spec.get("type")
    if "enum" in spec and value not in spec["enum"]:
        raise invalid_argument(f"Invalid value at '{snake(name)}' (TYPE_ENUM), \"{value}\"",
                               [(snake(name), f'Invalid value at \'{snake(name)}\' (TYPE_ENUM), "{value}"')])
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            raise invalid_argument(f"Invalid value at '{snake(name)}' (TYPE_INT32), \"{value}\"") from None
    if kind == "boolean":
        if value not in ("true", "false", "1", "0"):
            raise invalid_argument(f"Invalid value at '{snake(name)}' (TYPE_BOOL), \"{value}\"")
        return value in ("true", "1")
    return value


def check_body(api: Api, ref: str, body) -> dict:
    """The request body with field names normalised to lowerCamelCase; 400 listing every violation.

    Proto3 JSON accepts a field's lowerCamel and its original snake_case name; null means unset.
    """
    violations: list[tuple[str, str]] = []
    if not isinstance(body, dict):
        raise invalid_argument("Invalid JSON payload received. Expected an object at the top level.")
    normalised = _check_object(api, api.schemas[ref], body, "", violations)
    if violations:
        raise invalid_argument("\n".join(d for _, d in violations), violations)
    return normalised


def _check_object(api: Api, schema: dict, value: dict, path: str, violations: list) -> dict:
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    out: dict = {}
    for key, item in value.items():
        if extra is not None and not props:
            checked = _check_value(api, extra, item, f"{path}[{key}]", violations)
            if checked is not _UNSET:
                out[key] = checked
            continue
        name = key if key in props else camel(key)
        if name not in props:
            where = f" at '{path}'" if path else ""
            violations.append((path or key, f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                                            "Cannot find field."))
            continue
        child = f"{path}.{snake(name)}" if path else snake(name)
        checked = _check_value(api, props[name], item, child, violations)
        if checked is not _UNSET:
            out[name] = checked
    return out


_UNSET = object()


def _check_value(api: Api, spec: dict, value, path: str, violations: list):
    if value is None:
        return _UNSET
    if "$ref" in spec:
        spec = api.schemas[spec["$ref"]]
    kind = spec.get("type")
    fmt = spec.get("format")

    def bad(type_name: str):
        shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f'"{value}"'
        violations.append((path, f"Invalid value at '{path}' ({type_name}), {shown}"))
        return _UNSET

    if kind == "object":
        if not isinstance(value, dict):
            return bad("TYPE_MESSAGE")
        return _check_object(api, spec, value, path, violations)
    if kind == "array":
        if not isinstance(value, list):
            return bad("TYPE_LIST")
        out = []
        for i, item in enumerate(value):
            checked = _check_value(api, spec["items"], item, f"{path}[{i}]", violations)
            if checked is not _UNSET:
                out.append(checked)
        return out
    if kind == "boolean":
        return value if isinstance(value, bool) else bad("TYPE_BOOL")
    if kind == "integer" or (kind == "string" and fmt in ("int64", "uint64")):
        type_name = f"TYPE_{(fmt or 'int32').upper()}"
        number = _as_integer(value)
        if number is None:
            return bad(type_name)
        lo, hi = _INT_RANGES.get(fmt or "int32", _INT_RANGES["int64"])
        if not lo <= number <= hi:
            return bad(type_name)
        return str(number) if kind == "string" else number
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return bad("TYPE_DOUBLE")
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return bad("TYPE_DOUBLE")
        return value
    if kind == "string":
        if not isinstance(value, str):
            return bad("TYPE_ENUM" if "enum" in spec else "TYPE_STRING")
        if "enum" in spec and value not in spec["enum"]:
            return bad("TYPE_ENUM")
        return value
    return value  # "any"


def _as_integer(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    return None


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()

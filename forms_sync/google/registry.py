"""The lock file beside each definition: which Google Form it became, and its question ids.

`form_definitions/<id>.lock.json` is meant to be committed. It is what makes `generate`
idempotent (one definition never produces a second form) and what the Google intake uses to map
answers, which Google keys by questionId, back to field names.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from forms_sync.definition.model import FormDefinition, load_definition
from forms_sync.google.errors import RegistryError

LOCK_SUFFIX = ".lock.json"
FORMAT_VERSION = 1
_NOTE = ("Written by `forms-sync generate`. Commit it; do not edit it. It ties this definition to its "
         "Google Form: deleting it makes the next generate create a new form.")


@dataclass(frozen=True)
class RegistryItem:
    key: str  # "region", "period", a field name, or "section:<title>"
    item_id: str
    question_id: str | None = None


@dataclass(frozen=True)
class Registry:
    form: str
    form_id: str
    responder_uri: str
    revision_id: str
    definition_version: int
    content_hash: str
    state_hash: str  # forms-sync's canonical hash of the form content as last written
    items: tuple[RegistryItem, ...] = ()
    published: bool = False
    api_root: str | None = None  # None: Google itself; else the sandbox/emulator it was made on
    previous_question_ids: dict[str, str] = field(default_factory=dict)  # retired questionId -> key
    updated_at: str = ""

    @property
    def question_ids(self) -> dict[str, str]:
        """Field name (or "region"/"period") -> questionId of the question on the form now."""
        return {i.key: i.question_id for i in self.items if i.question_id}

    @property
    def item_ids(self) -> dict[str, str]:
        return {i.key: i.item_id for i in self.items}

    def field_for_question(self, question_id: str) -> str | None:
        """The field a questionId answers, including questions replaced since (older responses)."""
        for item in self.items:
            if item.question_id == question_id:
                return item.key
        return self.previous_question_ids.get(question_id)

    def to_json(self) -> str:
        data = {
            "_note": _NOTE,
            "format": FORMAT_VERSION,
            "form": self.form,
            "formId": self.form_id,
            "responderUri": self.responder_uri,
            "revisionId": self.revision_id,
            "definitionVersion": self.definition_version,
            "contentHash": self.content_hash,
            "stateHash": self.state_hash,
            "published": self.published,
            "apiRoot": self.api_root,
            "updatedAt": self.updated_at,
            "items": [{"key": i.key, "itemId": i.item_id, **({"questionId": i.question_id} if i.question_id else {})}
                      for i in self.items],
            "previousQuestionIds": self.previous_question_ids,
        }
        return _dump(data)

    @classmethod
    def from_json(cls, text: str, where: str = "lock file") -> "Registry":
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {data.get('format')!r} is not {FORMAT_VERSION}")
            return cls(
                form=data["form"], form_id=data["formId"], responder_uri=data.get("responderUri", ""),
                revision_id=data["revisionId"], definition_version=int(data["definitionVersion"]),
                content_hash=data["contentHash"], state_hash=data["stateHash"],
                items=tuple(RegistryItem(i["key"], i["itemId"], i.get("questionId")) for i in data["items"]),
                published=bool(data.get("published")), api_root=data.get("apiRoot"),
                previous_question_ids=dict(data.get("previousQuestionIds") or {}),
                updated_at=data.get("updatedAt", ""))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RegistryError(f"{where}: not a readable forms-sync lock file ({exc}); restore it from version "
                                "control rather than deleting it, or a second form would be created") from None

    def stamped(self, **changes) -> "Registry":
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return replace(self, updated_at=now, **changes)


def _dump(data: dict) -> str:
    """Indented JSON with one line per item, so a diff of the lock file reads like the form's diff."""
    parts = []
    for key, value in data.items():
        if key == "items" and value:
            text = "[\n" + ",\n".join("    " + json.dumps(v, ensure_ascii=False) for v in value) + "\n  ]"
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def lock_path(definition: FormDefinition) -> Path:
    """`<definition folder>/<id>.lock.json`."""
    if not definition.path:
        raise RegistryError(f"{definition.id}: the definition has no file path, so its lock file has no place")
    return Path(definition.path).parent / f"{definition.id}{LOCK_SUFFIX}"


def load_registry(definition_path_or_def: str | os.PathLike | FormDefinition) -> Registry | None:
    """The registry of a definition (a FormDefinition or the path of its YAML), or None if never generated."""
    definition = definition_path_or_def
    if not isinstance(definition, FormDefinition):
        definition = load_definition(definition)
    path = lock_path(definition)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    registry = Registry.from_json(text, str(path))
    if registry.form != definition.id:
        raise RegistryError(f"{path}: belongs to form {registry.form!r}, not {definition.id!r}")
    return registry


def save_registry(definition: FormDefinition, registry: Registry) -> Path:
    """Write the lock file atomically: a crash leaves the old file or the new one, never half of one."""
    path = lock_path(definition)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{definition.id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(registry.to_json())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def exclusive(folder: str | os.PathLike):
    """Hold an exclusive lock on the definitions folder, so two generates cannot both create a form.

    Uses flock on the directory itself (POSIX), which leaves no file behind to commit or clean up.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no concurrent-run protection
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RegistryError(f"another forms-sync generate is running on {folder}; wait for it to finish"
                                ) from None
        yield
    finally:
        os.close(fd)

"""`generate`: create or update one Google Form per definition, in place, in as few calls as possible.

New form: forms.create (title only, unpublished) -> one batchUpdate with every item ->
setPublishSettings when asked. Existing form: nothing at all when the definition (and the rolling
period window) still gives the form last written; otherwise forms.get, then one batchUpdate
guarded by writeControl.requiredRevisionId. A form edited by hand is refused unless `force`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from forms_sync.definition.model import FormDefinition
from forms_sync.google import builder
from forms_sync.google.client import GoogleSession, RetryPolicy
from forms_sync.google.credentials import SCOPES_GENERATE, SCOPES_PLAN
from forms_sync.google.errors import GoogleRefused, RegistryError
from forms_sync.google.registry import Registry, RegistryItem, exclusive, load_registry, lock_path, save_registry

log = logging.getLogger(__name__)

CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"
_PUBLISH_LINE = "+ publish (the form starts accepting responses)"


@dataclass
class GenerateResult:
    """What generate did (or, with dry_run, would do) for one definition."""

    form: str
    status: str  # created | updated | unchanged | refused
    dry_run: bool = False
    plan: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # API calls made, e.g. ["forms.get", "forms.batchUpdate"]
    form_id: str | None = None
    responder_uri: str | None = None
    lock_file: Path | None = None
    message: str = ""


def generate_forms(definitions: list[FormDefinition], *, dry_run: bool = False, publish: bool = False,
                   force: bool = False, credentials_path=None, today: dt.date | None = None,
                   period_window: tuple[int, int] = builder.DEFAULT_PERIOD_WINDOW,
                   retry: RetryPolicy | None = None, session: GoogleSession | None = None) -> list[GenerateResult]:
    """Bring every definition's Google Form in line with it; one result per definition.

    A refused form (edited by hand) does not stop the others; errors that stop everything
    (Google unreachable, bad credentials) raise FormsSyncError subclasses. With dry_run nothing is
    written: not to Google, not to the lock files. Credentials are loaded only if a call is needed.
    """
    today = today or dt.date.today()
    session = session or GoogleSession(SCOPES_PLAN if dry_run else SCOPES_GENERATE, credentials_path, policy=retry)
    folders = sorted({lock_path(d).parent for d in definitions})
    results = []
    with contextlib.ExitStack() as stack:
        if not dry_run:
            for folder in folders:
                stack.enter_context(exclusive(folder))
        for definition in definitions:
            first_call = len(session.calls)
            result = _generate_one(definition, session, dry_run=dry_run, publish=publish, force=force,
                                   today=today, period_window=period_window)
            result.calls = session.calls[first_call:]
            results.append(result)
    return results


def _generate_one(definition: FormDefinition, session: GoogleSession, *, dry_run: bool, publish: bool,
                  force: bool, today: dt.date, period_window: tuple[int, int]) -> GenerateResult:
    desired = builder.desired_form(definition, today=today, period_window=period_window)
    registry = load_registry(definition)
    result = GenerateResult(definition.id, UNCHANGED, dry_run=dry_run, lock_file=lock_path(definition))
    if registry is None:
        return _create(definition, desired, session, result, dry_run=dry_run, publish=publish)
    _check_root(registry, session.root, result.lock_file)
    result.form_id, result.responder_uri = registry.form_id, registry.responder_uri
    must_publish = publish and not registry.published
    # What was last written is what the definition asks for: no call at all. `force` reads the
    # form anyway, so it also undoes hand edits made while the definition stayed the same.
    if registry.state_hash == desired.state_hash and not force:
        if not dry_run and (registry.content_hash, registry.definition_version) != (
                definition.content_hash, definition.version):
            registry = _record(definition, registry.stamped(content_hash=definition.content_hash,
                                                            definition_version=definition.version))
        if must_publish:
            result.status, result.plan = UPDATED, [_PUBLISH_LINE]
            if not dry_run:
                _publish(definition, registry, session)
        result.message = "published" if must_publish else "already up to date"
        return result

    form = _get_form(session, registry, result.lock_file)
    plan = builder.plan_changes(form, desired, registry.item_ids)
    result.plan = plan.lines + ([_PUBLISH_LINE] if must_publish else [])
    actual = builder.form_state_hash(form)
    edited = form["revisionId"] != registry.revision_id and actual != registry.state_hash
    if edited and not plan.empty and not force:
        result.status = REFUSED
        result.message = (f"the form was edited outside forms-sync since the last generate (revision "
                          f"{form['revisionId']}, last written {registry.revision_id}). Review it"
                          f"{_edit_url(registry, session.root)}, then put the change into the definition, or "
                          "run generate --force to overwrite it with the definition (the plan shows what "
                          "--force would change)")
        return result
    result.status = UPDATED if not plan.empty or must_publish else UNCHANGED
    if dry_run:
        result.message = f"{len(result.plan)} change(s) planned" if result.plan else "already up to date"
        return result
    registry = _apply(definition, registry, desired, plan, form, session, result)
    if result.status == REFUSED:
        return result
    if must_publish:
        _publish(definition, registry, session)
    result.message = (f"{len(plan.lines)} change(s) applied" if not plan.empty else "already up to date") + (
        ", published" if must_publish else "")
    return result


def _create(definition, desired, session, result, *, dry_run: bool, publish: bool) -> GenerateResult:
    plan = builder.plan_changes({"info": {"title": desired.title}}, desired, {})
    result.status = CREATED
    result.plan = ["+ create form " + repr(desired.title)] + plan.lines + ([_PUBLISH_LINE] if publish else [])
    if dry_run:
        result.message = f"would create a form with {len(desired.items)} items"
        return result
    created = session.call(session.forms.forms().create(
        body={"info": {"title": desired.title, "documentTitle": desired.document_title}}, unpublished=True),
        "forms.create")
    registry = Registry(
        form=definition.id, form_id=created["formId"], responder_uri=created.get("responderUri", ""),
        revision_id=created["revisionId"], definition_version=definition.version,
        content_hash=definition.content_hash, state_hash=builder.form_state_hash(created),
        api_root=session.root).stamped()
    log.info("%s: created form %s", definition.id, registry.form_id)
    # Recorded before the items go in: if anything fails from here on, the next run fills this
    # form instead of creating a second one.
    registry = _record(definition, registry)
    result.form_id, result.responder_uri = registry.form_id, registry.responder_uri
    registry = _apply(definition, registry, desired, plan, created, session, result)
    if result.status == REFUSED:
        return result
    if publish:
        _publish(definition, registry, session)
    result.message = f"created with {len(desired.items)} items" + (", published" if publish else "")
    return result


def _apply(definition, registry: Registry, desired, plan: builder.Plan, form: dict, session,
           result: GenerateResult) -> Registry:
    """Send the plan as one batchUpdate (if not empty) and record the outcome in the lock file."""
    revision, replies = form["revisionId"], []
    if not plan.empty:
        try:
            answer = session.call(session.forms.forms().batchUpdate(formId=registry.form_id, body={
                "requests": plan.requests, "writeControl": {"requiredRevisionId": form["revisionId"]}}),
                "forms.batchUpdate")
        except GoogleRefused as exc:
            if exc.reason != "FAILED_PRECONDITION":
                raise
            result.status = REFUSED
            result.message = "the form changed while generate was running; run generate again"
            return registry
        revision, replies = answer["writeControl"]["requiredRevisionId"], answer.get("replies", [])
        log.info("%s: form %s now at revision %s (%d request(s))", definition.id, registry.form_id, revision,
                 len(plan.requests))
    items = _registry_items(desired, plan, replies)
    new_ids = {i.key: i.question_id for i in items if i.question_id}
    retired = {qid: key for key, qid in registry.question_ids.items() if new_ids.get(key) != qid}
    return _record(definition, registry.stamped(
        revision_id=revision, state_hash=desired.state_hash, items=items, content_hash=definition.content_hash,
        definition_version=definition.version,
        previous_question_ids={**registry.previous_question_ids, **retired}))


def _registry_items(desired, plan: builder.Plan, replies: list[dict]) -> tuple[RegistryItem, ...]:
    created = dict(zip(plan.created, [r["createItem"] for r in replies if "createItem" in r]))
    items = []
    for d in desired.items:
        if d.key in plan.kept:
            old = plan.kept[d.key]
            question_id = old.get("questionItem", {}).get("question", {}).get("questionId")
            items.append(RegistryItem(d.key, old["itemId"], question_id))
        else:
            reply = created[d.key]
            items.append(RegistryItem(d.key, reply["itemId"], (reply.get("questionId") or [None])[0]))
    return tuple(items)


def _publish(definition, registry: Registry, session) -> Registry:
    session.call(session.forms.forms().setPublishSettings(formId=registry.form_id, body={
        "publishSettings": {"publishState": {"isPublished": True, "isAcceptingResponses": True}},
        "updateMask": "publishState"}), "forms.setPublishSettings")
    return _record(definition, registry.stamped(published=True))


def _get_form(session, registry: Registry, lock_file: Path) -> dict:
    try:
        return session.call(session.forms.forms().get(formId=registry.form_id), "forms.get")
    except GoogleRefused as exc:
        if exc.status == 404:
            raise RegistryError(
                f"{registry.form}: form {registry.form_id} recorded in {lock_file} no longer exists or is not "
                f"shared with this account. If it was deleted on purpose, move {lock_file.name} away and run "
                "generate again to create a new form (its responses start empty)") from None
        raise


def _record(definition: FormDefinition, registry: Registry) -> Registry:
    save_registry(definition, registry)
    return registry


def _check_root(registry: Registry, root: str | None, lock_file: Path) -> None:
    if (registry.api_root or None) != (root or None):
        made_on = registry.api_root or "Google"
        now = root or "Google (FORMS_SYNC_GOOGLE_API_ROOT is not set)"
        raise RegistryError(f"{lock_file}: this form was generated on {made_on}, but the API root is now {now}. "
                            "Set FORMS_SYNC_GOOGLE_API_ROOT to match, or move the lock file away to create "
                            "a new form here")


def _edit_url(registry: Registry, root: str | None) -> str:
    return "" if root else f" at https://docs.google.com/forms/d/{registry.form_id}/edit"

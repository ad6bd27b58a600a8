"""The `generate` and `sandbox` commands: parse options, call the library, print, exit.

Registered on the main group by forms_sync.cli; usable on their own (e.g. with CliRunner) too,
since they turn FormsSyncError into one line on stderr and its exit code themselves.
"""
from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from forms_sync.errors import EXIT_USAGE, ConfigError, FormsSyncError

_CONFIG_DEFAULT = "forms-sync.toml"


def _one_line_errors(command):
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except FormsSyncError as exc:
            for line in str(exc).splitlines() or [exc.__class__.__name__]:
                click.echo(click.style("error: ", fg="red") + line, err=True)
            sys.exit(exc.exit_code)
    return run


def _settings(config_path: Path | None, definitions_dir: Path | None):
    """(definitions folder, GoogleSettings) from --config / ./forms-sync.toml / defaults."""
    from forms_sync.config import load_config
    from forms_sync.google.settings import GoogleSettings

    if config_path is None and Path(_CONFIG_DEFAULT).is_file():
        config_path = Path(_CONFIG_DEFAULT)
    config = load_config(config_path)
    google = GoogleSettings.from_table(config.google, config.base_dir)
    return definitions_dir or config.definitions_dir, google


def _select(folder: Path, ids: tuple[str, ...]):
    from forms_sync.definition.model import load_definitions

    if not folder.is_dir():
        raise ConfigError(f"definitions folder {folder} not found; give --definitions DIR or `definitions` in "
                          "the config")
    found = load_definitions(folder)
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise ConfigError(f"no definition with id {', '.join(unknown)} in {folder} "
                          f"(there are: {', '.join(found) or 'none'})")
    return [found[i] for i in ids] if ids else list(found.values())


@click.command("generate")
@click.argument("forms", nargs=-1, metavar="[FORM]...")
@click.option("--dry-run", is_flag=True, help="Print the plan as a diff; write nothing (no API write, no lock file).")
@click.option("--publish", is_flag=True, help="Publish the form(s) so they accept responses.")
@click.option("--force", is_flag=True,
              help="Make each form match its definition even if it was edited by hand (overwrites those edits).")
@click.option("--definitions", "definitions_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of definitions (default: `definitions` in the config, else form_definitions/).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help=f"Config file (default: ./{_CONFIG_DEFAULT} if present).")
@_one_line_errors
def generate_command(forms, dry_run, publish, force, definitions_dir, config_path):
    """Create or update the Google Form of each definition (default: all in the folder).

    Forms are updated in place: question ids of unchanged fields are kept, and
    form_definitions/<id>.lock.json records which form belongs to which definition (commit it).
    Exit 0: done; 2: usage, definition error, or a form edited by hand (see --force);
    3: Google unreachable or failing after retries.
    """
    from forms_sync.google.generate import REFUSED, generate_forms

    folder, google = _settings(config_path, definitions_dir)
    definitions = _select(folder, forms)
    results = generate_forms(definitions, dry_run=dry_run, publish=publish, force=force,
                             credentials_path=google.credentials, period_window=google.period_window,
                             retry=google.retry)
    for result in results:
        _print_result(result)
    refused = [r.form for r in results if r.status == REFUSED]
    if refused:
        click.echo(click.style("error: ", fg="red") + f"refused: {', '.join(refused)}", err=True)
        sys.exit(EXIT_USAGE)


def _print_result(result) -> None:
    from forms_sync.google.generate import CREATED, REFUSED, UNCHANGED

    colour = {CREATED: "green", REFUSED: "red", UNCHANGED: None}.get(result.status, "yellow")
    head = result.status if not result.dry_run else f"{result.status} (dry run: nothing written)"
    calls = f" [{len(result.calls)} API call{'s' if len(result.calls) != 1 else ''}]"
    click.echo(f"{result.form}: " + click.style(head, fg=colour, bold=True) + f" - {result.message}" + calls)
    if result.form_id and result.status != UNCHANGED:
        click.echo(f"  form {result.form_id}  {result.responder_uri or ''}")
    if result.dry_run or result.status != CREATED:  # a new form's items are listed by --dry-run
        for line in result.plan:
            click.echo("  " + click.style(line, fg={"+": "green", "-": "red", "~": "yellow"}.get(line[:1])))


@click.group("sandbox")
def sandbox_command():
    """A local stand-in for Google Forms, Sheets and OAuth, to try forms-sync without a Google account.

    Start it with `sandbox serve`, point forms-sync at it with
    FORMS_SYNC_GOOGLE_API_ROOT, and use `sandbox credentials` for a throwaway key.
    """


@sandbox_command.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the sandbox's forms and responses in this JSON file across restarts.")
def serve_command(host, port, state_file):
    """Run the sandbox in the foreground until Ctrl-C."""
    from forms_sync.google.client import API_ROOT_ENV
    from forms_sync.google.emulator import serve

    emulator_log = logging.getLogger("forms_sync.google.emulator")
    emulator_log.setLevel(logging.INFO)  # one line per request: method, path, status
    if not logging.getLogger().handlers:  # run on its own; under `forms-sync` the CLI's logging applies
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        emulator_log.addHandler(handler)

    def ready(root: str) -> None:
        click.echo(f"forms-sync sandbox listening on {root}" + (f", state in {state_file}" if state_file else ""))
        click.echo(f"  export {API_ROOT_ENV}={root}")
        click.echo("  forms-sync sandbox credentials   # once: a throwaway key for the sandbox")
        click.echo("Ctrl-C stops it.")

    try:
        serve(host, port, state_file, ready=ready)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


@sandbox_command.command("credentials")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("sandbox-credentials.json"),
              show_default=True, help="Where to write the key (never overwritten).")
def credentials_command(out):
    """Write a throwaway service-account key whose tokens come from the sandbox."""
    from forms_sync.google.sandbox import sandbox_key, write_key

    try:
        write_key(out, sandbox_key(_root(None)))
    except FileExistsError:
        raise click.ClickException(f"{out} exists; it is kept. Use it, or pass --out for another file") from None
    click.echo(f"wrote {out} (a sandbox-only key, readable by you alone)")
    click.echo(f"  export GOOGLE_APPLICATION_CREDENTIALS={out}")


def _root(root: str | None) -> str:
    from forms_sync.google.client import api_root
    from forms_sync.google.sandbox import SANDBOX_ROOT

    return root or api_root() or SANDBOX_ROOT


@sandbox_command.command("submit")
@click.argument("form")
@click.option("--answer", "-a", "answers", multiple=True, metavar="QUESTION=VALUE",
              help="An answer, by question title (or id); repeat a question for several checkboxes.")
@click.option("--at", "submitted_at", help="Submission time, RFC 3339 UTC (default: now).")
@click.option("--root", help="Sandbox URL (default: FORMS_SYNC_GOOGLE_API_ROOT, else http://127.0.0.1:8765).")
@click.option("--definitions", "definitions_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of definitions, to find FORM by definition id.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@_one_line_errors
def submit_command(form, answers, submitted_at, root, definitions_dir, config_path):
    """Answer FORM (a form id, or a definition id with a lock file) as a respondent would."""
    from forms_sync.google.emulator.admin import EmulatorAdmin, EmulatorAdminError

    form_id = _form_id(form, config_path, definitions_dir)
    values: dict[str, object] = {}
    for raw in answers:
        question, sep, value = raw.partition("=")
        if not sep or not question.strip():
            raise click.UsageError(f"--answer {raw!r}: write QUESTION=VALUE, e.g. \"Jumlah SD=1.234\"")
        question = question.strip()
        if question in values:
            previous = values[question]
            values[question] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            values[question] = value
    try:
        response = EmulatorAdmin(_root(root)).submit(form_id, values, submitted_at=submitted_at)
    except EmulatorAdminError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"response {response['responseId']} recorded at {response['lastSubmittedTime']}")


@sandbox_command.command("forms")
@click.option("--root", help="Sandbox URL (default: FORMS_SYNC_GOOGLE_API_ROOT, else http://127.0.0.1:8765).")
def forms_command(root):
    """List the sandbox's forms with their ids and response counts."""
    from forms_sync.google.emulator.admin import EmulatorAdmin, EmulatorAdminError

    try:
        forms = EmulatorAdmin(_root(root)).forms()
    except EmulatorAdminError as exc:
        raise click.ClickException(str(exc)) from None
    for f in forms:
        state = "published" if (f.get("publishState") or {}).get("isAcceptingResponses") else "not accepting"
        click.echo(f"{f['formId']}  {f['title']}  ({f['responses']} responses, {state})")
    if not forms:
        click.echo("no forms yet: run forms-sync generate --publish")


def _form_id(form: str, config_path: Path | None, definitions_dir: Path | None) -> str:
    """A definition id is looked up in its lock file; anything else is taken as a form id."""
    from forms_sync.definition.model import NAME_RE, load_definitions
    from forms_sync.google.registry import load_registry

    if not NAME_RE.match(form):
        return form
    folder, _ = _settings(config_path, definitions_dir)
    if not folder.is_dir():
        return form
    definition = load_definitions(folder).get(form)
    registry = load_registry(definition) if definition else None
    if definition and registry is None:
        raise ConfigError(f"{form} has no form yet: run forms-sync generate {form} --publish first")
    return registry.form_id if registry else form


__all__ = ["generate_command", "sandbox_command"]

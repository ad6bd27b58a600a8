"""The `forms-sync` command: parse options, call the library, print, map errors to exit codes.

Every command is a thin shell over a library function; no business logic lives here.
"""
from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forms_sync import __version__
from forms_sync.errors import EXIT_INTERNAL, EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE, FormsSyncError

# Wide enough for the summary tables when output goes to a log file rather than a terminal.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


class Group(click.Group):
    """Turns library errors into one clear line and a documented exit code; never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FormsSyncError as exc:
            for line in str(exc).splitlines() or [exc.__class__.__name__]:
                _error_line(line, exc.exit_code)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err.print("interrupted; nothing half-written was committed")
            sys.exit(130)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # stdout closed by a pager or `head`: click handles it
                raise
            _error_line(_os_error_line(exc), EXIT_UNREADABLE)
            sys.exit(EXIT_UNREADABLE)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a bug: one line here, the traceback in a file to send to us
            _error_line(_internal_error_line(exc, _crash_report(exc)), EXIT_INTERNAL)
            sys.exit(EXIT_INTERNAL)


def _error_line(line: str, exit_code: int) -> None:
    from forms_sync import logs
    if logs.json_mode():  # stderr stays one JSON object per line
        logging.getLogger("forms_sync.cli").error(line, extra={"exit": exit_code})
    else:
        err.print(f"[red]error:[/red] {escape(line)}")


def _crash_report(exc: Exception) -> Path | None:
    """Write the traceback of an unexpected error to a file in the temporary folder; its path, or
    None when even that cannot be written."""
    import datetime as dt
    import tempfile
    import traceback
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    try:  # gettempdir itself fails when no temporary folder can be written
        path = Path(tempfile.gettempdir()) / f"forms-sync-crash-{stamp}-{os.getpid()}.txt"
        path.write_text(f"forms-sync {__version__}, Python {sys.version.split()[0]}\n"
                        f"command: {' '.join(sys.argv)}\n\n"
                        + "".join(traceback.format_exception(exc)), encoding="utf-8")
    except OSError:
        return None
    return path


def _internal_error_line(exc: Exception, report: Path | None) -> str:
    what = f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0]}" if str(exc).strip() \
        else exc.__class__.__name__
    where = f"the details are in {report}" if report else "the details could not be written to a file"
    return (f"internal error ({what[:300]}). This is a bug in forms-sync, not in your data or setup; "
            f"{where}: please send it to the forms-sync maintainers.")


def _os_error_line(exc: OSError) -> str:
    """One line for an operating-system error that escaped a command: which file, why, what to do."""
    what = exc.strerror or exc.__class__.__name__
    if exc.errno == errno.ENOSPC or exc.errno == getattr(errno, "EDQUOT", None):
        todo = "free some disk space, then run the command again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        todo = "choose a folder you may write to (or fix its permissions), then run the command again"
    elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
        todo = "check that the folder exists and is a normal folder, then run the command again"
    else:
        todo = "check the path, the disk and its permissions, then run the command again"
    if exc.filename is None:
        return f"cannot write: {what}; {todo}"
    name = str(exc.filename)
    if exc.filename2 is not None:
        name += f" -> {exc.filename2}"
    return f"cannot write {name}: {what}; {todo}"


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forms-sync")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              envvar="FORMS_SYNC_LOG_FORMAT", help="Log lines on stderr: text, or JSON with a run_id on each.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, envvar="FORMS_SYNC_LOG_LEVEL")
def main(log_format, log_level):
    """Standard recap forms for Indonesian regions: definitions -> forms -> checked, clean tables."""
    from forms_sync import logs
    logs.setup(log_format, log_level)


@main.command()
@click.argument("definition", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--clean-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the accepted rows as canonical CSV.")
@click.option("--locale", type=click.Choice(["id", "en"]),
              help="How the file's timestamps are written (default: the definition's locale).")
@click.option("--timezone", default="Asia/Jakarta", show_default=True, help="Time zone of the timestamps.")
def validate(definition, input, fmt, clean_out, locale, timezone):
    """Check one response file (CSV/XLSX) against one definition; writes nothing else.

    Exit 0: nothing refused; 1: a row or the file refused; 2: usage or definition error;
    3: the file cannot be read at all.
    """
    from forms_sync.commands import validate_file

    try:
        outcome = validate_file(definition, input, locale=locale, timezone=timezone, clean_out=clean_out)
    except FormsSyncError as exc:
        if fmt == "json" and exc.exit_code == EXIT_UNREADABLE:
            from forms_sync.commands import unreadable_report
            click.echo(unreadable_report(definition, input, exc))
        raise
    if fmt == "json":
        click.echo(outcome.report_json())
    else:
        print_outcome(outcome)
    sys.exit(EXIT_REFUSED if outcome.refused else EXIT_OK)


def print_outcome(outcome) -> None:
    rep = outcome.report()
    colour = "red" if outcome.refused else "green"
    out.print(f"[bold]{escape(rep['file'])}[/bold] ({rep['form']}): {rep['rows']} rows, "
              f"[{colour}]{rep['accepted']} accepted, {rep['rejected']} rejected[/{colour}], "
              f"{rep['superseded']} superseded")
    if rep["errors"]:
        table = Table(show_lines=False, header_style="bold")
        for col in ("row", "field", "code", "message"):
            table.add_column(col, overflow="fold")
        for e in rep["errors"][:200]:
            style = "yellow" if e["level"] == "warning" else None
            table.add_row("" if e["row"] is None else str(e["row"]), e["field"] or "", e["code"],
                          escape(f"{e['message_id']}\n{e['message_en']}"), style=style)
        out.print(table)
        if len(rep["errors"]) > 200:
            out.print(f"... and {len(rep['errors']) - 200} more (use --format json for all)")
    if rep["superseded_rows"]:
        out.print(f"superseded by a later submission: rows {', '.join(map(str, rep['superseded_rows'][:50]))}")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="forms-sync.toml")
def check(paths, config):
    """Lint every definition (default: the config's definitions folder, or form_definitions/)."""
    from forms_sync.commands import check_definitions

    checked = check_definitions(paths, config)
    for d in checked:
        out.print(f"[green]ok[/green] {escape(str(d.path))} ({d.id} v{d.version}: {len(d.fields)} fields, "
                  f"{len(d.rules)} rule{'' if len(d.rules) == 1 else 's'})")


@main.command()
@click.argument("forms", nargs=-1)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default="forms-sync.toml", show_default=True)
@click.option("--full", is_flag=True, help="Re-read every source from the start (ignore watermarks).")
@click.option("--no-export", is_flag=True, help="Skip the CSV/Parquet/XLSX exports.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def sync(forms, config_path, full, no_export, fmt):
    """Read every source, check every submission, update the database and the exports.

    Exit 0: all accepted; 1: some rows or files refused (the rest landed); 2: config/definition
    error; 3: a source could not be read (that form committed nothing); 75: another sync is running.
    """
    from forms_sync.sync import run_sync

    result = run_sync(config_path, list(forms) or None, full=full, export=not no_export)
    if fmt == "json":
        import json
        from dataclasses import asdict
        click.echo(json.dumps({"run_id": result.run_id, "exit": result.exit_code,
                               "forms": [asdict(f) for f in result.forms]}, ensure_ascii=False, indent=2))
    else:
        print_sync(result)
    sys.exit(result.exit_code)


def print_sync(result) -> None:
    table = Table(title=f"sync run {result.run_id}", header_style="bold")
    for col in ("form", "status", "read", "new", "updated", "unchanged", "accepted", "rejected", "superseded"):
        table.add_column(col, justify="right" if col not in ("form", "status") else "left")
    for f in result.forms:
        colour = {"ok": "green", "refused": "yellow"}.get(f.status, "red")
        table.add_row(f.form, f"[{colour}]{f.status}[/{colour}]", *(str(getattr(f, k)) for k in
                      ("read", "new", "updated", "unchanged", "accepted", "rejected", "superseded")))
    out.print(table)
    for f in result.forms:  # files that were not read, or refused as a whole: name them under the table
        for entry in f.files:
            if entry.get("status") not in ("unreadable", "refused"):
                continue
            problems = [p for p in entry.get("problems") or [] if p.get("level", "error") == "error"]
            why = (f"{problems[0]['code']}: {problems[0]['message_en']}" if problems
                   else "the file was refused as a whole")
            out.print(f"{f.form}: {entry['status']} {escape(str(entry['source']))}: {escape(_one_line(why))}")
    log = logging.getLogger("forms_sync.sync")  # details go to the log (text or JSON, masked); a failed form was logged
    for f in result.forms:
        for entry in f.files:
            for p in entry.get("problems") or []:
                if p["level"] == "error":
                    log.warning("form %s: %s: %s: %s", f.form, entry["source"], p["code"], p["message_en"])
        if f.rejected:
            log.warning("form %s: %s submission(s) refused; details in table %s__rejected", f.form, f.rejected, f.form)


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@main.command()
@click.argument("form")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default="forms-sync.toml", show_default=True)
@click.option("--period", help="One period, e.g. 2026-11 or 'November 2026' (default: every period in scope).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(form, config_path, period, fmt):
    """Who has reported: accepted on time / late, rejected, missing, per period."""
    from forms_sync.commands import status_report

    report = status_report(config_path, form, period)
    if fmt == "json":
        import json
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    from forms_sync.reference.regions import load
    ref = load()
    table = Table(title=f"{form}: completeness", header_style="bold")
    for col in ("period", "expected", "on time", "late", "time unknown", "rejected", "missing"):
        table.add_column(col, justify="right" if col != "period" else "left")
    for p in report["periods"]:
        table.add_row(p["period"], str(p["expected"]), str(p["on_time"]), str(p["late"]),
                      str(p["accepted_unknown_time"]), str(len(p["rejected"])), str(len(p["missing"])))
    out.print(table)
    for p in report["periods"]:
        for what in ("rejected", "late_regions", "missing"):
            codes = p[what]
            if codes and len(codes) <= 60:
                names = ", ".join(ref.dropdown_label(c) for c in codes)
                out.print(f"[bold]{p['period']} {what.replace('_regions', '')}:[/bold] {escape(names)}")
            elif codes:
                out.print(f"[bold]{p['period']} {what.replace('_regions', '')}:[/bold] {len(codes)} regions "
                          "(--format json lists them)")


@main.command()
@click.argument("form")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="forms-sync.toml (for the definitions folder)")
@click.option("--definitions", type=click.Path(file_okay=False, path_type=Path), help="Definitions folder.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=".", show_default=True)
def template(form, config_path, definitions, out_dir):
    """Write FORM_template.csv and FORM_template.xlsx for regions to fill in and email back."""
    from forms_sync.commands import find_definition
    from forms_sync.templates import write_templates

    d = find_definition(form, config_path, definitions)
    for p in write_templates(d, out_dir):
        out.print(f"wrote {escape(str(p))}")


def _register_optional_commands() -> None:
    """Commands that live beside their library (Google, database migration)."""
    for module, names in (("forms_sync.google.commands", ("generate_command", "sandbox_command")),
                          ("forms_sync.store.commands", ("migrate_command",))):
        try:
            mod = __import__(module, fromlist=list(names))
        except ImportError:
            continue
        for n in names:
            if hasattr(mod, n):
                main.add_command(getattr(mod, n))


_register_optional_commands()

__all__ = ["main"]

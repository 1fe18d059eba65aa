"""`flowaudit report`: compare a stored session with its declaration and write the findings."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flowaudit.cli.common import InputError, StoreError, db_option, open_store
from flowaudit.core.model import Severity

SEVERITY_NAMES = [s.value for s in Severity]


@click.command("report")
@db_option
@click.option("--session", "session_name", required=True, help="The session to report on.")
@click.option("--declared", "declared", multiple=True, type=click.Path(dir_okay=False),
              help="Declaration file(s): YAML/JSON or published CSV/XLSX/MD/HTML lists (repeatable). "
                   "Default: the declaration stored for the session or its app.")
@click.option("--format", "fmt", type=click.Choice(["json", "html", "md", "csv", "xlsx", "sarif"]), default="html",
              show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Output file (default: stdout; xlsx needs -o).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Report language.")
@click.option("--fail-on", type=click.Choice(SEVERITY_NAMES), help="Exit 1 when a finding at or above this severity exists.")
@click.option("--no-store", is_flag=True, help="Do not replace the session's stored findings.")
def report_command(db: str, session_name: str, declared: tuple[str, ...], fmt: str, output: str | None, lang: str,
                   fail_on: str | None, no_store: bool) -> None:
    """Compare SESSION's traffic with the app's declaration and write a report: summary (SDKs and data
    types seen vs declared, findings by severity), every finding with its legal basis and evidence, the
    session timeline with markers, and the method. Findings are also stored in the database."""
    from flowaudit.compliance import render_report, run_comparison
    from flowaudit.db.engine import StorageError
    from flowaudit.declare_import import ImportError_, import_files
    from flowaudit.signature_db import default_index

    if fmt == "xlsx" and not output and sys.stdout.isatty():
        raise click.UsageError("xlsx is binary: give -o FILE")
    index = default_index()
    declaration, source = None, None
    if declared:
        try:
            declaration = import_files([Path(p) for p in declared], signatures=list(index.signatures.values())).declaration
        except ImportError_ as exc:
            raise InputError(str(exc)) from None
        source = ", ".join(Path(p).name for p in declared)
    store = open_store(db)
    try:
        result = run_comparison(store, session_name, index, declaration=declaration, declaration_source=source,
                                lang=lang, save=not no_store)
    except StorageError as exc:
        raise StoreError(str(exc)) from None
    finally:
        store.close()
    findings, report = result.findings, result.report
    data, _media = render_report(result, fmt)
    if output:
        Path(output).write_bytes(data)
        counts = ", ".join(f"{n} {sev}" for sev, n in report["summary"]["findings_by_severity"].items() if n)
        click.echo(f"{len(findings)} findings ({counts or 'none'}) -> {output}", err=True)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    if fail_on:
        threshold = Severity(fail_on)
        if any(f.severity.rank >= threshold.rank for f in findings):
            sys.exit(1)


COMMANDS = [report_command]

"""`flowaudit declare import|check|schema`: an app's published SDK and personal-information lists."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from flowaudit.cli.common import InputError, StoreError, db_option, open_store
from flowaudit.core.escaping import terminal_safe


def _import(files: tuple[str, ...], app_name: str | None = None, app_package: str | None = None,  # type: ignore[no-untyped-def]
            category: str | None = None, first_party: tuple[str, ...] = ()):
    from flowaudit.declare_import import ImportError_, default_signatures, import_files

    signatures = default_signatures()
    try:
        return import_files([Path(f) for f in files], app_name=app_name, app_package=app_package,
                            app_category=category, first_party=first_party, signatures=signatures), signatures
    except ImportError_ as exc:
        raise InputError(str(exc)) from None


def _print_report(report, issues) -> None:  # type: ignore[no-untyped-def]
    d = report.declaration
    mapped = sum(1 for e in d.sdk_list if e.sdk_id)
    click.echo(f"{len(d.sdk_list)} SDK entries ({mapped} mapped to signatures), {len(d.pi_list)} personal-information "
               f"entries, {len(report.unmapped_types)} unmapped type names")
    for issue in issues:
        click.echo(f"  {issue.kind:<21} {terminal_safe(issue.where, 60)}: {terminal_safe(issue.message, 300)}")


@click.group("declare")
def declare_group() -> None:
    """Import and check an app's declaration: its third-party SDK list (第三方SDK共享清单) and
    collected-personal-information list (已收集个人信息清单).

    FILES may be a declaration in flowaudit's YAML/JSON format (docs/declaration-format.md) or the lists
    as published: CSV, XLSX, Markdown or HTML tables with their Chinese column headers.
    """


@declare_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@click.option("--session", "session_name", help="Attach the declaration to this session.")
@click.option("--app", "app_id", help="Attach it to every session of this app id (package name).")
@click.option("--name", "app_name", help="App name, when the files are published tables without one.")
@click.option("--category", help="App category among the 39 of the 2021 necessary-information rules (id or 中文名).")
@click.option("--first-party", multiple=True, help="The app's own domain (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the resolved declaration as YAML.")
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
def import_command(files: tuple[str, ...], db: str, session_name: str | None, app_id: str | None,
                   app_name: str | None, category: str | None, first_party: tuple[str, ...], output: str | None,
                   as_json: bool) -> None:
    """Read FILES into one declaration, map SDK names onto signatures and type names onto taxonomy ids,
    report what did not map, and store the declaration for a session or an app."""
    from flowaudit.db.engine import StorageError
    from flowaudit.db.session_view import store_declaration
    from flowaudit.declare_import import lint, to_yaml

    if not session_name and not app_id and not output:
        raise click.UsageError("give --session, --app or -o (where the declaration goes)")
    report, signatures = _import(files, app_name, app_id, category, first_party)
    issues = lint(report, signatures)
    if output:
        Path(output).write_text(to_yaml(report.declaration), encoding="utf-8")
    if session_name or app_id:
        store = open_store(db)
        try:
            row_id = store_declaration(store, report.declaration, session_name=session_name, app_id=app_id,
                                       name=", ".join(Path(f).name for f in files))
        except StorageError as exc:
            raise StoreError(str(exc)) from None
        finally:
            store.close()
    else:
        row_id = None
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "declaration_id": row_id,
                               "issues": [{"kind": i.kind, "where": i.where, "message": i.message} for i in issues]},
                              ensure_ascii=False, indent=2))
        return
    _print_report(report, issues)
    where = f"session {session_name}" if session_name else f"app {app_id}" if app_id else None
    if where:
        click.echo(f"stored as declaration {row_id} for {terminal_safe(where, 200)}")
    if output:
        click.echo(f"written to {output}")


@declare_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the issues as JSON.")
def check_command(files: tuple[str, ...], as_json: bool) -> None:
    """Lint a declaration: unknown or ambiguous SDK names, type names with no taxonomy id, sensitive
    types not marked sensitive. Exits 1 when there is anything to fix."""
    from flowaudit.declare_import import lint

    report, signatures = _import(files)
    issues = lint(report, signatures)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "issues": [{"kind": i.kind, "where": i.where, "message": i.message}
                                                              for i in issues]}, ensure_ascii=False, indent=2))
    else:
        _print_report(report, issues)
        if not issues:
            click.echo("no issues")
    if issues:
        sys.exit(1)


@declare_group.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def schema_command(output: str | None) -> None:
    """Print the JSON Schema of the declaration format (docs/declaration.schema.json)."""
    from flowaudit.declare_import import schema_text

    if output:
        Path(output).write_text(schema_text(), encoding="utf-8")
    else:
        click.echo(schema_text(), nl=False)


COMMANDS = [declare_group]

"""`flowaudit import`, `flowaudit export` and `flowaudit sessions`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from flowaudit.cli.common import InputError, db_option, load_profile, open_store
from flowaudit.core.escaping import terminal_safe


@click.command("import")
@click.argument("inputs", nargs=-1, required=True)
@db_option
@click.option("--session", "session_name", help="Put everything into this session (default: one session per file, named after it).")
@click.option("--device-profile", type=click.Path(dir_okay=False), help="YAML of values planted on the device, keyed by data-type id.")
@click.option("--keylog", type=click.Path(dir_okay=False), help="NSS key log (SSLKEYLOGFILE) to decrypt TLS in captures.")
@click.option("--app-id", help="Package name / bundle id of the audited app.")
@click.option("--first-party", multiple=True, help="The app's own domain (repeatable): its hosts are not third parties.")
@click.option("--keep-raw", is_flag=True, help="Store raw values and bodies as evidence (default: redacted).")
@click.option("--body-cap", type=click.IntRange(0), default=1_000_000, show_default=True, help="Bytes of each body stored.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def import_command(inputs: tuple[str, ...], db: str, session_name: str | None, device_profile: str | None,
                   keylog: str | None, app_id: str | None, first_party: tuple[str, ...], keep_raw: bool,
                   body_cap: int, no_progress: bool) -> None:
    """Import HAR files, mitmproxy flow dumps (.mitm/.flows) and pcap/pcapng captures.

    INPUTS are files, directories (searched recursively) or globs; the format is recognised from the
    content. Each request is attributed to an SDK and searched for personal data before it is stored.
    Requests to http://flowaudit.mark/<kind> in the traffic become markers (consent, refusal...).
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from flowaudit.db.writer import Writer, WriterError
    from flowaudit.ingest import IngestError, check_importable, expand_inputs, import_file
    from flowaudit.signature_db import default_index

    profile = load_profile(device_profile)
    if keylog and not Path(keylog).is_file():
        raise InputError(f"key log file not found: {keylog}")
    try:
        paths = expand_inputs(inputs)
    except IngestError as exc:
        raise InputError(str(exc)) from None
    if not paths:
        raise InputError("nothing to import: no HAR, flow dump or capture found")
    store = open_store(db, body_cap=body_cap)
    index = default_index()
    writer = Writer(store)
    failures = 0
    show = not no_progress and sys.stderr.isatty()
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), disable=not show,
                  transient=True) as progress:
        for path in paths:
            try:
                check_importable(path)
            except IngestError as exc:
                failures += 1
                click.echo(f"flowaudit: {terminal_safe(str(exc), 300)}", err=True)
                continue
            name = session_name or path.stem
            session = store.open_session(name, app_id=app_id, device_profile=profile, keep_raw=keep_raw or None,
                                         first_party=list(first_party) or None)
            task = progress.add_task(terminal_safe(path.name, 40), total=path.stat().st_size if path.exists() else None)
            try:
                result = import_file(store, writer, index, path, session, keylog=Path(keylog) if keylog else None,
                                     progress=lambda n, t=task: progress.advance(t, n))
            except IngestError as exc:
                failures += 1
                click.echo(f"flowaudit: {terminal_safe(str(exc), 300)}", err=True)
                store.record_event(session.id, "error", "import", str(exc))
                continue
            progress.remove_task(task)
            click.echo(f"{terminal_safe(str(path), 120)}: {result.observations} observations, {result.markers} markers "
                       f"-> session {terminal_safe(name, 60)} ({result.format})")
            if result.warnings:
                shown = "; ".join(terminal_safe(w, 160) for w in result.warnings[:3])
                more = f" (+{len(result.warnings) - 3} more)" if len(result.warnings) > 3 else ""
                click.echo(f"  warning: {len(result.warnings)} problem(s): {shown}{more}", err=True)
                store.record_event(session.id, "warning", "import", f"{path.name}: " + "; ".join(result.warnings[:50]))
    try:
        stats = writer.close()
    except WriterError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"stored {stats.stored} observations from {len(paths) - failures} of {len(paths)} file(s)")
    if failures:
        sys.exit(3)


@click.command("export")
@db_option
@click.option("--session", "session_name", help="Only this session (default: all).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "har"]), default="jsonl", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Output file (default: stdout).")
def export_command(db: str, session_name: str | None, fmt: str, output: str | None) -> None:
    """Export stored observations with their SDK and personal-data detections.

    jsonl: one object per observation with keys id, session, ts, source, method, scheme, host, port, url,
    status, sdk {id, name, name_zh, vendor, category} or null, data [{type, location, key, encoding,
    confidence}], tls. csv: one row per observation (cells neutralised against formula injection).
    har: HAR 1.2 with flowaudit's conclusions under _flowaudit.
    """
    from flowaudit.db.models import SessionRow
    from flowaudit.db.queries import iter_observations, session_by_name
    from flowaudit.export import WRITERS
    from flowaudit.signature_db import default_index

    store = open_store(db)
    index = default_index()
    with store.sessionmaker() as dbs:
        if session_name:
            row = session_by_name(dbs, session_name)
            if row is None:
                raise InputError(f"no such session: {session_name}")
            names = {row.id: row.name}
            rows = ((r, names[r.session_id]) for r in iter_observations(dbs, row.id))
        else:
            names = {s.id: s.name for s in dbs.query(SessionRow).all()}
            rows = ((r, names[r.session_id]) for r in iter_observations(dbs))
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
        try:
            count = WRITERS[fmt](rows, out, index)
        finally:
            if output:
                out.close()
    if output:
        click.echo(f"exported {count} observations to {output}", err=True)


@click.group("sessions")
def sessions_group() -> None:
    """List, show and delete sessions (one app run on one device)."""


@sessions_group.command("list")
@db_option
def sessions_list(db: str) -> None:
    """One line per session: name, app, counts, creation time."""
    from flowaudit.db.queries import session_summaries

    store = open_store(db)
    with store.sessionmaker() as dbs:
        rows = session_summaries(dbs)
    if not rows:
        click.echo("no sessions")
        return
    click.echo(f"{'session':24} {'app':28} {'obs':>7} {'pi':>6} {'sdks':>5}  created")
    for r in rows:
        created = r["created_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M") if r["created_at"] else ""
        click.echo(f"{terminal_safe(r['name'], 24):24} {terminal_safe(r['app_id'] or '-', 28):28} "
                   f"{r['observations']:>7} {r['detections']:>6} {r['sdks']:>5}  {created}")


@sessions_group.command("show")
@click.argument("name")
@db_option
def sessions_show(name: str, db: str) -> None:
    """Details of one session: SDKs seen, data types sent, markers, recorded errors."""
    from sqlalchemy import func, select

    from flowaudit.db.models import DetectionRow, ObservationRow
    from flowaudit.db.queries import events, markers, session_by_name
    from flowaudit.signature_db import default_index

    store = open_store(db)
    index = default_index()
    with store.sessionmaker() as dbs:
        row = session_by_name(dbs, name)
        if row is None:
            raise InputError(f"no such session: {name}")
        click.echo(f"session {terminal_safe(row.name)} (app {terminal_safe(row.app_id or '-')}, device "
                   f"{terminal_safe(row.device or '-')}, raw evidence {'kept' if row.keep_raw else 'redacted'})")
        total = dbs.scalar(select(func.count()).select_from(ObservationRow).where(ObservationRow.session_id == row.id))
        click.echo(f"observations: {total}")
        sdks = dbs.execute(select(ObservationRow.sdk_id, func.count()).where(ObservationRow.session_id == row.id,
                           ObservationRow.sdk_id.is_not(None)).group_by(ObservationRow.sdk_id)
                           .order_by(func.count().desc())).all()
        click.echo("SDKs:")
        for sdk_id, count in sdks:
            sig = index.get(sdk_id)
            label = f"{sig.name} / {sig.name_zh or ''} ({sig.vendor.name})" if sig else sdk_id
            click.echo(f"  {count:>6}  {terminal_safe(label, 100)}")
        types = dbs.execute(select(DetectionRow.type, func.count()).where(DetectionRow.session_id == row.id)
                            .group_by(DetectionRow.type).order_by(func.count().desc())).all()
        click.echo("personal data: " + (", ".join(f"{t} x{c}" for t, c in types) or "none detected"))
        for m in markers(dbs, row.id):
            when = datetime.fromtimestamp(m.ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
            click.echo(f"marker {when} {m.kind} {terminal_safe(m.label)}")
        for e in events(dbs, row.id):
            click.echo(f"{e.level}: {e.source}: {terminal_safe(e.message, 300)}")


@sessions_group.command("delete")
@click.argument("name")
@db_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def sessions_delete(name: str, db: str, yes: bool) -> None:
    """Delete a session with every observation, detection, marker and finding, and scrub freed pages."""
    if not yes:
        click.confirm(f"Delete session {name} and everything captured in it?", abort=True)
    store = open_store(db)
    if not store.delete_session(name):
        raise InputError(f"no such session: {name}")
    click.echo(f"deleted session {name}")


@sessions_group.command("purge")
@db_option
@click.option("--older-than", "days", type=click.FloatRange(min=0), envvar="FLOWAUDIT_RETENTION_DAYS", required=True,
              help="Retention in days (env FLOWAUDIT_RETENTION_DAYS): bodies and raw values captured earlier are removed.")
def sessions_purge(db: str, days: float) -> None:
    """Apply the retention period: remove request bodies and raw values older than --older-than days,
    keep the redacted metadata (hosts, SDKs, data types, findings), and scrub the freed pages."""
    import time

    store = open_store(db)
    count = store.apply_retention(time.time() - days * 86400)
    click.echo(f"scrubbed {count} observation(s) captured more than {days:g} day(s) ago")


COMMANDS = [import_command, export_command, sessions_group]

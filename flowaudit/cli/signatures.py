"""`flowaudit signatures`: list, show, check and count the SDK signature database."""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from flowaudit.cli.common import InputError

_dir_option = click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
                           help="Signature directory (<vendor>/<id>.yaml files). Default: the shipped database.")


def _database(directory: Path | None):  # type: ignore[no-untyped-def]
    from flowaudit.signature_db import load_database

    if directory is not None and not directory.is_dir():
        raise InputError(f"not a directory: {directory}")
    return load_database(directory.resolve() if directory is not None else None)


@click.group("signatures")
def signatures_group() -> None:
    """The SDK signature database: which SDK each request goes to.

    \b
    flowaudit signatures list --category push --country cn
    flowaudit signatures show umeng-analytics
    flowaudit signatures match https://ulogs.umeng.com/unify_logs
    flowaudit signatures validate            (exit 0 if clean, 3 if any file has a problem)
    flowaudit signatures stats --exodus exodus_trackers.json
    """


@signatures_group.command("list")
@_dir_option
@click.option("--category", help="Only this category (analytics, advertising, push...).")
@click.option("--country", help="Only vendors of this two-letter country code (cn, us...).")
@click.option("--vendor", help="Only this vendor folder id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(directory: Path | None, category: str | None, country: str | None, vendor: str | None,
                 as_json: bool) -> None:
    """List signatures: id, category, country, vendor, name, Chinese name, number of network rules."""
    database = _database(directory)
    rows = sorted(database.signatures, key=lambda s: s.id)
    for sig in rows:
        if category and sig.category.value != category and category not in {c.value for c in sig.also}:
            continue
        if country and (sig.vendor.country or "") != country.lower():
            continue
        if vendor and sig.vendor.id != vendor:
            continue
        if as_json:
            click.echo(json.dumps({"id": sig.id, "name": sig.name, "name_zh": sig.name_zh, "vendor": sig.vendor.name,
                                   "vendor_zh": sig.vendor.name_zh, "country": sig.vendor.country,
                                   "category": sig.category.value, "rules": len(sig.network)}, ensure_ascii=False))
        else:
            click.echo("\t".join([sig.id, sig.category.value, sig.vendor.country or "-", sig.vendor.name, sig.name,
                                  sig.name_zh or "-", str(len(sig.network))]))
    if database.load_problems:
        click.echo(f"{len(database.load_problems)} file(s) could not be loaded; run `flowaudit signatures validate`",
                   err=True)


@signatures_group.command("show")
@click.argument("sdk_id")
@_dir_option
def show_command(sdk_id: str, directory: Path | None) -> None:
    """Show one signature (as loaded and validated) and the file it comes from."""
    database = _database(directory)
    sig = database.index.get(sdk_id)
    if sig is None:
        close = [s.id for s in database.signatures if sdk_id.lower() in s.id or sdk_id in s.aliases]
        hint = f" (did you mean: {', '.join(sorted(close)[:8])})" if close else ""
        raise InputError(f"no signature with id {sdk_id!r}{hint}")
    from flowaudit.signature_db import file_problems

    path = database.path_of(sdk_id)
    click.echo(f"# {path}")
    data = sig.model_dump(mode="json", exclude_defaults=True)
    click.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False).rstrip())
    problems = file_problems(path, database) if path is not None else []
    for problem in problems:
        click.echo(f"# problem: {problem}")


@signatures_group.command("match")
@click.argument("url")
@_dir_option
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE", help="A request header (repeatable).")
@click.option("--method", default="GET", show_default=True, help="HTTP method of the request to match.")
@click.option("--kind", type=click.Choice(["request", "tls_sni", "quic_sni", "dns"]), default="request",
              show_default=True, help="tls_sni/quic_sni/dns: a host-only sighting of URL's host.")
@click.option("--first-party", "first_party", multiple=True, metavar="DOMAIN",
              help="A domain of the audited app (repeatable).")
def match_command(url: str, directory: Path | None, headers: tuple[str, ...], method: str, kind: str,
                  first_party: tuple[str, ...]) -> None:
    """Attribute one URL (and optional headers) and print the SDK and the rule that matched."""
    from flowaudit.core.signature_schema import Example
    from flowaudit.core.signatures import example_observation

    parsed: dict[str, str] = {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise InputError(f"--header must be NAME:VALUE, got {header!r}")
        parsed[name.strip()] = value.strip()
    database = _database(directory)
    obs = example_observation(Example(url=url, method=method, headers=parsed, kind=kind))  # type: ignore[arg-type]
    if not obs.host:
        raise InputError(f"no host in {url!r}")
    attribution = database.index.attribute(obs, first_party)
    if attribution is None:
        click.echo(f"{obs.host}: not attributed")
        return
    label = attribution.sdk_id if attribution.first_party else \
        f"{attribution.sdk_id} ({attribution.name}{' / ' + attribution.name_zh if attribution.name_zh else ''})"
    click.echo(f"{obs.host}: {label}")
    click.echo(f"  rule: {attribution.rule}  specificity: {attribution.specificity}")
    if attribution.ties:
        click.echo(f"  ties: {', '.join(attribution.ties)}")


@signatures_group.command("validate")
@_dir_option
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def validate_command(directory: Path | None, files: tuple[Path, ...]) -> None:
    """Check every signature file: schema, id == file name, vendor.id == folder, regexes compile and are
    not trivially broad, no bare rules on shared platforms or public suffixes, data-type ids in the
    taxonomy, match/no_match examples attribute as stated, no undeclared collisions between SDKs.

    With FILES, report only those files (still judged against the whole directory they belong to,
    which defaults to the folder above their vendor folder).

    Prints one line per problem (with the file path). Exit status 0 if clean, 3 otherwise.
    """
    from flowaudit.signature_db import STRAY_MESSAGE, file_problems, signature_files, stray_files

    selected = [f.resolve() for f in files]
    for path in selected:
        if not path.is_file():
            raise InputError(f"no such signature file: {path}")
    if directory is None and selected:
        directory = selected[0].parent.parent
    database = _database(directory)
    paths = selected or signature_files(database.directory)
    problems = 0
    bad_files = 0
    for path in paths:
        messages = file_problems(path, database)
        if messages:
            bad_files += 1
        for message in messages:
            problems += 1
            click.echo(f"{path}: {message}")
    for path in [] if selected else stray_files(database.directory):
        bad_files += 1
        problems += 1
        click.echo(f"{path}: {STRAY_MESSAGE}")
    summary = f"{len(paths)} signature files, {problems} problem(s) in {bad_files} file(s)"
    if problems:
        # InputError (exit 3) rather than click's Exit: the top-level main() runs click non-standalone
        raise InputError(summary)
    click.echo(summary)


@signatures_group.command("stats")
@_dir_option
@click.option("--exodus", "exodus_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="FLOWAUDIT_EXODUS",
              help="Exodus trackers JSON (API dump) to report coverage of its trackers with network signatures.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def stats_command(directory: Path | None, exodus_path: Path | None, as_json: bool) -> None:
    """Counts: SDKs, SDKs with network rules, Chinese SDKs with network rules, per category, rules by kind,
    and Exodus coverage (with --exodus)."""
    from flowaudit.signature_db import (
        EXODUS_WITH_NETWORK_SIGNATURE,
        database_stats,
        load_exodus,
        rules_without_examples,
    )

    database = _database(directory)
    exodus = None
    if exodus_path is not None:
        try:
            exodus = load_exodus(exodus_path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"unreadable Exodus file {exodus_path}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    stats = database_stats(database.signatures, exodus)
    stats["rules_without_match_example"] = len(rules_without_examples(database))
    stats["files_not_loaded"] = len(database.load_problems)
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False, indent=2))
        return
    click.echo(f"SDKs:                               {stats['sdks']}")
    click.echo(f"SDKs with network rules:            {stats['sdks_with_network_rules']}")
    click.echo(f"Chinese SDKs with network rules:    {stats['chinese_sdks_with_network_rules']}")
    click.echo(f"Vendors:                            {stats['vendors']}")
    click.echo(f"Network rules:                      {stats['rules']}")
    click.echo("Rules by kind:                      " + ", ".join(f"{k} {v}" for k, v in stats["rules_by_kind"].items()))
    click.echo(f"Rules without a match example:      {stats['rules_without_match_example']}")
    click.echo("Per category:")
    for category, count in stats["categories"].items():
        click.echo(f"  {category:<30} {count}")
    if exodus is not None:
        click.echo(f"Exodus coverage:                    {stats['exodus_covered']} of "
                   f"{stats['exodus_with_network_signature']} trackers with a network signature")
        if stats["exodus_missing"]:
            click.echo("  missing Exodus ids: " + " ".join(str(i) for i in stats["exodus_missing"]))
    else:
        click.echo(f"Exodus coverage:                    {stats['exodus_ids_referenced']} Exodus ids referenced "
                   f"(pass --exodus FILE for coverage of the {EXODUS_WITH_NETWORK_SIGNATURE} with network signatures)")
    if stats["files_not_loaded"]:
        click.echo(f"Files not loaded:                   {stats['files_not_loaded']} (run `flowaudit signatures validate`)")


COMMANDS = [signatures_group]

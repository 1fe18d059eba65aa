"""Renders docs/cli.md from the command definitions, so the reference cannot drift from the code.

    python -m flowaudit.cli.reference > docs/cli.md
"""

from __future__ import annotations

import click

from flowaudit.cli import EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL, EXIT_STORAGE, cli


def _walk(command: click.Command, path: list[str]):  # type: ignore[no-untyped-def]
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], [*path, name])


def commands() -> list[tuple[str, click.Command]]:
    return [(" ".join(path), cmd) for path, cmd in _walk(cli, ["flowaudit"])]


def render() -> str:
    lines = ["# flowaudit command reference", "",
             "Generated from the code by `python -m flowaudit.cli.reference > docs/cli.md`; a test keeps it current.", "",
             "Exit codes: 0 success; "
             f"{EXIT_FINDINGS} findings at or above `--fail-on` (`report`); 2 usage error; {EXIT_INPUT} unreadable or "
             f"malformed input; {EXIT_STORAGE} storage error; {EXIT_INTERNAL} internal error (one line; `--debug` shows "
             "the traceback).", ""]
    for name, command in commands():
        ctx = click.Context(command, info_name=name)
        lines += [f"## `{name}`", "", "```", command.get_usage(ctx).strip(), "```", ""]
        help_text = (command.help or "").strip()
        if help_text:
            lines += [help_text.replace("\b\n", ""), ""]
        # every command takes -h/--help; which spellings it shows depends on the parent context, so leave it out
        options = [p for p in command.params if isinstance(p, click.Option) and "--help" not in p.opts]
        if options:
            lines.append("| option | meaning |")
            lines.append("|---|---|")
            for option in options:
                names = ", ".join(f"`{o}`" for o in option.opts + option.secondary_opts)
                meaning = (option.help or "").replace("|", "\\|").replace("\n", " ")
                if option.envvar:
                    envvars = option.envvar if isinstance(option.envvar, (list, tuple)) else [option.envvar]
                    meaning += " Environment: " + ", ".join(f"`{e}`" for e in envvars) + "."
                lines.append(f"| {names} | {meaning} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")

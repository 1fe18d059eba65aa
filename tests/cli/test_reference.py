"""Every command, option and setting is documented, and the generated reference is current."""

from __future__ import annotations

import re
from pathlib import Path

from mitmproxy.test import taddons

from flowaudit.cli.reference import commands, render

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_generated_reference_is_current():
    committed = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render(), "run: python -m flowaudit.cli.reference > docs/cli.md"


def test_every_command_is_in_the_readme_and_every_option_has_help():
    for name, command in commands():
        if name == "flowaudit":
            continue
        top = name.split()[1]
        assert f"flowaudit {top}" in README, f"README does not mention {name}"
        for param in command.params:
            if getattr(param, "opts", None) and param.name != "help" and param.param_type_name == "option":
                assert param.help, f"{name} {param.opts[0]} has no help text"


def test_every_addon_option_and_environment_variable_is_documented():
    from flowaudit.addons.flowaudit_addon import FlowauditAddon

    addon = FlowauditAddon()
    with taddons.context(addon) as tctx:
        options = [name for name in tctx.options.keys() if name.startswith("flowaudit_")]
    assert options
    for option in options:
        assert option in README, f"addon option {option} is not documented in README.md"
    sources = "\n".join(p.read_text(encoding="utf-8") for p in [*(REPO / "flowaudit").rglob("*.py"), *(REPO / "server").rglob("*.py")])
    for env in sorted(set(re.findall(r"FLOWAUDIT_[A-Z_]+", sources))):
        assert env in README, f"environment variable {env} is not documented in README.md"

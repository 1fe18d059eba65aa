"""The analysis core stays pure: importing every module under flowaudit/core pulls in no adapter library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import flowaudit.core

FORBIDDEN = ("mitmproxy", "scapy", "sqlalchemy", "fastapi", "starlette", "uvicorn")
CORE_DIR = Path(flowaudit.core.__file__).parent

PROBE = """
import importlib, json, sys
modules = json.loads(sys.argv[1])
for name in modules:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[2]))))
"""


def core_modules() -> list[str]:
    names = ["flowaudit.core"]
    for path in sorted(CORE_DIR.rglob("*.py")):
        relative = path.relative_to(CORE_DIR).with_suffix("")
        parts = [p for p in relative.parts if p != "__init__"]
        if parts:
            names.append(".".join(["flowaudit.core", *parts]))
    return names


def test_core_imports_no_adapter_library() -> None:
    modules = core_modules()
    assert "flowaudit.core.signatures" in modules and "flowaudit.core.model" in modules
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(modules), json.dumps(FORBIDDEN)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    leaked = json.loads(result.stdout.strip().splitlines()[-1])
    assert leaked == [], f"flowaudit.core imported {leaked}"


def test_probe_detects_a_leak() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(["flowaudit.db.models"]), json.dumps(FORBIDDEN)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "sqlalchemy" in json.loads(result.stdout.strip().splitlines()[-1])

"""Runs the real `flowaudit` command line in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def run(*args: str, input: str | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "flowaudit", *args], capture_output=True, text=True,
                          input=input, env=full_env, timeout=timeout)

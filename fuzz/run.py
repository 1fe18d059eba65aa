"""Run every fuzz target with atheris (coverage-guided, libFuzzer) for a number of runs or seconds each.

    python fuzz/run.py --seconds 5            # every target, 5 s each
    python fuzz/run.py --runs 2000 dns tls    # two targets, 2000 inputs each

Each target starts from its seed corpus (fuzz/corpus/<target>/, read-only here: new inputs go to a scratch
directory, or to --keep DIR). A crash, an unexpected exception or a timeout fails the run; the reproducer is
copied to fuzz/crashes/<target>/ and its path printed. Exit status: 0 when every target ran clean.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
CRASHES = HERE / "crashes"


def targets() -> list[str]:
    return sorted(p.stem.removeprefix("fuzz_") for p in HERE.glob("fuzz_*.py"))


def run_target(name: str, *, seconds: float | None, runs: int | None, timeout: int, keep: Path | None,
               max_len: int) -> tuple[bool, str]:
    """(clean, one-line summary) of one atheris run."""
    work = Path(tempfile.mkdtemp(prefix=f"flowaudit-fuzz-{name}-"))
    try:
        new_inputs = keep / name if keep else work / "new"
        new_inputs.mkdir(parents=True, exist_ok=True)
        artifacts = work / "artifacts"
        artifacts.mkdir()
        command = [sys.executable, str(HERE / f"fuzz_{name}.py"), str(new_inputs), str(CORPUS / name),
                   f"-timeout={timeout}", f"-max_len={max_len}", f"-artifact_prefix={artifacts}/",
                   "-print_final_stats=1", "-rss_limit_mb=2048"]
        if runs is not None:
            command.append(f"-runs={runs}")
        if seconds is not None:
            command.append(f"-max_total_time={max(1, int(seconds))}")
        started = time.monotonic()
        limit = (seconds or 0) + 120 + (runs or 0) / 50
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=limit,
                                  env={**os.environ, "PYTHONHASHSEED": "0"})
        except subprocess.TimeoutExpired:
            return False, f"{name}: did not finish within {limit:.0f} s"
        elapsed = time.monotonic() - started
        log = proc.stderr + proc.stdout
        executed = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
        coverage = re.findall(r"cov: (\d+)", log)
        summary = (f"{name}: {executed[-1] if executed else '?'} inputs in {elapsed:.1f} s, "
                   f"coverage {coverage[-1] if coverage else '?'}")
        crashes = [p for p in artifacts.iterdir() if p.is_file()]
        if proc.returncode == 0 and not crashes:
            return True, summary
        saved = []
        for crash in crashes:
            target_dir = CRASHES / name
            target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(crash, target_dir / crash.name)
            saved.append(str(target_dir / crash.name))
        reason = next((line.strip() for line in log.splitlines()
                       if "Uncaught Python exception" in line or "ERROR: libFuzzer" in line), "")
        detail = [line for line in log.splitlines() if line.strip() and not line.startswith(("#", "INFO", "MS:"))]
        tail = " | ".join(detail[-6:])
        return False, f"{summary} FAILED (exit {proc.returncode}) {reason} {tail} reproducer: {', '.join(saved) or '-'}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the flowaudit fuzz targets with atheris.")
    parser.add_argument("names", nargs="*", help=f"targets (default: all of {', '.join(targets())})")
    parser.add_argument("--seconds", type=float, help="fuzzing time per target")
    parser.add_argument("--runs", type=int, help="inputs per target (default 1000 when --seconds is not given)")
    parser.add_argument("--timeout", type=int, default=20, help="seconds one input may take before it counts as a hang")
    parser.add_argument("--max-len", type=int, default=16384, help="largest input the fuzzer generates")
    parser.add_argument("--keep", type=Path, help="directory to keep the inputs the fuzzer found (per target)")
    args = parser.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install atheris (or pip install -e '.[test]')", file=sys.stderr)
        return 2
    names = args.names or targets()
    unknown = sorted(set(names) - set(targets()))
    if unknown:
        print(f"unknown target(s): {', '.join(unknown)}; known: {', '.join(targets())}", file=sys.stderr)
        return 2
    runs = args.runs if args.runs is not None or args.seconds is not None else 1000
    failed = 0
    for name in names:
        clean, summary = run_target(name, seconds=args.seconds, runs=runs, timeout=args.timeout, keep=args.keep,
                                    max_len=args.max_len)
        print(("ok    " if clean else "FAIL  ") + summary, flush=True)
        failed += not clean
    print(f"{len(names) - failed} of {len(names)} targets clean")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""bench/bench_attribution.py runs in its quick mode and prints both medians and their ratio.
No timing is asserted here: the figures are for people, the run is for CI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_attribution.py"


def test_quick_benchmark_prints_figures_and_ratio() -> None:
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--requests", "1500", "--rounds", "1"],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"database: \d+ signatures, \d+ rules; 10x: \d+ signatures", out), out
    for mode in ("cold", "warm"):
        line = next(line for line in out.splitlines() if line.strip().startswith(f"{mode} hosts"))
        assert re.search(r"median +[\d.]+ us .* full database .* median +[\d.]+ us .* 10x database .* ratio [\d.]+", line), line
    assert "targets (median < 20 us, 10x ratio < 2):" in out

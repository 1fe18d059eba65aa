"""bench/bench_dashboard.py quick mode: page and API latencies and live-view delivery are printed."""

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_dashboard.py"


def test_quick_run_measures_every_page_and_the_live_view():
    result = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if " p95 " in line]
    assert len(lines) >= 15
    live = re.search(r"wrote (\d+) observations at 500/s, stream delivered (\d+)", result.stdout)
    assert live and int(live.group(2)) == int(live.group(1)), "every stored observation reaches the live view"

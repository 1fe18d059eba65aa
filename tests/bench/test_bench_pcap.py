"""bench/bench_pcap.py quick mode: flowaudit and tshark on the same generated capture, ratio printed."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_pcap.py"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is installed by scripts/test.sh")
def test_quick_run_compares_with_tshark():
    result = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "ratio flowaudit/tshark:" in result.stdout and "peak RSS" in result.stdout
    requests = [line for line in result.stdout.splitlines() if "requests" in line]
    counts = {line.split()[0]: line for line in requests}
    assert counts, result.stdout

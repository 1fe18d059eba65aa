"""bench/bench_detect.py runs in its quick mode and prints every figure; no timing is asserted here."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_detect.py"


def test_quick_run_prints_request_body_and_bomb_figures():
    result = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for label in ("typical request:", "1 MB body:", "bomb gzip", "bomb zstd", "bomb brotli"):
        assert label in result.stdout, label
    assert result.stdout.count("flagged=True") == 3, "every decompression bomb must be flagged"

"""bench/detection_quality.py: recall and precision per type on the labelled corpus (deterministic, so the
quality bar on the held-out split is asserted; the freshest split is reported, not asserted)."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "detection_quality.py"


def test_quality_bar_on_tuning_and_held_out_splits():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for split in ("tuning", "heldout"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"{split}: recall"))
        recall, precision, profile = (float(x) for x in re.findall(r"([\d.]+)%", line)[:3])
        assert recall >= 95 and precision >= 98 and profile >= 95, line
        assert "look-alike detections 0" in line, line

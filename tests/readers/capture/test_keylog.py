from __future__ import annotations

from pathlib import Path

import pytest

from flowaudit.readers.capture.keylog import KeyLogError, load_keylog, parse_keylog

R1, R2 = "ab" * 32, "cd" * 32


def test_parse_tls12_and_tls13_lines() -> None:
    text = (f"# SSL/TLS secrets log file\nCLIENT_RANDOM {R1} {'11' * 48}\n"
            f"CLIENT_HANDSHAKE_TRAFFIC_SECRET {R2} {'22' * 32}\nSERVER_TRAFFIC_SECRET_0 {R2} {'33' * 48}\n"
            f"\nCLIENT_RANDOM nothex {'11' * 48}\nUNKNOWN_LABEL {R1} {'11' * 32}\nCLIENT_RANDOM {R1[:10]} {'11' * 48}\n")
    keylog = parse_keylog(text)
    assert keylog.get(bytes.fromhex(R1)) == {"CLIENT_RANDOM": bytes.fromhex("11" * 48)}
    assert set(keylog.get(bytes.fromhex(R2))) == {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"}
    assert keylog.skipped == 3 and len(keylog) == 2


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyLogError, match="cannot read key log"):
        load_keylog(tmp_path / "missing.log")
    empty = tmp_path / "empty.log"
    empty.write_text("# nothing here\n")
    with pytest.raises(KeyLogError, match="no TLS secrets found"):
        load_keylog(empty)
    good = tmp_path / "keys.log"
    good.write_text(f"CLIENT_RANDOM {R1} {'11' * 48}\r\n")
    assert len(load_keylog(good)) == 1

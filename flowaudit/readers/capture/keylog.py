"""NSS key log files (SSLKEYLOGFILE, PCAPdroid, Wireshark): per-connection TLS secrets by client random."""

from __future__ import annotations

from pathlib import Path

LABELS = frozenset({"CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                    "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
                    "CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET"})
MAX_KEYLOG_BYTES = 256 << 20


class KeyLogError(Exception):
    pass


class KeyLog:
    def __init__(self) -> None:
        self.secrets: dict[bytes, dict[str, bytes]] = {}
        self.skipped = 0

    def add_line(self, line: str) -> bool:
        parts = line.strip().split()
        if len(parts) != 3 or parts[0] not in LABELS:
            return False
        try:
            random = bytes.fromhex(parts[1])
            secret = bytes.fromhex(parts[2])
        except ValueError:
            return False
        if len(random) != 32 or len(secret) not in (32, 48, 64):
            return False
        self.secrets.setdefault(random, {})[parts[0]] = secret
        return True

    def get(self, client_random: bytes) -> dict[str, bytes] | None:
        return self.secrets.get(client_random)

    def __len__(self) -> int:
        return len(self.secrets)


def parse_keylog(text: str) -> KeyLog:
    keylog = KeyLog()
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not keylog.add_line(line):
            keylog.skipped += 1
    return keylog


def load_keylog(path: Path) -> KeyLog:
    try:
        if path.stat().st_size > MAX_KEYLOG_BYTES:
            raise KeyLogError(f"{path}: key log file larger than {MAX_KEYLOG_BYTES >> 20} MB")
        text = path.read_bytes().decode("ascii", "replace")
    except OSError as exc:
        raise KeyLogError(f"cannot read key log {path}: {exc.strerror or exc}") from None
    keylog = parse_keylog(text)
    if not keylog.secrets:
        raise KeyLogError(f"{path}: no TLS secrets found (expected NSS key log lines such as "
                          "'CLIENT_RANDOM <hex> <hex>')")
    return keylog

"""Import of recorded traffic (HAR, mitmproxy flow dumps, pcap/pcapng) into the database."""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flowaudit.core.markers import marker_from_observation
from flowaudit.core.model import Observation
from flowaudit.core.pipeline import analyze
from flowaudit.core.profile import DeviceProfile
from flowaudit.core.signatures import SignatureIndex
from flowaudit.db.store import SessionInfo, Store
from flowaudit.db.writer import Writer
from flowaudit.readers.har import HarError, read_har
from flowaudit.readers.sniff import sniff_format

MAX_PENDING = 2000


class IngestError(ValueError):
    """A file that cannot be imported; the message is one line."""


@dataclass(slots=True)
class ImportResult:
    path: Path
    session: str
    format: str
    observations: int = 0
    markers: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def expand_inputs(inputs: Iterable[str]) -> list[Path]:
    """Files, directories (recursively: every file whose content a reader recognises) and globs."""
    paths: list[Path] = []
    for item in inputs:
        matches = [Path(m) for m in sorted(glob.glob(item, recursive=True))] if any(c in item for c in "*?[") else [Path(item)]
        if not matches:
            raise IngestError(f"no file matches {item}")
        for path in matches:
            if path.is_dir():
                for child in sorted(p for p in path.rglob("*") if p.is_file()):
                    try:
                        if sniff_format(child):
                            paths.append(child)
                    except OSError:
                        continue
            else:
                paths.append(path)
    return paths


def check_importable(path: Path) -> str:
    """The reader a file needs; raises IngestError for a file no reader can take."""
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file")
    try:
        kind = sniff_format(path)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror}") from None
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: empty file")
    if kind is None:
        raise IngestError(f"{path}: not a HAR, mitmproxy flow dump, pcap or pcapng file")
    return kind


def observations_from_file(path: Path, *, keylog: Path | None = None, warnings: list[str] | None = None,
                           body_cap: int = 8 * 1024 * 1024) -> tuple[str, Iterator[Observation]]:
    kind = check_importable(path)
    if kind == "har":
        return kind, read_har(path, body_cap=body_cap, errors=warnings)
    if kind == "mitm":
        from flowaudit.readers.mitmflow import read_flow_file

        return kind, read_flow_file(path)
    if kind == "pcap":
        from flowaudit.readers.pcap import CaptureStats, read_capture

        stats = CaptureStats(0, 0, 0, 0, 0, 0, 0, [])

        def captured() -> Iterator[Observation]:
            yield from read_capture(path, keylog=keylog, stats=stats)
            if warnings is not None:
                warnings.extend(stats.warnings)

        return kind, captured()
    raise IngestError(f"{path}: unsupported format {kind}")


def import_file(store: Store, writer: Writer, index: SignatureIndex, path: Path, session: SessionInfo, *,
                keylog: Path | None = None, progress: Callable[[int], None] | None = None) -> ImportResult:
    warnings: list[str] = []
    kind, observations = observations_from_file(path, keylog=keylog, warnings=warnings, body_cap=store.body_cap)
    result = ImportResult(path, session.name, kind, warnings=warnings)
    profile: DeviceProfile | None = session.profile if session.profile.values else None
    try:
        for obs in observations:
            obs.session = session.name
            marker = marker_from_observation(obs)
            if marker is not None:
                store.add_marker(session.name, marker.kind, marker.label, marker.ts)
                result.markers += 1
                continue
            writer.submit(session, analyze(obs, index, profile, first_party=session.first_party, salt=session.salt))
            result.observations += 1
            if writer.pending > MAX_PENDING:
                writer.flush()   # importers may wait for the database; memory stays bounded on huge captures
            if progress:
                progress(obs.body_size or 0)
    except HarError as exc:
        raise IngestError(_located(path, exc)) from None
    except Exception as exc:
        # readers raise their own one-line errors (FlowFileError, CaptureError) after yielding what was complete
        if exc.__class__.__name__ in ("FlowFileError", "CaptureError"):
            if result.observations:
                result.warnings.append(f"stopped early: {exc}")
                return result
            raise IngestError(_located(path, exc)) from None
        raise
    return result


def _located(path: Path, exc: Exception) -> str:
    """The reader's one-line message, prefixed with the file's path unless it already names the file."""
    message = str(exc)
    return str(path.parent / message) if message.startswith(path.name) else f"{path}: {message}"

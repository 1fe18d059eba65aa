"""Personal-data detection over decoded request fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flowaudit.core.model import Detection, Observation
from flowaudit.core.profile import DeviceProfile


@dataclass(slots=True)
class DetectionResult:
    detections: list[Detection] = field(default_factory=list)
    opaque: bool = False            # an undecodable high-entropy payload: a coverage gap, not "clean"
    notes: list[str] = field(default_factory=list)   # budget exhausted, decode errors...


def detect(obs: Observation, profile: DeviceProfile | None = None, *, salt: bytes = b"",
           data_fields: Mapping[str, str] | None = None, to_sdk: bool = False) -> DetectionResult:
    """Placeholder until the detectors land: finds nothing."""
    return DetectionResult()

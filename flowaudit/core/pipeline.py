"""One call from an adapter's Observation to everything the core concludes about it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flowaudit.core.detect import detect
from flowaudit.core.model import Attribution, Detection, Observation
from flowaudit.core.profile import DeviceProfile
from flowaudit.core.signatures import SignatureIndex


@dataclass(slots=True)
class Analysis:
    observation: Observation
    attribution: Attribution | None
    detections: list[Detection] = field(default_factory=list)
    opaque: bool = False
    notes: list[str] = field(default_factory=list)


def analyze(obs: Observation, index: SignatureIndex, profile: DeviceProfile | None = None, *,
            first_party: Iterable[str] = (), salt: bytes = b"") -> Analysis:
    """Attribute and inspect one observation. Detections carry raw values in memory; storage decides
    whether they are kept (see db/store.py)."""
    attribution = index.attribute(obs, first_party)
    if obs.host_only:
        return Analysis(obs, attribution)
    signature = index.get(attribution.sdk_id) if attribution and not attribution.first_party else None
    result = detect(obs, profile, salt=salt, data_fields=signature.data_fields if signature else None,
                    to_sdk=signature is not None, sdk=signature.id if signature else None)
    return Analysis(obs, attribution, result.detections, result.opaque, result.notes)

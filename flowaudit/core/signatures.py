"""SDK signature index: compiled once from the signature files, answers "which SDK is this request to?"."""

from __future__ import annotations

from collections.abc import Iterable

from flowaudit.core.model import Attribution, Observation
from flowaudit.core.signature_schema import Signature


class SignatureIndex:
    """Placeholder until the attribution engine lands: knows the signatures, attributes nothing."""

    def __init__(self, signatures: Iterable[Signature]) -> None:
        self.signatures = {sig.id: sig for sig in signatures}

    def get(self, sdk_id: str) -> Signature | None:
        return self.signatures.get(sdk_id)

    def attribute(self, obs: Observation, first_party: Iterable[str] = ()) -> Attribution | None:
        return None

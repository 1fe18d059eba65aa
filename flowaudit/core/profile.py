"""Device profile: values the tester knows are on the device (honey values), keyed by taxonomy id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flowaudit.core.taxonomy import TYPE_IDS


class ProfileError(ValueError):
    pass


@dataclass(slots=True)
class DeviceProfile:
    values: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: object) -> DeviceProfile:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ProfileError("a device profile is a mapping of data-type id to value(s)")
        values: dict[str, list[str]] = {}
        for key, raw in data.items():
            if key not in TYPE_IDS:
                raise ProfileError(f"unknown data-type id in device profile: {key!r}")
            items = raw if isinstance(raw, list) else [raw]
            values[key] = [str(v) for v in items if v is not None and str(v).strip()]
        return cls(values)

    def to_mapping(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.values.items()}

"""API schemas: Base (shared fields), Create (what a client sends), Public (what the API returns)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from flowaudit.core.signatures import SignatureIndex
from flowaudit.db.models import ObservationRow
from flowaudit.export import record


class SessionBase(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/]+$")
    app_id: str | None = Field(default=None, max_length=300)
    device: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=5000)


class SessionCreate(SessionBase):
    keep_raw: bool = False


class SessionPublic(SessionBase):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime | None = None
    observations: int = 0
    detections: int = 0
    sdks: int = 0
    keep_raw: bool = False


class MarkerBase(BaseModel):
    kind: str = Field(min_length=1, max_length=40)
    label: str = Field(default="", max_length=500)


class MarkerCreate(MarkerBase):
    ts: float | None = None


class MarkerPublic(MarkerBase):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ts: float


class DetectionPublic(BaseModel):
    type: str
    location: str
    key: str
    encoding: str
    confidence: float
    reason: str | None = None
    preview: str | None = None


class SdkPublic(BaseModel):
    id: str
    name: str
    name_zh: str | None = None
    vendor: str | None = None
    vendor_zh: str | None = None
    category: str | None = None


class ObservationPublic(BaseModel):
    id: int
    session: str
    ts: float
    source: str
    kind: str
    method: str | None
    scheme: str | None
    host: str
    port: int | None
    url: str
    status: int | None
    sdk: SdkPublic | None
    first_party: bool
    data: list[DetectionPublic]
    tls: bool
    opaque: bool
    error: str | None

    @classmethod
    def of(cls, row: ObservationRow, session: str, index: SignatureIndex) -> ObservationPublic:
        return cls.model_validate(record(row, session, index))


class ObservationPage(BaseModel):
    items: list[ObservationPublic]
    next_before: int | None = None


class FindingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    severity: str
    legal_basis: str
    title_en: str
    title_zh: str
    explanation_en: str
    explanation_zh: str
    sdk_id: str | None
    data_type: str | None
    host: str | None
    evidence: list[int]
    details: dict


class SdkSummaryPublic(BaseModel):
    sdk: SdkPublic
    requests: int
    first_seen: float
    seconds_after_consent: float | None
    types: dict[str, int]
    declared: bool | None


class DataTypeSummaryPublic(BaseModel):
    type: str
    name_en: str | None = None
    name_zh: str | None = None
    detections: int
    requests: int
    recipients: dict[str, int]

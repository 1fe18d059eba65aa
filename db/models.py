"""SQLAlchemy models: sessions, markers, observations, detections, declarations, findings, events."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    """One app run on one device."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    app_id: Mapped[str | None] = mapped_column(String(300))
    device: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    device_profile: Mapped[dict | None] = mapped_column(JSON)
    keep_raw: Mapped[bool] = mapped_column(Boolean, default=False)
    first_party: Mapped[list | None] = mapped_column(JSON)   # the audited app's own domains
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    markers: Mapped[list[MarkerRow]] = relationship(back_populates="session", cascade="all, delete-orphan",
                                                     passive_deletes=True)


class MarkerRow(Base):
    __tablename__ = "markers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    ts: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(Text, default="")
    session: Mapped[SessionRow] = relationship(back_populates="markers")


class ObservationRow(Base):
    __tablename__ = "observations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    ts: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    method: Mapped[str | None] = mapped_column(String(16))
    scheme: Mapped[str | None] = mapped_column(String(8))
    host: Mapped[str] = mapped_column(String(300))
    port: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text, default="")
    query: Mapped[str] = mapped_column(Text, default="")
    http_version: Mapped[str | None] = mapped_column(String(16))
    headers: Mapped[list] = mapped_column(JSON, default=list)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_size: Mapped[int] = mapped_column(Integer, default=0)
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    body_stored: Mapped[str] = mapped_column(String(16), default="none")  # none, full, truncated, redacted, withheld
    tls: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[list] = mapped_column(JSON, default=list)
    response_head: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_size: Mapped[int | None] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    server_ip: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    sdk_id: Mapped[str | None] = mapped_column(String(100))
    sdk_rule: Mapped[str | None] = mapped_column(Text)
    sdk_ties: Mapped[list | None] = mapped_column(JSON)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    opaque: Mapped[bool] = mapped_column(Boolean, default=False)
    data_types: Mapped[str] = mapped_column(String(600), default="")  # ",imei,oaid," for cheap filtering
    notes: Mapped[list | None] = mapped_column(JSON)

    detections: Mapped[list[DetectionRow]] = relationship(back_populates="observation",
                                                           cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        Index("ix_observations_session_ts", "session_id", "ts"),
        Index("ix_observations_session_sdk", "session_id", "sdk_id"),
        Index("ix_observations_session_host", "session_id", "host"),
    )


class DetectionRow(Base):
    __tablename__ = "detections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    preview: Mapped[str] = mapped_column(Text)
    value_hash: Mapped[str] = mapped_column(String(64))
    raw_value: Mapped[str | None] = mapped_column(Text)

    observation: Mapped[ObservationRow] = relationship(back_populates="detections")
    __table_args__ = (Index("ix_detections_session_type", "session_id", "type"),)


class DeclarationRow(Base):
    __tablename__ = "declarations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str | None] = mapped_column(String(300), index=True)
    name: Mapped[str] = mapped_column(String(300))
    content: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class FindingRow(Base):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str] = mapped_column(Text)
    explanation_en: Mapped[str] = mapped_column(Text)
    explanation_zh: Mapped[str] = mapped_column(Text)
    sdk_id: Mapped[str | None] = mapped_column(String(100))
    data_type: Mapped[str | None] = mapped_column(String(40))
    host: Mapped[str | None] = mapped_column(String(300))
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class EventRow(Base):
    """Errors and warnings that must stay visible: failed writes, truncated captures, pinned hosts."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    ts: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)


class SettingRow(Base):
    """Installation settings kept with the data, e.g. the dashboard access token's hash."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AggregateRow(Base):
    """Running counts per session, kept by the writer so summaries never scan every observation."""

    __tablename__ = "aggregates"
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_ts: Mapped[float | None] = mapped_column(Float)

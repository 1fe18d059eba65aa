"""Markers: moments the tester marks (consent given, refused, background, a user action, a note).

A device can set a marker by opening http://flowaudit.mark/<kind>[?label=...] through the proxy; the same
request found in a HAR or a capture becomes the same marker.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote

from flowaudit.core.model import Marker, Observation

MARKER_HOST = "flowaudit.mark"
MARKER_KINDS = ("consent", "refusal", "background", "foreground", "user_action", "note")
ALIASES = {"consent_given": "consent", "agree": "consent", "refuse": "refusal", "consent_refused": "refusal",
           "deny": "refusal", "bg": "background", "action": "user_action", "download": "user_action"}


class MarkerError(ValueError):
    pass


def normalise_kind(kind: str) -> str:
    kind = kind.strip().lower().replace(" ", "_").replace("-", "_")
    kind = ALIASES.get(kind, kind)
    if kind not in MARKER_KINDS:
        raise MarkerError(f"unknown marker kind {kind!r}; use one of: {', '.join(MARKER_KINDS)}")
    return kind


def marker_from_observation(obs: Observation) -> Marker | None:
    """The marker a request to the magic host stands for, or None for any other request."""
    if obs.host != MARKER_HOST or obs.host_only:
        return None
    segments = [s for s in obs.path.split("/") if s]
    kind = unquote(segments[0]) if segments else "note"
    label = parse_qs(obs.query).get("label", [""])[0][:500]
    try:
        kind = normalise_kind(kind)
    except MarkerError:
        label, kind = (kind + (f": {label}" if label else ""))[:500], "note"
    return Marker(ts=obs.ts, kind=kind, label=label, session=obs.session)

import pytest

from flowaudit.core.markers import MarkerError, marker_from_observation, normalise_kind
from flowaudit.core.model import Observation, ObservationKind


@pytest.mark.parametrize("path,query,kind,label", [
    ("/consent", "", "consent", ""),
    ("/refuse", "label=tapped%20no", "refusal", "tapped no"),
    ("/user_action", "label=download", "user_action", "download"),
    ("/", "", "note", ""),
    ("/<script>", "", "note", "<script>"),
])
def test_magic_url_becomes_a_marker(path, query, kind, label):
    marker = marker_from_observation(Observation(ts=5.0, host="FLOWAUDIT.MARK", path=path, query=query, session="s"))
    assert marker is not None and (marker.kind, marker.label, marker.ts, marker.session) == (kind, label, 5.0, "s")


def test_other_hosts_and_host_only_sightings_are_not_markers():
    assert marker_from_observation(Observation(ts=1.0, host="flowaudit.mark.example.com", path="/consent")) is None
    assert marker_from_observation(Observation(ts=1.0, host="flowaudit.mark", kind=ObservationKind.DNS)) is None


def test_kinds_are_normalised_or_refused():
    assert normalise_kind("Consent Given") == "consent"
    with pytest.raises(MarkerError, match="unknown marker kind"):
        normalise_kind("teleport")

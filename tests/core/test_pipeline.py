from flowaudit.core.model import Observation, ObservationKind
from flowaudit.core.pipeline import analyze
from flowaudit.signature_db import default_index


def test_host_only_sightings_are_attributed_but_not_inspected():
    result = analyze(Observation(ts=0, host="ulogs.umeng.com", kind=ObservationKind.TLS_SNI), default_index())
    assert result.attribution is not None and result.attribution.sdk_id.startswith("umeng")
    assert result.detections == [] and not result.opaque


def test_requests_are_attributed_and_inspected():
    obs = Observation(ts=0, host="ulogs.umeng.com", path="/unify_logs", method="POST",
                      body=b'{"imei": "867530012345672"}', headers=[("Content-Type", "application/json")])
    result = analyze(obs, default_index(), salt=b"s")
    assert result.attribution.sdk_id == "umeng-analytics"
    assert result.observation is obs
    [imei] = [d for d in result.detections if d.type == "imei"]
    assert "data_fields(umeng-analytics)" in imei.reason and imei.raw_value == "867530012345672"


def test_unattributed_hosts_are_inspected_without_sdk_key_evidence():
    obs = Observation(ts=0, host="collect.unknown-tracker.example", path="/c", method="POST",
                      body=b'{"imei": "867530012345672"}')
    result = analyze(obs, default_index(), salt=b"s")
    assert result.attribution is None
    assert [d.type for d in result.detections] == ["imei"] and "data_fields" not in result.detections[0].reason

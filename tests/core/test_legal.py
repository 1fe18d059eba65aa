from __future__ import annotations

import pytest

from flowaudit.core.legal import CATALOGUE, KINDS, get_kind, legal_basis, make_finding, severity_at_least
from flowaudit.core.model import Severity

EXPECTED_KINDS = {
    "undeclared_sdk", "sdk_entry_incomplete", "undeclared_data_type", "data_type_not_declared_for_sdk",
    "undeclared_recipient", "collected_before_consent", "collected_after_refusal", "cleartext_transmission_of_pi",
    "excessive_frequency", "silent_apk_download", "hot_update_payload", "beyond_necessary_scope",
    "sensitive_pi_not_marked", "immutable_device_id", "opaque_payload", "declared_not_observed",
}


def test_catalogue_has_every_kind_once():
    assert set(KINDS) == EXPECTED_KINDS and len(CATALOGUE) == len(EXPECTED_KINDS)


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.kind)
def test_entry_is_bilingual_and_cites_a_clause(entry):
    for text in (entry.title_zh, entry.explanation_zh, entry.legal_basis_zh):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    for text in (entry.title_en, entry.explanation_en, entry.legal_basis_en):
        assert text.isascii(), text
    assert entry.explanation_en.endswith(".") and len(entry.explanation_zh) > 15


def test_clauses_follow_the_regulation_map():
    assert "三.1" in legal_basis("collected_before_consent")
    assert "三.2" in legal_basis("collected_after_refusal")
    assert "二.1" in legal_basis("undeclared_sdk") and "二(一)3" in legal_basis("undeclared_sdk")
    assert "一(一)1" in legal_basis("silent_apk_download")
    assert "二(二)5" in legal_basis("hot_update_payload")
    assert "二(一)2" in legal_basis("cleartext_transmission_of_pi")
    assert "一(三)9" in legal_basis("undeclared_data_type")
    assert "337" in legal_basis("excessive_frequency") and "337" in legal_basis("undeclared_recipient")
    assert "附录B" in legal_basis("sensitive_pi_not_marked") and "附录F" in legal_basis("immutable_device_id")
    assert "第三条" in legal_basis("beyond_necessary_scope")
    assert "Appendix F" in legal_basis("immutable_device_id", "en")


def test_review_and_information_kinds_are_not_verdicts():
    assert get_kind("beyond_necessary_scope").review
    assert get_kind("opaque_payload").severity == Severity.INFO
    assert get_kind("declared_not_observed").severity == Severity.INFO


def test_make_finding_and_threshold():
    f = make_finding("immutable_device_id", data_type="imei", evidence=[3, 4], details={"keys": ["imei"]})
    assert f.severity == Severity.MEDIUM and f.evidence == [3, 4] and f.title_zh == KINDS["immutable_device_id"].title_zh
    assert severity_at_least(f, Severity.LOW) and severity_at_least(f, Severity.MEDIUM)
    assert not severity_at_least(f, Severity.HIGH)
    assert make_finding("undeclared_sdk", severity=Severity.MEDIUM).severity == Severity.MEDIUM
    with pytest.raises(KeyError, match="unknown finding kind"):
        get_kind("nope")

from __future__ import annotations

import base64
import hashlib

import pytest

from flowaudit.core.profile import DeviceProfile, ProfileError, value_forms

IMEI = "867530012345674"
MAC = "3C:A5:81:0E:22:7B"
OAID = "1fe9a970-efbb-29e0-0bdd-f5dbbf751ab5"
PHONE = "13812345678"


@pytest.fixture(scope="module")
def profile() -> DeviceProfile:
    return DeviceProfile.from_mapping({"imei": IMEI, "mac_address": MAC, "oaid": OAID, "phone_number": PHONE,
                                       "real_name": "欧阳明", "device_model": "Pixel 7", "os_version": "12",
                                       "contacts": ["FLOWAUDIT-CONTACT-1", "FLOWAUDIT-CONTACT-2"]})


def _types(profile: DeviceProfile, text: str) -> set[tuple[str, str]]:
    return {(hit.type, hit.form) for hit in profile.match(text)}


def test_from_mapping_validates() -> None:
    with pytest.raises(ProfileError):
        DeviceProfile.from_mapping(["imei"])
    with pytest.raises(ProfileError):
        DeviceProfile.from_mapping({"shoe_size": "42"})
    profile = DeviceProfile.from_mapping({"imei": [IMEI, None, " "], "email": "a@b.cn"})
    assert profile.to_mapping() == {"imei": [IMEI], "email": ["a@b.cn"]}
    assert DeviceProfile.from_mapping(None).to_mapping() == {}
    assert not DeviceProfile()


def test_plain_and_case_and_separators(profile: DeviceProfile) -> None:
    assert ("imei", "plain") in _types(profile, IMEI)
    assert ("mac_address", "plain") in _types(profile, MAC)
    assert {t for t, _ in _types(profile, MAC.lower())} == {"mac_address"}
    assert {t for t, _ in _types(profile, MAC.replace(":", ""))} == {"mac_address"}
    assert {t for t, _ in _types(profile, MAC.replace(":", "-").lower())} == {"mac_address"}
    assert {t for t, _ in _types(profile, OAID.upper())} == {"oaid"}
    assert {t for t, _ in _types(profile, OAID.replace("-", ""))} == {"oaid"}


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
def test_hashes_in_every_encoding(profile: DeviceProfile, algorithm: str) -> None:
    digest = hashlib.new(algorithm, IMEI.encode()).digest()
    for text in (digest.hex(), digest.hex().upper(), base64.b64encode(digest).decode(),
                 base64.urlsafe_b64encode(digest).decode().rstrip("="),
                 base64.b64encode(digest.hex().encode()).decode(),
                 base64.b64encode(digest.hex().upper().encode()).decode()):
        hits = profile.match(text)
        assert [h.type for h in hits] == ["imei"], text
        assert hits[0].form.startswith(algorithm)


def test_hash_of_normalised_forms(profile: DeviceProfile) -> None:
    # ad SDKs hash the MAC upper-case without colons, and the OAID without dashes
    assert profile.match(hashlib.md5(MAC.replace(":", "").encode()).hexdigest())[0].type == "mac_address"
    assert profile.match(hashlib.md5(MAC.lower().encode()).hexdigest())[0].type == "mac_address"
    assert profile.match(hashlib.sha256(OAID.replace("-", "").upper().encode()).hexdigest())[0].type == "oaid"


def test_phone_forms(profile: DeviceProfile) -> None:
    for text in ("+8613812345678", "8613812345678", "+86 13812345678",
                 hashlib.md5(b"+8613812345678").hexdigest(), base64.b64encode(PHONE.encode()).decode()):
        assert {h.type for h in profile.match(text)} == {"phone_number"}, text


def test_values_inside_longer_strings(profile: DeviceProfile) -> None:
    assert {h.type for h in profile.match(f"did={IMEI};m={MAC}")} == {"imei", "mac_address"}
    assert {h.type for h in profile.match(f"md5:{hashlib.md5(IMEI.encode()).hexdigest()}")} == {"imei"}
    assert {h.type for h in profile.match("联系人 欧阳明 的电话")} == {"real_name"}
    assert {h.type for h in profile.match("Mozilla/5.0 (Linux; Android 12; Pixel 7 Build/TQ3A)")} == {"device_model"}
    assert {h.value for h in profile.match("x FLOWAUDIT-CONTACT-2 y")} == {"FLOWAUDIT-CONTACT-2"}


def test_short_values_only_match_whole_fields(profile: DeviceProfile) -> None:
    assert {h.type for h in profile.match("12")} == {"os_version"}
    assert profile.match("v12.3 build 1212") == []
    assert profile.match(f"{IMEI}0") == []
    assert profile.match("nothing to see here") == []
    assert profile.match("") == []


def test_index_is_built_once_and_rebuilt_on_request() -> None:
    profile = DeviceProfile.from_mapping({"imei": IMEI})
    index = profile.index
    assert profile.index is index
    profile.values["imsi"] = ["460001234567890"]
    profile.invalidate()
    assert profile.index is not index
    assert profile.match("460001234567890")[0].type == "imsi"


def test_variant_table_size_is_bounded() -> None:
    profile = DeviceProfile.from_mapping({"imei": IMEI, "mac_address": MAC, "phone_number": PHONE})
    index = profile.index
    assert 100 < len(index.exact) + len(index.folded) < 3000
    assert len(value_forms("mac_address", MAC)) >= 6


def test_location_lists_and_bad_values() -> None:
    profile = DeviceProfile.from_mapping({"precise_location": [116.397128, 39.916527]})
    assert profile.to_mapping() == {"precise_location": ["116.397128,39.916527"]}
    assert profile.index.locations == [(39.916527, 116.397128)]
    with pytest.raises(ProfileError):
        DeviceProfile.from_mapping({"imei": {"a": 1}})

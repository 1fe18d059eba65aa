from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowaudit.core import validators as v


def _luhn_complete(prefix: str) -> str:
    for digit in "0123456789":
        if v.luhn_ok(prefix + digit):
            return prefix + digit
    raise AssertionError


def test_luhn() -> None:
    assert v.luhn_ok("79927398713")
    assert not v.luhn_ok("79927398710")
    assert not v.luhn_ok("")
    assert not v.luhn_ok("12a4")


def test_imei() -> None:
    assert v.is_imei("490154203237518")
    assert v.is_imei("867530012345671") == v.luhn_ok("867530012345671")
    assert not v.is_imei("490154203237517")          # check digit wrong: an order number
    assert not v.is_imei("000000000000000")
    assert not v.is_imei("49015420323751")           # 14 digits
    assert not v.is_imei("4901542032375180")


def test_meid_imsi_iccid() -> None:
    assert v.is_meid("A0000038DC5B21")
    assert not v.is_meid("12345678901234")           # digits only: not shape evidence
    assert v.is_meid("99000123456789", strict=False)
    assert v.is_imsi("460001234567890")
    assert v.is_imsi("460111234567895")
    assert not v.is_imsi("460991234567890")          # unknown Chinese MNC
    assert not v.is_imsi("310150123456789")
    assert v.is_imsi("310150123456789", china_only=False)
    assert v.is_iccid("89860012345678901234")
    assert v.is_iccid("898600D6141850128563")
    assert not v.is_iccid("12345678901234567890")
    assert v.is_iccid(_luhn_complete("891004234814455936"), china_only=False)


def test_id_card() -> None:
    assert v.is_id_card("11010519491231002X")
    assert v.is_id_card("110101199003074477") == (v.id_card_checksum("11010119900307447") == "7")
    good = "11010119900307" + "123"
    good += v.id_card_checksum(good)
    assert v.is_id_card(good)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert not v.is_id_card(bad)                     # 18 digits failing the checksum
    assert not v.is_id_card("110101199002301234")    # 30 February
    assert not v.is_id_card("990101199001011234")    # no such province
    future = "110101" + "20990101" + "123"
    assert not v.is_id_card(future + v.id_card_checksum(future), today=dt.date(2026, 1, 1))


def test_bank_card() -> None:
    assert v.is_bank_card("6222021234567890128") == v.luhn_ok("6222021234567890128")
    assert v.is_bank_card(_luhn_complete("622202123456789012"))
    assert v.is_bank_card("4111111111111111")
    assert v.is_bank_card("5555555555554444")
    assert v.is_bank_card("2223000048400011")
    assert not v.is_bank_card("4111111111111112")    # Luhn fails
    assert not v.is_bank_card(_luhn_complete("301234567890123"))   # BIN not in scope
    assert not v.is_bank_card(_luhn_complete("173274840012345"))   # a microsecond timestamp
    assert v.card_network("6212") == "unionpay"
    assert v.card_network("2720") == "mastercard"
    assert v.card_network("2721") is None


def test_mobile_numbers() -> None:
    assert v.normalize_cn_mobile("13812345678") == "13812345678"
    assert v.normalize_cn_mobile("+8613812345678") == "13812345678"
    assert v.normalize_cn_mobile("+86 138 1234 5678") == "13812345678"
    assert v.normalize_cn_mobile("008613812345678") == "13812345678"
    assert v.normalize_cn_mobile("138-1234-5678") == "13812345678"
    assert v.normalize_cn_mobile("12812345678") is None
    assert v.normalize_cn_mobile("15412345678") is None        # 154 is not allocated
    assert v.normalize_cn_mobile("1732748400") is None         # a timestamp in seconds
    assert v.normalize_cn_mobile("1732748400123") is None      # in milliseconds


def test_email() -> None:
    assert v.is_email("zhang.san@example.com")
    assert v.is_email("a+b@mail.qq.com")
    assert not v.is_email("icon@2x.png")
    assert not v.is_email("not an email")
    assert not v.is_email("user@localhost")


def test_mac() -> None:
    assert v.normalize_mac("AC:DE:48:00:11:22") == "ac:de:48:00:11:22"
    assert v.normalize_mac("ac-de-48-00-11-22") == "ac:de:48:00:11:22"
    assert v.normalize_mac("acde48001122") is None
    assert v.normalize_mac("acde48001122", bare=True) == "ac:de:48:00:11:22"
    for placeholder in ("02:00:00:00:00:00", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        assert v.normalize_mac(placeholder) is None
    assert v.normalize_mac("ac:de:48:00:11") is None


def test_uuid_and_advertising_ids() -> None:
    assert v.is_uuid("9C868E57-38B5-4272-A456-05F2EEBFAA02")
    assert not v.is_uuid("00000000-0000-0000-0000-000000000000")
    assert v.uuid_version("1fe9a970-efbb-29e0-0bdd-f5dbbf751ab5") == 2
    assert v.is_advertising_id("1fe9a970-efbb-29e0-0bdd-f5dbbf751ab5")
    assert v.is_advertising_id("0" * 16) is False
    assert v.is_advertising_id("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
    assert v.is_android_id("9774d56d682e549c")
    assert not v.is_android_id("9774d56d682e549g")


def test_ip() -> None:
    assert v.public_ip("114.114.114.114") == "114.114.114.114"
    assert v.public_ip("240e:3b7:3272:d8d0::1") == "240e:3b7:3272:d8d0::1"
    for private in ("192.168.1.8", "10.2.0.1", "127.0.0.1", "100.64.1.1", "169.254.0.3", "::1", "0.0.0.0"):
        assert v.public_ip(private) is None
    assert v.public_ip("1.2.3") is None
    assert v.public_ip("hello") is None


def test_versions() -> None:
    assert v.looks_like_version("1.2.3")
    assert v.looks_like_version("10.0.1.15")
    assert v.looks_like_version("v2.3")
    assert not v.looks_like_version("114.114.114.114")


def test_coordinates() -> None:
    assert v.parse_coordinate("39.90421") == (39.90421, 5)
    assert v.parse_coordinate(116.40739) == (116.40739, 5)
    assert v.parse_coordinate("abc") is None
    assert v.parse_coordinate(39) is None
    assert v.parse_coordinate_pair("116.40739,39.90421") == (39.90421, 116.40739, 5)
    assert v.parse_coordinate_pair("39.90421,116.40739") == (39.90421, 116.40739, 5)
    assert v.parse_coordinate_pair("0.0,0.0") is None
    assert v.parse_coordinate_pair("200.1,300.2") is None


def test_package_names() -> None:
    assert v.is_package_name("com.tencent.mm")
    assert v.is_package_name("com.ss.android.ugc.aweme")
    assert not v.is_package_name("www.baidu.com")
    assert not v.is_package_name("api.example.cn")
    assert not v.is_package_name("com.example.MainActivity")
    assert not v.is_package_name("image.png")
    assert not v.is_package_name("nodots")


def test_entropy() -> None:
    assert v.shannon_entropy(b"") == 0
    assert v.shannon_entropy(b"aaaa") == 0
    assert v.shannon_entropy(bytes(range(256))) == pytest.approx(8.0)


@given(st.text(max_size=40))
def test_validators_never_raise(text: str) -> None:
    for check in (v.is_imei, v.is_meid, v.is_imsi, v.is_iccid, v.is_id_card, v.is_bank_card, v.is_cn_mobile,
                  v.is_email, v.is_mac, v.is_uuid, v.is_advertising_id, v.is_android_id, v.public_ip,
                  v.looks_like_version, v.parse_coordinate, v.parse_coordinate_pair, v.is_package_name):
        check(text)


def test_plausible_tac() -> None:
    assert v.plausible_tac("490154203237518")
    assert v.plausible_tac("771234567890120") is False
    assert v.plausible_tac("867530012345674")
    assert v.plausible_tac("354875091234564")

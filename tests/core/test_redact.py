from flowaudit.core.redact import mask_text, preview, value_hash


def test_preview_hides_the_middle_of_every_value():
    assert preview("867530012345672") == "86***********72"
    assert preview("abc") == "***"
    assert preview("abcdefg") == "a*****g"
    long = "x" * 200
    assert len(preview(long)) < 20


def test_value_hash_is_salted_and_stable():
    assert value_hash("13812345678", b"a") == value_hash("13812345678", b"a")
    assert value_hash("13812345678", b"a") != value_hash("13812345678", b"b")
    assert len(value_hash("v", b"a")) == 16


def test_mask_text_replaces_longest_values_first():
    text = "imei=867530012345672&short=8675300"
    masked = mask_text(text, ["8675300", "867530012345672"])
    assert "867530012345672" not in masked and "8675300" not in masked
    assert masked.startswith("imei=86***********72")

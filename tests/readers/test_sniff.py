import pytest

from flowaudit.readers.sniff import sniff_format


@pytest.mark.parametrize("head,expected", [
    (b"\xd4\xc3\xb2\xa1" + b"\0" * 20, "pcap"),
    (b"\xa1\xb2\xc3\xd4" + b"\0" * 20, "pcap"),
    (b"\x4d\x3c\xb2\xa1" + b"\0" * 20, "pcap"),
    (b"\x0a\x0d\x0d\x0a" + b"\0" * 20, "pcap"),
    (b"1543:5:flows", "mitm"),
    (b'\xef\xbb\xbf  {"log": {"entries": []}}', "har"),
    (b"GIF89a....", None),
    (b"", None),
])
def test_format_is_judged_by_content(tmp_path, head, expected):
    path = tmp_path / "capture.txt"
    path.write_bytes(head)
    assert sniff_format(path) == expected

from __future__ import annotations

from flowaudit.readers.capture.tls_keys import hkdf_expand_label, hkdf_extract, tls12_prf


def test_rfc9001_initial_secrets() -> None:
    """RFC 9001 appendix A.1."""
    initial = hkdf_extract(bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), bytes.fromhex("8394c8f03e515708"))
    assert initial.hex() == "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44"
    client = hkdf_expand_label(initial, "client in", b"", 32)
    assert client.hex() == "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"
    assert hkdf_expand_label(client, "quic key", b"", 16).hex() == "1f369613dd76d5467730efcbe3b1a22d"


def test_tls12_prf_sha256_vector() -> None:
    """The widely used TLS 1.2 PRF (SHA-256) test vector."""
    out = tls12_prf(bytes.fromhex("9bbe436ba940f017b17652849a71db35"), b"test label",
                    bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"), 100)
    assert out.hex() == ("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e"
                         "14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5"
                         "a72e5a5110fff70187347b66")


def test_sha384_lengths() -> None:
    secret = bytes(48)
    assert len(hkdf_expand_label(secret, "key", b"", 32, "sha384")) == 32
    assert len(tls12_prf(secret, b"key expansion", bytes(64), 88, "sha384")) == 88

"""A TLS connection in a capture: its server name, and with a key log, its decrypted application data.

Without secrets for the connection the ClientHello's server name becomes a TLS_SNI observation. With an NSS
key log entry (CLIENT_RANDOM for TLS 1.2; handshake and traffic secrets for TLS 1.3) the records are
decrypted (AES-GCM, ChaCha20-Poly1305) and the plaintext goes to the HTTP/1.1 or HTTP/2 parser, so the
requests come out as full REQUEST observations with ``tls=True``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from flowaudit.core.model import ObservationKind
from flowaudit.readers.capture.http1 import Http1Parser, HttpConversation, HttpExchange, header_value
from flowaudit.readers.capture.http2 import PREFACE, Http2Connection
from flowaudit.readers.capture.tls import (
    ClientHello,
    HandshakeBuffer,
    RecordBuffer,
    ServerHello,
    TlsParseError,
    parse_client_hello,
    parse_server_hello,
)
from flowaudit.readers.capture.tls_keys import hkdf_expand_label, tls12_prf
from flowaudit.readers.capture.websocket import WebSocketReader

if TYPE_CHECKING:
    from flowaudit.readers.capture.connection import TcpConnection

# suite -> (AEAD, key length, hash, TLS 1.2 fixed IV length)
GCM, CHACHA = "aes-gcm", "chacha20-poly1305"
SUITES: dict[int, tuple[str, int, str, int]] = {
    0x1301: (GCM, 16, "sha256", 12), 0x1302: (GCM, 32, "sha384", 12), 0x1303: (CHACHA, 32, "sha256", 12),
    0x009C: (GCM, 16, "sha256", 4), 0x009E: (GCM, 16, "sha256", 4), 0xC02B: (GCM, 16, "sha256", 4),
    0xC02F: (GCM, 16, "sha256", 4), 0x00A8: (GCM, 16, "sha256", 4), 0xCCAC: (CHACHA, 32, "sha256", 12),
    0x009D: (GCM, 32, "sha384", 4), 0x009F: (GCM, 32, "sha384", 4), 0xC02C: (GCM, 32, "sha384", 4),
    0xC030: (GCM, 32, "sha384", 4), 0x00A9: (GCM, 32, "sha384", 4),
    0xCCA8: (CHACHA, 32, "sha256", 12), 0xCCA9: (CHACHA, 32, "sha256", 12), 0xCCAA: (CHACHA, 32, "sha256", 12),
}
HANDSHAKE, CCS, ALERT, APPDATA = 22, 20, 21, 23
APP_HOLD_CAP = 1 << 20


class _Cipher:
    """Record protection state of one direction."""

    __slots__ = ("aead", "iv", "seq", "tls13", "explicit_nonce")

    def __init__(self, aead_name: str, key: bytes, iv: bytes, tls13: bool) -> None:
        self.aead = AESGCM(key) if aead_name == GCM else ChaCha20Poly1305(key)
        self.iv = iv
        self.seq = 0
        self.tls13 = tls13
        self.explicit_nonce = not tls13 and aead_name == GCM

    def open(self, header: bytes, fragment: bytes) -> tuple[int, bytes]:
        """Decrypt one record; returns (content type, plaintext)."""
        seq = self.seq
        if self.tls13:
            nonce = bytes(a ^ b for a, b in zip(self.iv, seq.to_bytes(12, "big"), strict=True))
            inner = self.aead.decrypt(nonce, fragment, header)
            self.seq += 1
            end = len(inner)
            while end and inner[end - 1] == 0:
                end -= 1
            if not end:
                raise InvalidTag
            return inner[end - 1], inner[:end - 1]
        if self.explicit_nonce:
            nonce = self.iv + fragment[:8]
            body = fragment[8:]
        else:
            nonce = bytes(a ^ b for a, b in zip(self.iv, seq.to_bytes(12, "big"), strict=True))
            body = fragment
        aad = seq.to_bytes(8, "big") + header[:3] + (len(body) - 16).to_bytes(2, "big")
        plain = self.aead.decrypt(nonce, body, aad)
        self.seq += 1
        return header[0], plain


class _Side:
    __slots__ = ("records", "handshake", "cipher", "secret", "next_secret", "encrypted", "broken")

    def __init__(self) -> None:
        self.records = RecordBuffer()
        self.handshake = HandshakeBuffer()
        self.cipher: _Cipher | None = None
        self.secret: bytes | None = None        # TLS 1.3 current traffic secret
        self.next_secret: bytes | None = None   # TLS 1.3 application secret after Finished
        self.encrypted = False                  # TLS 1.2: ChangeCipherSpec seen
        self.broken = False


class TlsSession:
    def __init__(self, conn: TcpConnection) -> None:
        self.conn = conn
        self.done = False
        self.client = _Side()
        self.server = _Side()
        self.hello: ClientHello | None = None
        self.server_hello: ServerHello | None = None
        self.secrets: dict[str, bytes] | None = None
        self.suite: tuple[str, int, str, int] | None = None
        self.reported = False
        self.decrypted = False
        self.app: Http1App | Http2App | None = None
        self.app_held: list[tuple[bool, bytes]] = []
        self.emitted = 0

    # input ---------------------------------------------------------------------------------------------

    def data(self, from_client: bool, data: bytes) -> None:
        if self.done:
            return
        side = self.client if from_client else self.server
        if side.broken:
            return
        for ctype, header, fragment in side.records.feed(data):
            self._record(side, from_client, ctype, header, fragment)
            if self.done or side.broken:
                return
        if side.records.broken:
            self._fail(side, "not a TLS stream")

    def gap(self, from_client: bool, missing: int) -> None:
        side = self.client if from_client else self.server
        if self.hello is None:
            self._report_sni("capture gap before the end of the ClientHello")
            return
        if not side.broken:
            side.broken = True
            if self.app is not None:
                self.app.gap(from_client, missing)
            elif not self.decrypted:
                self._report_sni("capture gap in the TLS handshake")

    def finish(self) -> None:
        if self.hello is not None and not self.decrypted:
            self._report_sni("connection ended before any record could be decrypted" if self.secrets else None)
        if self.app is not None:
            self.app.finish()
        if self.decrypted and not self.emitted and self.hello is not None:
            # decrypted, but no request came out of it: the server name is all there is to report
            self.conn.host_only(ObservationKind.TLS_SNI, self.hello.server_name)

    # records ------------------------------------------------------------------------------------------

    def _record(self, side: _Side, from_client: bool, ctype: int, header: bytes, fragment: bytes) -> None:
        if ctype == CCS:
            if self.suite is not None and not self._tls13:
                side.encrypted = True
            return
        encrypted = side.cipher is not None and (side.encrypted or (self._tls13 and ctype == APPDATA))
        if not encrypted:
            if ctype == HANDSHAKE:
                for mtype, body in side.handshake.feed(fragment):
                    self._handshake(side, from_client, mtype, body)
                    if self.done:
                        return
            elif ctype == APPDATA and self.hello is not None:
                if self.secrets is not None and side.cipher is None and self.server_hello is not None:
                    self._fail(side, "no usable keys for this connection")
            return
        assert side.cipher is not None
        try:
            inner_type, plain = side.cipher.open(header, fragment)
        except (InvalidTag, ValueError):
            self._fail(side, "TLS record failed to decrypt (key log does not match this connection)")
            return
        if not self.decrypted:
            self.decrypted = True
        if inner_type == APPDATA:
            self._app_data(from_client, plain)
        elif inner_type == HANDSHAKE:
            for mtype, body in side.handshake.feed(plain):
                self._handshake(side, from_client, mtype, body)

    @property
    def _tls13(self) -> bool:
        return self.server_hello is not None and self.server_hello.version == 0x0304

    def _handshake(self, side: _Side, from_client: bool, mtype: int, body: bytes) -> None:
        if from_client and mtype == 1 and self.hello is None:
            try:
                self.hello = parse_client_hello(body)
            except TlsParseError:
                self._report_sni("malformed ClientHello")
                return
            keylog = self.conn.ctx.keylog
            self.secrets = keylog.get(self.hello.random) if keylog is not None else None
            if self.secrets is None:
                self._report_sni("no secrets for this connection in the key log" if keylog is not None else None)
            return
        if not from_client and mtype == 2 and self.hello is not None:
            try:
                hello = parse_server_hello(body)
            except TlsParseError:
                self._report_sni("malformed ServerHello")
                return
            if hello.retry_request:
                return
            self.server_hello = hello
            self._setup_keys()
            return
        if mtype == 20 and self._tls13 and side.next_secret is not None:  # Finished: application keys next
            self._install13(side, side.next_secret)
            side.next_secret = None
        elif mtype == 24 and self._tls13 and side.secret is not None:  # KeyUpdate
            assert self.suite is not None
            self._install13(side, hkdf_expand_label(side.secret, "traffic upd", b"", _hash_len(self.suite[2]),
                                                    self.suite[2]))

    def _setup_keys(self) -> None:
        hello, server_hello, secrets = self.hello, self.server_hello, self.secrets
        assert hello is not None and server_hello is not None and secrets is not None
        suite = SUITES.get(server_hello.cipher_suite)
        if suite is None:
            self._report_sni(f"cipher suite 0x{server_hello.cipher_suite:04x} is not supported for decryption")
            return
        self.suite = suite
        aead, key_len, hash_name, iv_len = suite
        if server_hello.version == 0x0304:
            needed = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")
            if any(name not in secrets for name in needed):
                self._report_sni("key log lacks the TLS 1.3 secrets of this connection")
                return
            self._install13(self.client, secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])
            self._install13(self.server, secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
            self.client.next_secret = secrets["CLIENT_TRAFFIC_SECRET_0"]
            self.server.next_secret = secrets["SERVER_TRAFFIC_SECRET_0"]
            return
        master = secrets.get("CLIENT_RANDOM")
        if master is None:
            self._report_sni("key log lacks the TLS 1.2 master secret of this connection")
            return
        block = tls12_prf(master, b"key expansion", server_hello.random + hello.random, 2 * (key_len + iv_len),
                          hash_name)
        ckey, skey = block[:key_len], block[key_len:2 * key_len]
        civ, siv = block[2 * key_len:2 * key_len + iv_len], block[2 * key_len + iv_len:]
        self.client.cipher = _Cipher(aead, ckey, civ, False)
        self.server.cipher = _Cipher(aead, skey, siv, False)

    def _install13(self, side: _Side, secret: bytes) -> None:
        assert self.suite is not None
        aead, key_len, hash_name, _ = self.suite
        side.secret = secret
        side.cipher = _Cipher(aead, hkdf_expand_label(secret, "key", b"", key_len, hash_name),
                              hkdf_expand_label(secret, "iv", b"", 12, hash_name), True)

    # outcomes ---------------------------------------------------------------------------------------------

    def _fail(self, side: _Side, reason: str) -> None:
        side.broken = True
        if not self.decrypted:
            self._report_sni(reason if self.hello is not None else None)
        elif self.app is not None:
            self.app.note(reason)

    def _report_sni(self, error: str | None) -> None:
        if self.reported or self.decrypted:
            self.done = self.done or not self.decrypted
            return
        self.reported = True
        self.done = True
        if self.hello is None:
            return
        self.conn.ctx.undecryptable_tls += 1
        name = self.hello.server_name
        if error is None and not name:
            error = "ClientHello without server name"
        self.conn.host_only(ObservationKind.TLS_SNI, name, error)

    def _app_data(self, from_client: bool, plain: bytes) -> None:
        if self.app is None:
            if not from_client:
                if sum(len(d) for _, d in self.app_held) < APP_HOLD_CAP:
                    self.app_held.append((False, plain))
                return
            self.app = Http2App(self) if plain.startswith(PREFACE[:len(plain)]) and plain else Http1App(self)
            self.app.feed(True, plain)
            held, self.app_held = self.app_held, []
            for flag, data in held:
                self.app.feed(flag, data)
            return
        self.app.feed(from_client, plain)

    def emit(self, exchange: HttpExchange) -> None:
        from flowaudit.readers.capture.connection import exchange_observation, ip_text

        if not exchange.method:
            return
        self.emitted += 1
        conn = self.conn
        authority = exchange.authority or (self.hello.server_name if self.hello else None)
        obs = exchange_observation(exchange, ip_text(conn.client_ip), ip_text(conn.server_ip), conn.port,
                                   True, authority=exchange.authority, scheme=exchange.scheme or "https")
        if obs.host == obs.server_ip and authority:
            obs.host = authority
        conn.emit(obs)


class Http1App:
    def __init__(self, session: TlsSession) -> None:
        self.session = session
        self.conv = HttpConversation(session.emit, session.conn.ctx.clock)
        self.conv.on_tunnel = self._upgraded
        self.req = Http1Parser(self.conv, True)
        self.resp = Http1Parser(self.conv, False)
        self.ws: WebSocketReader | None = None

    def _upgraded(self, client_rest: bytes, server_rest: bytes, exchange: HttpExchange) -> None:
        if exchange.method == "CONNECT":  # a proxy reached over TLS: what follows is not parsed
            return
        from flowaudit.readers.capture.connection import ip_text, websocket_reader

        conn = self.session.conn
        hello = self.session.hello
        self.ws = websocket_reader(exchange, conn.emit, ip_text(conn.client_ip), ip_text(conn.server_ip), conn.port,
                                   tls=True, clock=conn.ctx.clock,
                                   authority=None if header_value(exchange.headers, "host") else
                                   (hello.server_name if hello else None))
        if client_rest:
            self.ws.feed(client_rest)

    def feed(self, from_client: bool, data: bytes) -> None:
        if self.ws is not None:
            if from_client:
                self.ws.feed(data)
            return
        (self.req if from_client else self.resp).feed(data)

    def gap(self, from_client: bool, missing: int) -> None:
        if self.ws is not None:
            if from_client:
                self.ws.gap()
            return
        (self.req if from_client else self.resp).gap(missing)

    def note(self, text: str) -> None:
        for exchange in self.conv.queue:
            exchange.notes.append(text)

    def finish(self) -> None:
        self.req.finish()
        self.resp.finish()
        self.conv.finish()
        if self.ws is not None:
            self.ws.finish()


class Http2App:
    def __init__(self, session: TlsSession) -> None:
        self.h2 = Http2Connection(session.emit, session.conn.ctx.clock)

    def feed(self, from_client: bool, data: bytes) -> None:
        self.h2.feed(from_client, data)

    def gap(self, from_client: bool, missing: int) -> None:
        self.h2.gap(from_client)

    def note(self, text: str) -> None:
        for stream in self.h2.streams.values():
            stream.exchange.notes.append(text)

    def finish(self) -> None:
        self.h2.finish()


def _hash_len(name: str) -> int:
    return 48 if name == "sha384" else 32

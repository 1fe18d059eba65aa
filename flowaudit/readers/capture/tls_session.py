"""A TLS connection in a capture: its server name, and with a key log, its decrypted application data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowaudit.core.model import ObservationKind
from flowaudit.readers.capture.tls import (
    ClientHello,
    HandshakeBuffer,
    RecordBuffer,
    TlsParseError,
    parse_client_hello,
)

if TYPE_CHECKING:
    from flowaudit.readers.capture.connection import TcpConnection


class TlsSession:
    def __init__(self, conn: TcpConnection) -> None:
        self.conn = conn
        self.done = False
        self.client_records = RecordBuffer()
        self.client_handshake = HandshakeBuffer()
        self.hello: ClientHello | None = None
        self.reported = False

    def data(self, from_client: bool, data: bytes) -> None:
        if self.done:
            return
        if from_client and self.hello is None:
            for ctype, _header, fragment in self.client_records.feed(data):
                if ctype != 22:
                    continue
                for mtype, body in self.client_handshake.feed(fragment):
                    if mtype == 1:
                        self._client_hello(body)
                        return
            if self.client_records.broken:
                self._give_up("not a TLS stream")

    def _client_hello(self, body: bytes) -> None:
        try:
            self.hello = parse_client_hello(body)
        except TlsParseError:
            self._give_up("malformed ClientHello")
            return
        self._report_sni()

    def _report_sni(self, error: str | None = None) -> None:
        if self.reported:
            return
        self.reported = True
        self.conn.ctx.undecryptable_tls += 1
        name = self.hello.server_name if self.hello else None
        self.conn.host_only(ObservationKind.TLS_SNI, name,
                            error or (None if name else "ClientHello without server name"))
        self.done = True

    def _give_up(self, reason: str) -> None:
        self.done = True

    def gap(self, from_client: bool, missing: int) -> None:
        if self.hello is None and from_client:
            self._give_up("capture gap before the ClientHello was complete")

    def finish(self) -> None:
        pass

"""Incremental HTTP/1.x parsing of a reassembled TCP stream, one parser per direction.

Handles keep-alive and pipelined requests, Content-Length, chunked and read-until-close bodies, 1xx interim
responses (100-continue), captures that start in the middle of a message (resynchronises on the next request
or status line) and holes in the stream (``gap``). Bodies are kept as sent (de-chunked, not decompressed).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

REQUEST_BODY_CAP = 4 << 20
RESPONSE_HEAD_CAP = 512
HEAD_CAP = 64 << 10
MAX_QUEUED = 64
QUEUED_BODY_CAP = 16 << 20   # request bodies held while waiting for responses, per connection

REQUEST_LINE = re.compile(
    rb"(?:GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE|PROPFIND|PROPPATCH|MKCOL|COPY|MOVE|LOCK|UNLOCK)"
    rb" [^\s]+ HTTP/1\.[01]\r?\n")
STATUS_LINE = re.compile(rb"HTTP/1\.[01] [1-5]\d\d(?: [^\r\n]*)?\r?\n")
METHOD_START = re.compile(rb"[A-Z]{3,9} ")
METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"HEAD ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE ",
           b"PROPFIND ", b"PROPPATCH ", b"MKCOL ", b"COPY ", b"MOVE ", b"LOCK ", b"UNLOCK ")


def starts_like_request(data: bytes) -> bool:
    """True when ``data`` begins with (a prefix of) an HTTP method and a space."""
    for method in METHODS:
        n = min(len(data), len(method))
        if n and data[:n] == method[:n]:
            return True
    return False

SYNC, HEAD, BODY_LEN, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILER, BODY_CLOSE, DEAD, HOLD = range(10)


def decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_header_lines(lines: list[bytes]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            prev_name, prev_value = headers[-1]
            headers[-1] = (prev_name, f"{prev_value} {decode_text(line.strip())}")
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        headers.append((decode_text(name.strip()), decode_text(value.strip())))
    return headers


def header_value(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


class HttpExchange:
    """One request and, when the capture holds it, its response."""

    __slots__ = ("ts", "method", "target", "version", "headers", "body", "body_size", "request_done", "notes",
                 "status", "response_headers", "response_head", "response_size", "response_done", "authority",
                 "scheme")

    def __init__(self, ts: float, method: str, target: str, version: str, headers: list[tuple[str, str]]) -> None:
        self.ts = ts
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = bytearray()
        self.body_size = 0
        self.request_done = False
        self.notes: list[str] = []
        self.status: int | None = None
        self.response_headers: list[tuple[str, str]] = []
        self.response_head = bytearray()
        self.response_size: int | None = None
        self.response_done = False
        self.authority: str | None = None   # HTTP/2 :authority
        self.scheme: str | None = None      # HTTP/2 :scheme

    def add_body(self, chunk: bytes | bytearray | memoryview) -> None:
        room = REQUEST_BODY_CAP - len(self.body)
        if room > 0:
            self.body += chunk[:room] if len(chunk) > room else chunk
            if len(chunk) > room:
                self.notes.append(f"request body truncated at {REQUEST_BODY_CAP} bytes")
        self.body_size += len(chunk)

    def add_response_body(self, chunk: bytes | bytearray | memoryview) -> None:
        room = RESPONSE_HEAD_CAP - len(self.response_head)
        if room > 0:
            self.response_head += chunk[:room]
        self.response_size = (self.response_size or 0) + len(chunk)


class HttpConversation:
    """Pairs the requests and responses of one connection and emits each exchange once both are done."""

    def __init__(self, emit: Callable[[HttpExchange], None], clock: Callable[[], float]) -> None:
        self.queue: deque[HttpExchange] = deque()
        self.emit = emit
        self.clock = clock
        self.upgraded = False
        self.owed_responses = 0
        self.requests: Http1Parser | None = None
        # called with (client bytes, server bytes, the CONNECT or Upgrade exchange) when the connection stops
        # carrying HTTP/1: a CONNECT tunnel opened, or a WebSocket upgrade was accepted
        self.on_tunnel: Callable[[bytes, bytes, HttpExchange], None] | None = None

    def tunnel_decided(self, opened: bool, server_rest: bytes, exchange: HttpExchange | None = None) -> None:
        """The response to a CONNECT or Upgrade arrived: either the connection now carries another protocol,
        or the client's held bytes are parsed as HTTP again."""
        requests = self.requests
        if requests is None or requests.state != HOLD:
            return
        if opened and self.on_tunnel is not None and exchange is not None:
            held = bytes(requests.buf)
            requests.buf.clear()
            requests.state = DEAD
            self.finish()
            self.on_tunnel(held, server_rest, exchange)
            return
        requests.state = HEAD
        if requests.buf:
            requests._run()

    def new_request(self, exchange: HttpExchange) -> None:
        queue = self.queue
        queue.append(exchange)
        if len(queue) > MAX_QUEUED or (len(queue) > 1 and sum(len(e.body) for e in queue) > QUEUED_BODY_CAP):
            # responses are not coming (or come too late): emit the oldest without waiting further
            oldest = queue.popleft()
            oldest.notes.append("emitted before its response: too many requests waiting on this connection")
            if oldest.status is None:
                self.owed_responses += 1  # its response, when it comes, must not pair with a later request
            self.emit(oldest)

    def pair_response(self) -> HttpExchange | None:
        if self.owed_responses:
            self.owed_responses -= 1
            return None
        for exchange in self.queue:
            if exchange.status is None:
                return exchange
        return None

    def settle(self) -> None:
        queue = self.queue
        while queue and queue[0].request_done and queue[0].response_done:
            self.emit(queue.popleft())

    def finish(self) -> None:
        while self.queue:
            self.emit(self.queue.popleft())


class Http1Parser:
    """Parses one direction (requests when ``is_request``, responses otherwise) of an HTTP/1.x connection."""

    __slots__ = ("conv", "is_request", "buf", "state", "msg", "remaining", "junk", "chunked")

    def __init__(self, conv: HttpConversation, is_request: bool) -> None:
        self.conv = conv
        if is_request:
            conv.requests = self
        self.is_request = is_request
        self.buf = bytearray()
        self.state = SYNC
        self.msg: HttpExchange | None = None
        self.remaining = 0
        self.junk = 0
        self.chunked = False

    # stream input ---------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        state = self.state
        if state == DEAD:
            return
        if not self.buf and (state == BODY_LEN or state == CHUNK_DATA) and len(data) <= self.remaining:
            self._body(data)
            self.remaining -= len(data)
            if self.remaining == 0:
                self._end_of_data()
            return
        if state == BODY_CLOSE:
            self._body(data)
            return
        if state == HOLD:  # bytes sent after a CONNECT, before its response says what they are
            if len(self.buf) < HEAD_CAP:
                self.buf += data
            return
        self.buf += data
        self._run()

    def gap(self, missing: int) -> None:
        state = self.state
        if state == DEAD:
            return
        msg = self.msg
        self.buf.clear()
        if msg is not None and state in (BODY_LEN, CHUNK_DATA) and missing <= self.remaining:
            self.remaining -= missing
            self._note(f"capture gap: {missing} bytes of the {'request' if self.is_request else 'response'} body missing")
            if not self.is_request:
                msg.response_size = (msg.response_size or 0) + missing
            else:
                msg.body_size += missing
            if self.remaining == 0:
                self._end_of_data()
            return
        if msg is not None and state == BODY_CLOSE:
            self._note(f"capture gap: {missing} bytes of the response body missing")
            msg.response_size = (msg.response_size or 0) + missing
            return
        if msg is not None:
            self._note(f"capture gap: {missing} bytes missing, message incomplete")
            self._done()
        self.state = SYNC

    def finish(self) -> None:
        """The connection ended (FIN, RST, idle timeout, end of capture)."""
        if self.msg is not None:
            if self.state == BODY_CLOSE:
                self._done()
            elif self.state != SYNC and self.state != HEAD:
                self._note("connection ended before the end of the "
                           f"{'request' if self.is_request else 'response'} body")
                self._done()
        self.state = DEAD
        self.buf.clear()

    # internals ------------------------------------------------------------------------------------------

    def _note(self, text: str) -> None:
        if self.msg is not None:
            self.msg.notes.append(text)

    def _body(self, chunk: bytes | bytearray) -> None:
        msg = self.msg
        if msg is None:
            return
        if self.is_request:
            msg.add_body(chunk)
        else:
            msg.add_response_body(chunk)

    def _end_of_data(self) -> None:
        if self.chunked:
            self.state = CHUNK_CRLF
            if self.buf:
                self._run()
        else:
            self._done()

    def _done(self) -> None:
        msg = self.msg
        self.msg = None
        self.state = HEAD
        self.chunked = False
        if msg is None:
            return
        if self.is_request:
            msg.request_done = True
            if self.conv.on_tunnel is not None and (msg.method == "CONNECT" or _websocket_upgrade(msg.headers)):
                self.state = HOLD
        else:
            msg.response_done = True
            if msg.response_size is None:
                msg.response_size = 0
        self.conv.settle()

    def _sync(self) -> bool:
        """Skip to the next request (or status) line. Messages are not always preceded by a line break
        (a body ends, the next request starts), so any position counts."""
        buf = self.buf
        m = (REQUEST_LINE if self.is_request else STATUS_LINE).search(buf)
        if m is None:
            keep = 64
            if len(buf) > keep:
                self.junk += len(buf) - keep
                del buf[:-keep]
            return False
        self.junk += m.start()
        del buf[:m.start()]
        self.state = HEAD
        return True

    def _run(self) -> None:
        buf = self.buf
        while buf:
            state = self.state
            if state == SYNC:
                if not self._sync():
                    return
            elif state == HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > HEAD_CAP or (len(buf) >= 10 and not self._plausible_start()):
                        self.state = SYNC
                        del buf[:1]
                        continue
                    return
                head = bytes(buf[:end])
                del buf[:end + 4]
                if not self._head(head):
                    self.state = SYNC
            elif state == BODY_LEN or state == CHUNK_DATA:
                n = min(len(buf), self.remaining)
                self._body(buf[:n])
                del buf[:n]
                self.remaining -= n
                if self.remaining == 0:
                    self._end_of_data()
            elif state == CHUNK_SIZE:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > 1024:
                        self._bad_chunk()
                    return
                line = bytes(buf[:nl]).split(b";", 1)[0].strip()
                del buf[:nl + 1]
                try:
                    size = int(line, 16)
                except ValueError:
                    self._bad_chunk()
                    continue
                if size == 0:
                    self.state = TRAILER
                else:
                    self.remaining = size
                    self.state = CHUNK_DATA
            elif state == CHUNK_CRLF:
                if buf[:2] == b"\r\n":
                    del buf[:2]
                elif buf[:1] == b"\n":
                    del buf[:1]
                elif len(buf) < 2 and buf[:1] == b"\r":
                    return
                self.state = CHUNK_SIZE
            elif state == TRAILER:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > HEAD_CAP:
                        self._done()
                    return
                line = bytes(buf[:nl]).strip()
                del buf[:nl + 1]
                if not line:
                    self._done()
            elif state == BODY_CLOSE:
                self._body(buf)
                buf.clear()
            elif state == HOLD:
                return
            else:  # DEAD
                buf.clear()
                return

    def _plausible_start(self) -> bool:
        head = bytes(self.buf[:10])
        if self.is_request:
            return METHOD_START.match(head) is not None
        return head.startswith(b"HTTP/1.")

    def _bad_chunk(self) -> None:
        self._note("malformed chunked encoding")
        self._done()
        self.state = SYNC

    def _head(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        first = lines[0]
        if self.is_request:
            m = REQUEST_LINE.match(first + b"\r\n")
            if m is None:
                self.junk += len(head) + 4
                return False
            parts = first.split(b" ")
            if len(parts) != 3 or not parts[2].isascii():
                # the pattern matched a prefix only (a bare LF ended the request line): not a request we can trust
                self.junk += len(head) + 4
                return False
            method, target, version = parts
            headers = parse_header_lines(lines[1:])
            msg = HttpExchange(self.conv.clock(), method.decode("ascii"), decode_text(target),
                               version.decode("ascii"), headers)
            self.msg = msg
            self.conv.new_request(msg)
            te = header_value(headers, "transfer-encoding")
            cl = header_value(headers, "content-length")
            if te is not None and "chunked" in te.lower():
                self.chunked = True
                self.state = CHUNK_SIZE
            elif cl is not None:
                length = _content_length(cl)
                if length is None:
                    self._note(f"invalid Content-Length {cl[:40]!r}")
                    self._done()
                    return True
                self.remaining = length
                self.state = BODY_LEN
                if length == 0:
                    self._done()
            else:
                self._done()
            return True
        m = STATUS_LINE.match(first + b"\r\n")
        if m is None:
            self.junk += len(head) + 4
            return False
        status = int(first[9:12])
        headers = parse_header_lines(lines[1:])
        if 100 <= status < 200 and status != 101:
            self.state = HEAD  # interim response (100-continue, 103 early hints): the final one follows
            return True
        paired = self.conv.pair_response()
        # a response whose request the capture did not hold is parsed, never emitted
        msg = paired if paired is not None else HttpExchange(self.conv.clock(), "", "", "", [])
        msg.status = status
        msg.response_headers = headers
        self.msg = msg
        if status == 101:
            self.conv.upgraded = True
            self._done()
            self.state = DEAD
            rest = bytes(self.buf)
            self.buf.clear()
            self.conv.tunnel_decided(_websocket_upgrade(msg.headers), rest, msg)
            return True
        te = header_value(headers, "transfer-encoding")
        cl = header_value(headers, "content-length")
        if msg.method == "CONNECT":
            opened = 200 <= status < 300
            if opened:
                self._done()
                self.state = DEAD
                rest = bytes(self.buf)
                self.buf.clear()
                self.conv.tunnel_decided(True, rest, msg)
                return True
            self.conv.tunnel_decided(False, b"")
        elif _websocket_upgrade(msg.headers):  # upgrade refused: the held bytes are HTTP again
            self.conv.tunnel_decided(False, b"")
        if msg.method == "HEAD" or status in (204, 304):
            self._done()
        elif te is not None and "chunked" in te.lower():
            self.chunked = True
            self.state = CHUNK_SIZE
        elif cl is not None and _content_length(cl) is not None:
            self.remaining = _content_length(cl) or 0
            self.state = BODY_LEN
            if self.remaining == 0:
                self._done()
        else:
            self.state = BODY_CLOSE
        return True


def _websocket_upgrade(headers: list[tuple[str, str]]) -> bool:
    upgrade = header_value(headers, "upgrade")
    return upgrade is not None and "websocket" in upgrade.lower()


def _content_length(value: str) -> int | None:
    value = value.split(",")[0].strip()
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value)

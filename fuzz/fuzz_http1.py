"""Fuzz target: the HTTP/1.x stream parser (both directions of one connection, fed in fuzz-chosen slices,
with holes), and the observation built from each exchange. Documented never to raise."""

from __future__ import annotations

import sys

from _harness import Pieces, instrumented_imports, main

with instrumented_imports():
    from flowaudit.readers.capture.connection import exchange_observation
    from flowaudit.readers.capture.http1 import Http1Parser, HttpConversation, HttpExchange

EXPECTED: tuple[type[BaseException], ...] = ()
SERVER = b"\n--server--\n"
PREFIXES = (b"", b"GET / HTTP/1.1\r\n", b"POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n",
            b"POST /a HTTP/1.0\r\nContent-Length: 5\r\n\r\n", b"HTTP/1.1 200 OK\r\n")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    pieces = Pieces(data)
    emitted: list[HttpExchange] = []
    conversation = HttpConversation(emitted.append, lambda: 1.0)
    request = Http1Parser(conversation, True)
    response = Http1Parser(conversation, False)
    mode = pieces.byte()
    request.feed(PREFIXES[mode % len(PREFIXES)])
    if mode & 0x80:
        # slices of either direction, and holes, where the input says
        while pieces.left:
            op = pieces.byte()
            if op % 11 == 0:
                (request if op & 0x10 else response).gap(pieces.byte() + 1)
                continue
            (request if op & 1 else response).feed(pieces.chunk(op >> 1))
    else:
        # the client stream, then SERVER and the server stream, each fed in slices of `step` bytes
        step = pieces.byte()
        client, _, server = pieces.rest().partition(SERVER)
        for parser, stream in ((request, client), (response, server)):
            for i in range(0, len(stream), step or len(stream) or 1):
                parser.feed(stream[i:i + step] if step else stream)
    request.finish()
    response.finish()
    conversation.finish()
    for exchange in emitted:
        obs = exchange_observation(exchange, "10.0.0.2", "10.0.0.1", 80, False)
        assert isinstance(obs.host, str) and isinstance(obs.body, bytes)
        _ = obs.url


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)

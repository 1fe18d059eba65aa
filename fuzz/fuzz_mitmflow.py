"""Fuzz target: the mitmproxy flow-dump reader. The input as a whole file, and as byte edits of a real
dump (an HTTP flow written by mitmproxy's own FlowWriter), so tnetstring parsing and flow migration are
reached. FlowFileError is the documented error."""

from __future__ import annotations

import io
import sys

from _harness import Pieces, instrumented_imports, main, scratch_file

with instrumented_imports():
    from flowaudit.readers.mitmflow import FlowFileError, read_flow_file

EXPECTED: tuple[type[BaseException], ...] = (FlowFileError,)
_DUMP: bytes | None = None


def valid_dump() -> bytes:
    global _DUMP
    if _DUMP is None:
        from mitmproxy import io as mitmio
        from mitmproxy.test import tflow

        out = io.BytesIO()
        writer = mitmio.FlowWriter(out)
        f = tflow.tflow(resp=True)
        f.request.content = b'{"imei": "867530012345672"}'
        writer.add(f)
        writer.add(tflow.twebsocketflow())
        _DUMP = out.getvalue()
    return _DUMP


def _read(data: bytes) -> None:
    try:
        for obs in read_flow_file(scratch_file("input.mitm", data)):
            assert isinstance(obs.host, str)
    except EXPECTED:
        pass


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris and libFuzzer expect
    _read(data)
    dump = bytearray(valid_dump())
    pieces = Pieces(data)
    while pieces.left >= 3:
        at = pieces.uint(2) % len(dump)
        op = pieces.byte()
        if op & 3 == 0:
            del dump[at:at + 1 + (op >> 2)]
        elif op & 3 == 1:
            dump[at:at] = pieces.chunk(op >> 2)
        else:
            dump[at] = op
    _read(bytes(dump))


if __name__ == "__main__":
    main(TestOneInput)
    sys.exit(0)

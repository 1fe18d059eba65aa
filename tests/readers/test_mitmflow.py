"""mitmproxy flows and flow dumps to Observations."""

from __future__ import annotations

import gzip

import pytest
from mitmproxy import connection, http, io, version
from mitmproxy.io import tnetstring
from mitmproxy.proxy import context as proxy_context
from mitmproxy.test import tflow
from mitmproxy.tls import TlsData

from flowaudit.core.model import ObservationKind, Source
from flowaudit.readers.mitmflow import (
    PINNING_ERROR,
    FlowFileError,
    observation_from_flow,
    observation_from_tls_failure,
    observations_from_websocket,
    read_flow_file,
    read_flows,
)


def sdk_flow() -> http.HTTPFlow:
    f = tflow.tflow(resp=True)
    f.request.scheme, f.request.host, f.request.port = "https", "ulogs.umeng.com", 443
    f.request.headers["Host"] = "ulogs.umeng.com"
    f.request.method, f.request.path = "POST", "/unify_logs?appkey=k&x=1"
    f.request.headers["Content-Encoding"] = "gzip"
    f.request.raw_content = gzip.compress(b'{"imei":"490154203237518"}')
    f.response.content = b"PK\x03\x04 fake zip head"
    return f


def write_dump(path, flows) -> None:
    with path.open("wb") as handle:
        writer = io.FlowWriter(handle)
        for f in flows:
            writer.add(f)


def test_http_flow_to_observation_keeps_raw_body_and_response_head():
    f = sdk_flow()
    obs = observation_from_flow(f)
    assert (obs.host, obs.port, obs.scheme, obs.tls) == ("ulogs.umeng.com", 443, "https", True)
    assert (obs.method, obs.path, obs.query) == ("POST", "/unify_logs", "appkey=k&x=1")
    assert obs.body == f.request.raw_content and obs.header("content-encoding") == "gzip"
    assert obs.status == 200 and obs.response_head.startswith(b"PK\x03\x04")
    assert obs.source == Source.PROXY and obs.kind == ObservationKind.REQUEST
    assert obs.client_ip == f.client_conn.peername[0]
    assert obs.error is None


def test_body_cap_keeps_original_size():
    f = sdk_flow()
    f.request.raw_content = b"x" * 1000
    obs = observation_from_flow(f, body_cap=100)
    assert len(obs.body) == 100 and obs.body_size == 1000


def test_errored_flow_has_error_and_no_status():
    f = tflow.tflow(err=True)
    obs = observation_from_flow(f)
    assert obs.status is None and obs.error == f.error.msg


def test_flow_without_response_or_error_is_marked():
    obs = observation_from_flow(tflow.tflow())
    assert obs.error == "no response recorded"


def test_http2_grpc_body_kept_raw():
    f = tflow.tflow(resp=True)
    f.request.http_version = "HTTP/2.0"
    f.request.headers["content-type"] = "application/grpc"
    frame = b"\x00\x00\x00\x00\x05\x0a\x03abc"
    f.request.raw_content = frame
    obs = observation_from_flow(f)
    assert obs.http_version == "HTTP/2.0" and obs.body == frame


def test_websocket_client_messages_only():
    f = tflow.twebsocketflow()
    observations = observations_from_websocket(f)
    client_messages = [m for m in f.websocket.messages if m.from_client]
    assert [o.body for o in observations] == [m.content for m in client_messages]
    assert all(o.kind == ObservationKind.WEBSOCKET for o in observations)
    assert observations_from_websocket(tflow.tflow()) == []


def _tls_data(sni: str | None, error: str, address=("203.0.113.9", 443)) -> TlsData:
    client = connection.Client(peername=("10.0.0.2", 5000), sockname=("10.0.0.1", 8080), timestamp_start=5.0)
    client.sni = sni
    client.error = error
    ctx = proxy_context.Context(client, None)  # type: ignore[arg-type]
    ctx.server.address = address
    return TlsData(client, ctx)


def test_tls_refusal_is_host_only_observation():
    obs = observation_from_tls_failure(_tls_data("ulogs.umeng.com", "The client does not trust the proxy's "
                                                 "certificate for ulogs.umeng.com:443 (tlsv1 alert unknown ca)"))
    assert obs is not None and obs.kind == ObservationKind.TLS_SNI and obs.host_only
    assert (obs.host, obs.port, obs.server_ip, obs.error) == ("ulogs.umeng.com", 443, "203.0.113.9", PINNING_ERROR)
    other = observation_from_tls_failure(_tls_data(None, "Cannot parse ClientHello: garbage"))
    assert other is not None and other.host == "203.0.113.9" and other.error.startswith("client TLS handshake failed")
    assert observation_from_tls_failure(_tls_data(None, "x", address=None)) is None


def test_read_flow_file_all_kinds(tmp_path):
    dns_flow = tflow.tdnsflow()
    dump = tmp_path / "capture.mitm"
    write_dump(dump, [sdk_flow(), tflow.tflow(err=True), tflow.twebsocketflow(), dns_flow, tflow.ttcpflow()])
    observations = list(read_flow_file(dump))
    kinds = [o.kind for o in observations]
    assert kinds.count(ObservationKind.REQUEST) == 3  # sdk, errored, websocket handshake
    assert ObservationKind.WEBSOCKET in kinds
    assert [o.host for o in observations if o.kind == ObservationKind.DNS] == [q.name.lower() for q in dns_flow.request.questions]
    assert all(o.source == Source.MITM for o in observations)
    assert observations[0].host == "ulogs.umeng.com" and observations[0].body == sdk_flow().request.raw_content
    assert observations[1].error


def test_truncated_dump_yields_complete_flows_then_one_line_error(tmp_path):
    dump = tmp_path / "cut.flows"
    write_dump(dump, [sdk_flow(), sdk_flow(), sdk_flow()])
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) - 40])
    got = []
    with pytest.raises(FlowFileError) as info:
        for obs in read_flow_file(dump):
            got.append(obs)
    assert len(got) == 2
    message = str(info.value)
    assert "\n" not in message and "truncated or corrupt" in message and "after 2 complete flow(s)" in message


@pytest.mark.parametrize("content", [b"", b"GARBAGE\x00\x01", b"12:abc", b"99999999999:x", b"5:hello,"])
def test_garbage_dump(tmp_path, content):
    dump = tmp_path / "bad.mitm"
    dump.write_bytes(content)
    if content == b"":
        assert list(read_flow_file(dump)) == []
        return
    with pytest.raises(FlowFileError) as info:
        list(read_flow_file(dump))
    assert "\n" not in str(info.value)


def test_deeply_nested_dump_is_a_clear_error(tmp_path):
    dump = tmp_path / "deep.mitm"
    payload = b"0:]"
    for _ in range(5000):
        payload = str(len(payload)).encode() + b":" + payload + b"]"
    dump.write_bytes(payload)
    with pytest.raises(FlowFileError):
        list(read_flow_file(dump))


def test_newer_flow_format_is_read_when_compatible(tmp_path):
    state = sdk_flow().get_state()
    state["version"] = version.FLOW_FORMAT_VERSION + 1
    dump = tmp_path / "newer.mitm"
    dump.write_bytes(tnetstring.dumps(state))
    (f,) = list(read_flows(dump))
    assert f.request.host == "ulogs.umeng.com"
    state["request"] = {"unexpected": 1}
    dump.write_bytes(tnetstring.dumps(state))
    with pytest.raises(FlowFileError, match="newer than this mitmproxy"):
        list(read_flows(dump))


def test_missing_file(tmp_path):
    with pytest.raises(FlowFileError, match="cannot read"):
        list(read_flow_file(tmp_path / "absent.mitm"))


def test_flow_dump_is_recognised_by_the_importer(tmp_path):
    from flowaudit.ingest import observations_from_file

    dump = tmp_path / "capture.flows"
    write_dump(dump, [sdk_flow(), tflow.tflow(err=True)])
    kind, observations = observations_from_file(dump)
    assert kind == "mitm"
    assert [o.host for o in observations][0] == "ulogs.umeng.com"

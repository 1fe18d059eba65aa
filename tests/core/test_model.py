from flowaudit.core.model import Observation, ObservationKind, Severity


def test_url_rebuilds_scheme_port_and_ipv6_hosts():
    assert Observation(ts=0, host="A.Example.COM.", tls=True, path="/p", query="q=1").url == "https://a.example.com/p?q=1"
    assert Observation(ts=0, host="a.example.com", scheme="http", port=8080, path="/").url == "http://a.example.com:8080/"
    assert Observation(ts=0, host="::1", scheme="http", port=80).url == "http://[::1]/"
    assert Observation(ts=0, host="cdn.example.com", kind=ObservationKind.TLS_SNI).url == "cdn.example.com"


def test_headers_cookies_and_query_params():
    obs = Observation(ts=0, host="h", headers=[("Cookie", "a=1; b=x=y; junk"), ("X-Id", "7")], query="k=v&k=w&e=")
    assert obs.header("x-id") == "7" and obs.header("absent") is None
    assert obs.cookies == [("a", "1"), ("b", "x=y")]
    assert obs.query_params == [("k", "v"), ("k", "w"), ("e", "")]


def test_body_size_and_hash():
    obs = Observation(ts=0, host="h", body=b"abc")
    assert obs.body_size == 3 and obs.body_sha256.startswith("ba7816bf")
    assert Observation(ts=0, host="h").body_sha256 is None


def test_severity_ranks():
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.MEDIUM.rank > Severity.LOW.rank > Severity.INFO.rank

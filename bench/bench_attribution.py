"""Attribution speed: one request against the full signature database, and against that database
multiplied 10x by synthetic vendors (clones of every signature under other domains, header names,
paths and IP ranges). Prints both medians and their ratio, measured in the same run.

Two workloads: "cold" gives every request a host never seen before (no per-host cache can help:
public-suffix split, suffix walk and candidate lookup all run), "warm" replays hosts as a session does.

    python bench/bench_attribution.py            # ~100,000 requests per measurement
    python bench/bench_attribution.py --quick    # a few seconds, for CI
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import statistics
import sys
import time
from pathlib import Path

from flowaudit.core import signatures as engine
from flowaudit.core.model import Observation
from flowaudit.core.signature_schema import NetworkRule, Signature
from flowaudit.core.signatures import SignatureIndex, example_observation
from flowaudit.signature_db import load_database

HEADERS = [("User-Agent", "Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A)"), ("Accept", "*/*"),
           ("Accept-Encoding", "gzip"), ("Connection", "keep-alive"), ("Content-Type", "application/json"),
           ("Accept-Language", "zh-CN,zh;q=0.9"), ("X-Request-Id", "5f0c2a"), ("Content-Length", "512")]


def synthetic_copies(signatures: list[Signature], copies: int) -> list[Signature]:
    """Clones of every signature under new vendors: same rule shapes, disjoint selectors."""
    clones: list[Signature] = []
    for n in range(1, copies + 1):
        tag = f"syn{n}"
        for sig in signatures:
            rules = []
            for original in sig.network:
                rule = original.model_dump(mode="python")
                if rule["domain"]:
                    rule["domain"] = f"{tag}-{rule['domain']}"
                if rule["host"]:
                    rule["host"] = f"{tag}-{rule['host']}"
                if rule["ip"]:
                    network = ipaddress.ip_network(rule["ip"], strict=False)
                    step = 1 << (network.max_prefixlen - min(network.prefixlen, 8 if network.version == 4 else 16))
                    address = (int(network.network_address) + n * step) % (1 << network.max_prefixlen)
                    rule["ip"] = str(ipaddress.ip_network((address, network.prefixlen), strict=False))
                if rule["any_host"]:
                    rule["headers"] = {f"{k}-{tag}": v for k, v in rule["headers"].items()}
                    if rule["path"]:
                        rule["path"] = f"/{tag}{rule['path']}"
                    if rule["path_regex"] and rule["path_regex"].startswith("^/"):
                        rule["path_regex"] = f"^/{tag}{rule['path_regex'][2:]}"
                    rule["query_keys"] = [f"{k}_{tag}" for k in rule["query_keys"]]
                    rule["query"] = {f"{k}_{tag}": v for k, v in rule["query"].items()}
                rules.append(NetworkRule.model_validate(rule))
            vendor = sig.vendor.model_copy(update={"id": f"{tag}-{sig.vendor.id}"})
            clones.append(sig.model_copy(update={
                "id": f"{tag}-{sig.id}", "vendor": vendor, "network": tuple(rules),
                "overlaps": tuple(f"{tag}-{o}" for o in sig.overlaps), "match": (), "no_match": ()}))
    return clones


def workload(signatures: list[Signature], count: int, seed: int, cold: bool) -> list[Observation]:
    """SDK requests (random subdomains of rule domains, exact hosts, IPs in CIDRs, the files' own
    fingerprint examples), first-party and unknown third-party hosts, in shares typical of an app."""
    rng = random.Random(seed)
    domains = [r.domain for s in signatures for r in s.network if r.domain]
    hosts = [r.host for s in signatures for r in s.network if r.host]
    networks = [ipaddress.ip_network(r.ip, strict=False) for s in signatures for r in s.network if r.ip]
    examples = [e for s in signatures for e in s.match if e.kind == "request"]
    pool_size = count if cold else max(50, count // 500)

    def label() -> str:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(3, 10)))

    def one(i: int) -> Observation:
        roll = rng.random()
        path = rng.choice(["/", "/api/v1/event", "/log", "/collect?x=1", "/v2/config"])
        query = ""
        if "?" in path:
            path, query = path.split("?", 1)
        if roll < 0.35 and domains:
            host = f"{label()}.{rng.choice(domains)}"
        elif roll < 0.45 and hosts:
            host = rng.choice(hosts)
        elif roll < 0.50 and networks:
            network = rng.choice(networks)
            host = str(network.network_address + rng.randrange(min(network.num_addresses, 1 << 16)))
        elif roll < 0.60 and examples:
            obs = example_observation(rng.choice(examples))
            obs.headers = obs.headers + HEADERS
            return obs
        elif roll < 0.80:
            host = f"{label()}.api.myshop-app.cn"
        else:
            host = f"{label()}.{label()}.{rng.choice(['com', 'cn', 'net', 'com.cn', 'io', 'co.uk'])}"
        return Observation(ts=float(i), host=host, method="POST", scheme="https", path=path, query=query,
                           headers=list(HEADERS))

    pool = [one(i) for i in range(pool_size)]
    return pool if cold else [pool[rng.randrange(pool_size)] for _ in range(count)]


def clear_caches(index: SignatureIndex) -> None:
    for cached in (engine.registrable_domain, engine.public_suffix, engine.host_suffixes, engine.parse_ip):
        cached.cache_clear()
    index._host_cache.clear()
    index._attr_cache.clear()


def measure(index: SignatureIndex, requests: list[Observation], first_party: tuple[str, ...]) -> tuple[list[int], float]:
    """Per-request wall-clock timings, and the mean CPU time per request (less sensitive to other
    processes competing for the machine)."""
    clear_caches(index)
    timings: list[int] = []
    attribute = index.attribute
    clock = time.perf_counter_ns
    cpu_start = time.process_time()
    for obs in requests:
        start = clock()
        attribute(obs, first_party)
        timings.append(clock() - start)
    return timings, (time.process_time() - cpu_start) / len(requests) * 1e6


def summary(timings: list[int]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered) / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small run for CI (a few seconds)")
    parser.add_argument("--requests", type=int, default=None, help="requests per measurement")
    parser.add_argument("--dir", type=Path, default=None, help="signature directory (default: shipped)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds per database")
    args = parser.parse_args()
    count = args.requests or (8_000 if args.quick else 100_000)
    rounds = args.rounds or (2 if args.quick else 3)

    started = time.perf_counter()
    signatures = load_database(args.dir).signatures
    if not any(s.network for s in signatures):
        print("no signatures with network rules", file=sys.stderr)
        return 3
    full = SignatureIndex(signatures)
    big = SignatureIndex([*signatures, *synthetic_copies([s for s in signatures if s.network], 9)])
    first_party = ("myshop-app.cn",)
    print(f"database: {len(full)} signatures, {len(full.rules)} rules; 10x: {len(big)} signatures, "
          f"{len(big.rules)} rules (built in {time.perf_counter() - started:.1f}s)")

    results: dict[str, dict[str, float]] = {}
    for mode in ("cold", "warm"):
        requests = workload(signatures, count, seed=7, cold=mode == "cold")
        medians: dict[str, list[float]] = {"full": [], "10x": []}
        p99s: dict[str, list[float]] = {"full": [], "10x": []}
        cpu: dict[str, list[float]] = {"full": [], "10x": []}
        for _ in range(rounds):
            for name, index in (("full", full), ("10x", big)):
                timings, cpu_mean = measure(index, requests, first_party)
                median, p99 = summary(timings)
                medians[name].append(median)
                p99s[name].append(p99)
                cpu[name].append(cpu_mean)
        full_median = statistics.median(medians["full"])
        big_median = statistics.median(medians["10x"])
        results[mode] = {"full": full_median, "10x": big_median, "ratio": big_median / full_median}
        print(f"{mode:>4} hosts: median {full_median:6.2f} us (p99 {statistics.median(p99s['full']):6.2f}) full database | "
              f"median {big_median:6.2f} us (p99 {statistics.median(p99s['10x']):6.2f}) 10x database | "
              f"ratio {big_median / full_median:.2f} | CPU mean {min(cpu['full']):.2f} / {min(cpu['10x']):.2f} us")
    attributed = sum(1 for obs in workload(signatures, 2000, seed=7, cold=True) if full.attribute(obs, first_party))
    print(f"{attributed / 2000:.0%} of the workload attributed (SDK or first party); {count} requests x {rounds} rounds")
    cold = results["cold"]
    verdict = cold["full"] < 20 and cold["ratio"] < 2
    print(f"targets (median < 20 us, 10x ratio < 2): {'met' if verdict else 'NOT met'} "
          f"[cold median {cold['full']:.2f} us, ratio {cold['ratio']:.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

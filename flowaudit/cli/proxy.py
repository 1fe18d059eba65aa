"""`flowaudit proxy` (live interception), `flowaudit mark`, `flowaudit switch-session` and `flowaudit doctor`."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from flowaudit.cli.common import InputError, StoreError, db_option, load_profile, open_store
from flowaudit.core.addresses import is_loopback

DEFAULT_PORT = 8080
DEFAULT_CONFDIR = "~/.mitmproxy"
CA_CERT_NAME = "mitmproxy-ca-cert.pem"
MODES_WITHOUT_PROXY_AUTH = ("wireguard", "transparent", "local", "tun")


def ca_cert_path(confdir: str) -> Path:
    return Path(confdir).expanduser() / CA_CERT_NAME


def exposure_warning(listen_host: str, mode: str, proxyauth: str | None) -> str | None:
    """A warning when the proxy is reachable from the network without proxy authentication."""
    if is_loopback(listen_host) or proxyauth:
        return None
    if mode.split(":", 1)[0].split("@", 1)[0] in MODES_WITHOUT_PROXY_AUTH:
        return None
    where = "all interfaces" if listen_host in ("", "0.0.0.0", "::") else listen_host  # noqa: S104
    return (f"WARNING: the proxy listens on {where} without proxy authentication: anyone who can reach this "
            "port can use it and their traffic is recorded. Add --proxyauth USER:PASS, or use --listen-host "
            "127.0.0.1 with WireGuard mode.")


def lan_address() -> str | None:
    """The address a phone on the same network would use (no packet is sent: UDP connect only routes)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
            return None if address.startswith("127.") else address
    except OSError:
        return None


def parse_timestamp(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--at: {value!r} is neither epoch seconds nor an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.timestamp()


class _Announce:
    """Prints where the proxy listens and how to set up a device, once the servers are up."""

    def __init__(self, confdir: str, mode: str, dashboard_url: str | None) -> None:
        self.confdir = confdir
        self.mode = mode
        self.dashboard_url = dashboard_url

    def running(self) -> None:
        from mitmproxy import ctx

        server = ctx.master.addons.get("proxyserver")
        addresses = server.listen_addrs() if server else []
        for address in addresses:
            host, port = address[0], address[1]
            shown = f"[{host}]" if ":" in host else host
            click.echo(f"flowaudit proxy ({self.mode}) listening on {shown}:{port}", err=True)
        ca = ca_cert_path(self.confdir)
        click.echo(f"CA certificate: {ca}", err=True)
        lan = lan_address()
        port = addresses[0][1] if addresses else DEFAULT_PORT
        if "wireguard" in self.mode:
            click.echo("Device set-up: install the WireGuard app and import the configuration printed above "
                       "(QR code with `mitmweb`), then open http://mitm.it in the phone's browser and install the "
                       "certificate.", err=True)
        else:
            host_hint = lan or "<this computer's LAN address>"
            click.echo(f"Device set-up: set the phone's Wi-Fi proxy to {host_hint}:{port} (the proxy must listen "
                       "on that address: --listen-host 0.0.0.0 --proxyauth USER:PASS), open http://mitm.it in the "
                       "phone's browser and install the certificate (Android 7+ apps only trust it if they opt in; "
                       "see docs/device-setup.md).", err=True)
        click.echo("Markers: open http://flowaudit.mark/consent (or /refusal, /background, /note?label=...) on the "
                   "device, or run `flowaudit mark --session NAME consent`.", err=True)
        if self.dashboard_url:
            click.echo(f"Dashboard: {self.dashboard_url}", err=True)
        click.echo("Press Ctrl+C to stop; everything queued is stored before exit.", err=True)


def _find_create_app() -> Any:
    import importlib

    for module_name in ("flowaudit.server", "flowaudit.server.app"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        factory = getattr(module, "create_app", None)
        if callable(factory):
            return factory
    return None


async def _run_proxy(master: Any, dashboard: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, master.shutdown)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    dashboard_task = None
    if dashboard is not None:
        dashboard.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        dashboard_task = asyncio.create_task(dashboard.serve())
    try:
        await master.run()
    finally:
        if dashboard is not None:
            dashboard.should_exit = True
            if dashboard_task is not None:
                await asyncio.wait([dashboard_task], timeout=5)


@click.command("proxy")
@click.option("--mode", "modes", multiple=True, default=("regular",), show_default=True,
              help="regular (Wi-Fi proxy), wireguard, transparent, upstream:URL, socks5 (any mitmproxy mode spec; "
                   "repeat for several, e.g. one wireguard@PORT per phone).")
@click.option("--listen-host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Loopback by default; a phone needs a LAN address (use --proxyauth).")
@click.option("--port", "port", type=click.IntRange(0, 65535), default=None,
              help=f"Port to listen on (default {DEFAULT_PORT}; WireGuard: 51820; 0 picks a free port).")
@db_option
@click.option("--session", "session", default="default", show_default=True,
              help="Session (one app run on one device) to record into.")
@click.option("--device-profile", type=click.Path(dir_okay=False), help="YAML device profile (honey values).")
@click.option("--keep-raw", is_flag=True, help="Keep raw bodies and values as evidence (redacted by default).")
@click.option("--first-party", multiple=True, help="The audited app's own domain (repeatable).")
@click.option("--client-session", "client_sessions", multiple=True, metavar="CLIENT=SESSION",
              help="Record a device into its own session: IP=NAME, CIDR=NAME or port:N=NAME (repeatable).")
@click.option("--proxyauth", help="Require proxy authentication: USER:PASS or @htpasswd-file.")
@click.option("--confdir", default=DEFAULT_CONFDIR, show_default=True,
              help="mitmproxy configuration directory (holds the CA certificate).")
@click.option("--body-cap", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Largest request body analysed and stored, in bytes.")
@click.option("--set", "set_options", multiple=True, metavar="OPTION=VALUE",
              help="Any other mitmproxy option, e.g. --set connection_strategy=lazy (repeatable).")
@click.option("--dashboard", is_flag=True, help="Serve the dashboard from the same process.")
@click.option("--dashboard-port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port of the dashboard started by --dashboard (always on 127.0.0.1).")
@click.option("--show-flows", is_flag=True, help="Print every flow as mitmdump does.")
def proxy_command(modes: tuple[str, ...], listen_host: str, port: int | None, db: str, session: str, device_profile: str | None,
                  keep_raw: bool, first_party: tuple[str, ...], client_sessions: tuple[str, ...],
                  proxyauth: str | None, confdir: str, body_cap: int, set_options: tuple[str, ...],
                  dashboard: bool, dashboard_port: int, show_flows: bool) -> None:
    """Run the intercepting proxy and record what the device sends.

    Every request is recorded (also those that fail upstream or are refused), attributed to an SDK and
    searched for personal data; TLS connections the app refuses to let through (certificate pinning) are
    recorded by server name. Stop with Ctrl+C or SIGTERM: everything queued is stored first.
    """
    from mitmproxy import exceptions, hooks, options
    from mitmproxy.tools.dump import DumpMaster

    from flowaudit.addons.flowaudit_addon import FlowauditAddon
    from flowaudit.db.engine import database_url

    load_profile(device_profile)  # one-line error before anything starts
    warnings = {w for w in (exposure_warning(listen_host, m, proxyauth) for m in modes) if w}
    for warning in sorted(warnings):
        click.secho(warning, fg="yellow", err=True)
    mode = ", ".join(modes)
    if any(m.startswith("wireguard") for m in modes) and is_loopback(listen_host):
        click.echo("note: in WireGuard mode a phone must reach this computer; use --listen-host 0.0.0.0", err=True)

    dashboard_server = None
    dashboard_url = None
    if dashboard:
        factory = _find_create_app()
        if factory is None:
            click.echo("flowaudit: the dashboard is not available in this installation (flowaudit.server has no "
                       "create_app yet); the proxy runs without it. Use `flowaudit serve` once it exists.", err=True)
        else:
            import uvicorn

            app = factory(database_url(db))
            dashboard_server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=dashboard_port,
                                                             log_level="warning", lifespan="on"))
            dashboard_url = f"http://127.0.0.1:{dashboard_port}/"

    async def main() -> FlowauditAddon:
        # mitmproxy's terminal log shows everything from here on (WireGuard keys, listen errors, storage errors)
        root = logging.getLogger()
        for handler in list(root.handlers):
            if type(handler) is logging.StreamHandler:   # the plain console handler of `flowaudit --debug`
                root.removeHandler(handler)
        root.setLevel(logging.INFO)
        for noisy in ("tornado", "asyncio", "hpack", "quic", "passlib", "sqlalchemy", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        opts = options.Options()
        master = DumpMaster(opts, with_termlog=True, with_dumper=show_flows)
        deferred: dict[str, Any] = {
            "flowaudit_db": database_url(db), "flowaudit_session": session,
            "flowaudit_device_profile": device_profile or "", "flowaudit_keep_raw": keep_raw,
            "flowaudit_first_party": list(first_party), "flowaudit_client_sessions": list(client_sessions),
            "flowaudit_body_cap": body_cap,
        }
        try:
            opts.update(mode=list(modes), listen_host=listen_host, confdir=confdir)
            if port is not None:
                opts.update(listen_port=port)
            if proxyauth:
                opts.update(proxyauth=proxyauth)
            if set_options:
                opts.set(*set_options, defer=True)
            opts.update_defer(**deferred)
            addon = FlowauditAddon()
            master.addons.add(addon, _Announce(confdir, mode, dashboard_url))
            # added addons only see later option changes; give ours the full set once, as scripts get it
            master.addons.invoke_addon_sync(addon, hooks.ConfigureHook(set(opts.keys())))
            if set_options:
                opts.process_deferred()
                unknown = sorted(k for k in opts.deferred if not k.startswith("flowaudit_"))
                if unknown:
                    raise exceptions.OptionsError(f"unknown mitmproxy option(s): {', '.join(unknown)}")
        except exceptions.OptionsError as exc:
            message = str(exc).splitlines()[0] if str(exc) else "invalid option"
            if message.startswith("flowaudit_db:"):
                raise StoreError(message) from None
            raise InputError(f"flowaudit proxy: {message}") from None
        if addon.store is None:
            raise StoreError("flowaudit proxy: the database was not opened")
        await _run_proxy(master, dashboard_server)
        return addon

    started = time.monotonic()
    try:
        addon = asyncio.run(main())
    except SystemExit as exc:
        # mitmproxy's start-up check exits after printing why (port in use, bad certificate...)
        if exc.code in (0, None):
            raise
        raise InputError("flowaudit proxy could not start (see the error above)") from None
    status = addon.status
    pinned = sum(len(hosts) for hosts in status.pinned_hosts.values())
    click.echo(f"flowaudit proxy stopped after {time.monotonic() - started:.0f}s: {status.recorded} observation(s) "
               f"recorded, {status.markers} marker(s), {pinned} pinned host(s)"
               + (f", {status.late_stored} stored after a retry" if status.late_stored else ""), err=True)
    if not status.ok:
        rescue = f"; kept in {status.rescue_file}" if status.rescue_file else ""
        raise StoreError(f"{status.storage_errors} observation(s) or marker(s) could not be stored: "
                         f"{status.last_error}{rescue}")


@click.command("mark")
@db_option
@click.option("--session", "session", required=True, help="Session to mark.")
@click.argument("kind")
@click.option("--label", default="", help="Free text (what the tester did).")
@click.option("--at", "at", help="When (epoch seconds or ISO 8601; default: now).")
@click.option("--create", is_flag=True, help="Create the session if it does not exist yet.")
def mark_command(db: str, session: str, kind: str, label: str, at: str | None, create: bool) -> None:
    """Mark a moment in a session: consent, refusal, background, foreground, user_action or note."""
    from flowaudit.core.markers import MarkerError, normalise_kind
    from flowaudit.db.engine import StorageError

    try:
        kind = normalise_kind(kind)
    except MarkerError as exc:
        raise InputError(str(exc)) from None
    ts = parse_timestamp(at)
    store = open_store(db)
    try:
        try:
            store.open_session(session, create=create)
        except StorageError:
            raise InputError(f"no such session: {session} (use --create to start it)") from None
        marker = store.add_marker(session, kind, label[:500], ts)
    except StorageError as exc:
        raise StoreError(str(exc)) from None
    finally:
        store.close()
    when = datetime.fromtimestamp(marker.ts).astimezone().isoformat(timespec="seconds")
    click.echo(f"marked {marker.kind}" + (f" ({marker.label})" if marker.label else "") + f" in {session} at {when}")


@click.command("switch-session")
@db_option
@click.argument("session")
def switch_command(db: str, session: str) -> None:
    """Make a running `flowaudit proxy` on this database record into SESSION from now on.

    Devices mapped with --client-session keep their own sessions; a device can switch itself by
    opening http://flowaudit.mark/session/NAME.
    """
    from flowaudit.addons.flowaudit_addon import check_session_name, write_active_session

    try:
        session = check_session_name(session)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    store = open_store(db)
    try:
        store.open_session(session)
        write_active_session(store, session)
    finally:
        store.close()
    click.echo(f"the proxy records into session {session} from now on (applied within a second)")


def _check(ok: bool | None, label: str, detail: str) -> bool | None:
    mark = {True: click.style("ok  ", fg="green"), False: click.style("FAIL", fg="red"),
            None: click.style("warn", fg="yellow")}[ok]
    click.echo(f"[{mark}] {label}: {detail}")
    return ok


def _check_ca(confdir: str) -> bool | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    path = ca_cert_path(confdir)
    if not path.exists():
        return _check(None, "CA certificate", f"{path} not found; `flowaudit proxy` creates it on first start")
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        return _check(False, "CA certificate", f"{path} unreadable: {str(exc).splitlines()[0][:120]}")
    if cert.not_valid_after_utc.timestamp() < time.time():
        return _check(False, "CA certificate", f"{path} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    return _check(True, "CA certificate", f"{path} (SHA-256 {fingerprint[:23]}..., valid until "
                                          f"{cert.not_valid_after_utc:%Y-%m-%d})")


def _check_port(host: str, port: int) -> bool:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    except OSError as exc:
        reason = "in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        return bool(_check(False, "proxy port", f"{host}:{port} {reason}"))
    return bool(_check(True, "proxy port", f"{host}:{port} is free"))


def _check_db(db: str) -> bool:
    from sqlalchemy import insert

    from flowaudit.db.engine import StorageError
    from flowaudit.db.models import EventRow
    from flowaudit.db.store import Store

    try:
        store = Store(db)
    except StorageError as exc:
        return bool(_check(False, "database", str(exc)))
    try:
        with store.engine.connect() as conn:
            if store.is_sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=2000")   # report a held lock instead of waiting
            # a real write, rolled back: catches read-only files, full disks and locks held by others
            conn.execute(insert(EventRow).values(session_id=None, ts=time.time(), level="info", source="doctor",
                                                 message="write check"))
            conn.rollback()
    except Exception as exc:  # noqa: BLE001 - every failure is a finding of this check
        return bool(_check(False, "database", f"{store.engine.url.render_as_string(hide_password=True)} is not "
                                              f"writable: {str(exc).splitlines()[0][:200]}"))
    finally:
        store.close()
    return bool(_check(True, "database", f"{store.engine.url.render_as_string(hide_password=True)} is writable"))


def _check_tldextract() -> bool:
    try:
        import tldextract

        extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        parts = extract("ulogs.umeng.com.cn")
        ok = parts.suffix == "com.cn" and parts.domain == "umeng"
    except Exception as exc:  # noqa: BLE001
        return bool(_check(False, "public-suffix list", f"tldextract failed offline: {exc}"))
    return bool(_check(ok, "public-suffix list", "tldextract's bundled snapshot works offline" if ok
                       else "tldextract's bundled snapshot gives wrong answers"))


def _check_signatures() -> bool:
    from flowaudit.signature_db import SignatureFileError, load_signatures

    try:
        count = len(load_signatures())
    except SignatureFileError as exc:
        return bool(_check(False, "signature database", str(exc).splitlines()[0][:200]))
    return bool(_check(count > 0, "signature database", f"{count} SDK signature(s) load"))


@click.command("doctor")
@db_option
@click.option("--listen-host", default="127.0.0.1", show_default=True, help="Address the proxy will listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port the proxy will listen on (checked for availability).")
@click.option("--confdir", default=DEFAULT_CONFDIR, show_default=True,
              help="mitmproxy configuration directory holding the CA certificate.")
def doctor_command(db: str, listen_host: str, port: int, confdir: str) -> None:
    """Check that everything `flowaudit proxy` needs is in place.

    Exit status: 0 all good, 3 a check failed, 4 the database is not writable."""
    from mitmproxy import version

    click.echo(f"flowaudit doctor (mitmproxy {version.VERSION}, Python {sys.version.split()[0]})")
    ca = _check_ca(confdir)
    port_ok = _check_port(listen_host, port)
    db_ok = _check_db(db)
    tld_ok = _check_tldextract()
    sig_ok = _check_signatures()
    if not db_ok:
        raise StoreError("the database is not writable")
    if ca is False or not (port_ok and tld_ok and sig_ok):
        raise InputError("some checks failed")


COMMANDS = [proxy_command, mark_command, switch_command, doctor_command]

"""`flowaudit serve`: the dashboard."""

from __future__ import annotations

import click

from flowaudit.cli.common import db_option, open_store


def prepare_dashboard(store, host: str, reset_token: bool = False):  # type: ignore[no-untyped-def]
    """The app for this bind address; off loopback it requires the access token (created and shown once)."""
    from flowaudit.core.addresses import is_loopback
    from flowaudit.server.app import create_app
    from flowaudit.server.security import ensure_token, stored_token_hash
    from flowaudit.server.security import reset_token as new_token

    token_hash = None
    if not is_loopback(host):
        with store.sessionmaker() as db:
            token = new_token(db) if reset_token else ensure_token(db)
            token_hash = stored_token_hash(db)
        if token:
            click.echo(f"dashboard access token (shown once, stored hashed): {token}")
            click.echo(f"open http://{host}:<port>/login?token={token} once in each browser")
        if not token_hash:
            raise click.ClickException("refusing to serve on a non-loopback address without an access token")
    return create_app(store=store, token_hash=token_hash)


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback requires the access token.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--reset-token", is_flag=True, help="Replace the dashboard access token with a new one.")
def serve_command(db: str, host: str, port: int, reset_token: bool) -> None:
    """Serve the dashboard: live traffic, SDKs, data types, declared vs observed, findings, reports."""
    import uvicorn

    store = open_store(db)
    app = prepare_dashboard(store, host, reset_token)
    click.echo(f"flowaudit dashboard on http://{'[' + host + ']' if ':' in host else host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning")


COMMANDS = [serve_command]

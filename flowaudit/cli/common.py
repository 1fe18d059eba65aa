"""Options and helpers shared by the command modules."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from flowaudit.core.profile import DeviceProfile, ProfileError


class InputError(click.ClickException):
    exit_code = 3

    def format_message(self) -> str:
        return self.message


class StoreError(click.ClickException):
    exit_code = 4


db_option = click.option("--db", "db", envvar="FLOWAUDIT_DB", default="flowaudit.db", show_default=True,
                          help="Database file or SQLAlchemy URL (env FLOWAUDIT_DB).")


def open_store(db: str, **kwargs):  # type: ignore[no-untyped-def]
    from flowaudit.db.engine import StorageError
    from flowaudit.db.store import Store

    try:
        return Store(db, **kwargs)
    except StorageError as exc:
        raise StoreError(str(exc)) from None


def load_profile(path: str | None) -> DeviceProfile | None:
    if not path:
        return None
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return DeviceProfile.from_mapping(data)
    except FileNotFoundError:
        raise InputError(f"device profile not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ProfileError) as exc:
        raise InputError(f"invalid device profile {path}: {str(exc).splitlines()[0]}") from None

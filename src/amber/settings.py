"""Amber's own settings: the one place that reads Amber's environment variables.

Loaded once at the edge (``amber.api.Session``, the CLI, the hot path) and passed
down; lower packages take the values they need as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "DEFAULT_MUTABLE_TAGS", "default_home"]

DEFAULT_MUTABLE_TAGS = ("latest", "stable", "candidate")


@dataclass(frozen=True)
class Settings:
    """What Amber reads from its environment variables (``AMBER_*``)."""

    home: Path  # $AMBER_HOME, else the user data directory
    remote_url: str | None = None  # $AMBER_REMOTE
    mutable_tags: tuple[str, ...] = DEFAULT_MUTABLE_TAGS  # $AMBER_MUTABLE_TAGS, comma-separated
    # $AMBER_CONFIG: a settings file (TOML) over the user's and the project's (amber.condarc)
    config_file: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings ``environ`` (default: this process's environment) gives."""
        environ = os.environ if environ is None else environ
        tags = environ.get("AMBER_MUTABLE_TAGS")
        return cls(
            home=default_home(environ),
            remote_url=environ.get("AMBER_REMOTE") or None,
            mutable_tags=DEFAULT_MUTABLE_TAGS
            if tags is None
            else tuple(t.strip() for t in tags.split(",") if t.strip()),
            config_file=Path(environ["AMBER_CONFIG"]).expanduser()
            if environ.get("AMBER_CONFIG")
            else None,
        )


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """The store's directory: ``$AMBER_HOME``, else the user data directory."""
    home = (os.environ if environ is None else environ).get("AMBER_HOME")
    if home:
        return Path(home).expanduser()
    # Imported here: `amber run` reaches this module, and with AMBER_HOME set never needs it.
    from platformdirs import user_data_dir  # noqa: PLC0415 - on the hot path of `amber run`

    return Path(user_data_dir("amber", appauthor=False))

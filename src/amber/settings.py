"""Amber's own settings: the one place that reads Amber's environment variables.

Loaded once at the edge (``amber.api.Session``, the CLI, the hot path) and passed
down; lower packages take the values they need as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from amber.errors import AmberError

__all__ = ["Settings", "DEFAULT_MUTABLE_TAGS", "LINK_MODES", "default_home", "conda_overrides"]

DEFAULT_MUTABLE_TAGS = ("latest", "stable", "candidate")
LINK_MODES = ("hardlink", "copy", "reflink")  # how envs get files from the package caches


@dataclass(frozen=True)
class Settings:
    """What Amber reads from its environment variables (``AMBER_*``)."""

    home: Path  # $AMBER_HOME, else the user data directory
    remote_url: str | None = None  # $AMBER_REMOTE
    mutable_tags: tuple[str, ...] = DEFAULT_MUTABLE_TAGS  # $AMBER_MUTABLE_TAGS, comma-separated
    link_mode: str = "hardlink"  # $AMBER_LINK_MODE: one of LINK_MODES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings ``environ`` (default: this process's environment) gives."""
        environ = os.environ if environ is None else environ
        tags = environ.get("AMBER_MUTABLE_TAGS")
        link_mode = (environ.get("AMBER_LINK_MODE") or "hardlink").strip().lower()
        if link_mode not in LINK_MODES:
            raise AmberError(
                f"AMBER_LINK_MODE={environ['AMBER_LINK_MODE']!r} is not a link mode: use one of "
                f"{', '.join(LINK_MODES)} (how envs get their files from the package caches)."
            )
        return cls(
            home=default_home(environ),
            remote_url=environ.get("AMBER_REMOTE") or None,
            mutable_tags=DEFAULT_MUTABLE_TAGS
            if tags is None
            else tuple(t.strip() for t in tags.split(",") if t.strip()),
            link_mode=link_mode,
        )


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """The store's directory: ``$AMBER_HOME``, else the user data directory."""
    home = (os.environ if environ is None else environ).get("AMBER_HOME")
    if home:
        return Path(home).expanduser()
    # Imported here: `amber run` reaches this module, and with AMBER_HOME set never needs it.
    from platformdirs import user_data_dir  # noqa: PLC0415 - on the hot path of `amber run`

    return Path(user_data_dir("amber", appauthor=False))


# conda's CONDA_OVERRIDE_<X> variables -> the system requirement each one sets.
_CONDA_OVERRIDES = {
    "CONDA_OVERRIDE_CUDA": "cuda",
    "CONDA_OVERRIDE_GLIBC": "libc",
    "CONDA_OVERRIDE_OSX": "macos",
    "CONDA_OVERRIDE_LINUX": "linux",
    "CONDA_OVERRIDE_ARCHSPEC": "archspec",
}


def conda_overrides(environ: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """The virtual-package overrides set as for conda: {requirement: (variable, value)};
    an empty value means "none" (``CONDA_OVERRIDE_CUDA=""``: no CUDA), as in conda."""
    environ = os.environ if environ is None else environ
    return {
        requirement: (variable, environ[variable].strip())
        for variable, requirement in _CONDA_OVERRIDES.items()
        if variable in environ
    }

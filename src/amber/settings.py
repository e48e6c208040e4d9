"""Amber's own settings: the one place that reads Amber's environment variables.

Loaded once at the edge (``amber.api.Session``, the CLI, the hot path) and passed
down; lower packages take the values they need as arguments.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amber._frozen import FrozenMap
from amber.errors import AmberError, ConfigError

__all__ = [
    "Settings", "Network", "DEFAULT_MUTABLE_TAGS", "LINK_MODES", "LINK_SCRIPTS",
    "CHANNEL_PRIORITIES", "default_home", "config_files", "conda_overrides",
]  # fmt: skip

DEFAULT_MUTABLE_TAGS = ("latest", "stable", "candidate")
LINK_MODES = ("hardlink", "copy", "reflink")  # how envs get files from the package caches
LINK_SCRIPTS = ("run", "refuse")  # packages' pre-/post-link scripts: conda runs them
CHANNEL_PRIORITIES = ("strict", "flexible", "disabled")  # conda's channel_priority values


@dataclass(frozen=True)
class Network:
    """How downloads reach the channels: mirrors, TLS verification and proxies.

    ``mirrors`` maps a channel URL prefix to the URLs that serve it instead (pixi's
    ``[mirrors]``): requests go to the first mirror, while locks, caches and messages keep
    the channel's own URL. ``ssl_verify`` is conda's: ``True``, ``False`` or the path of a
    CA bundle that replaces the system's. ``proxy_servers`` is conda's ``{"http": URL,
    "https": URL}``: the proxy for requests of each scheme.
    """

    mirrors: FrozenMap[str, tuple[str, ...]] = field(default_factory=FrozenMap)
    ssl_verify: bool | str = True
    proxy_servers: FrozenMap[str, str] = field(default_factory=FrozenMap)

    def mirrored(self, url: str) -> str:
        """Where a request for ``url`` goes: its longest mirrored prefix replaced by the
        first mirror of that prefix, else ``url`` itself."""
        for prefix in sorted(self.mirrors, key=len, reverse=True):
            base = prefix.rstrip("/")
            if url == base or url.startswith(base + "/"):
                return self.mirrors[prefix][0].rstrip("/") + url[len(base) :]
        return url

    @classmethod
    def of(
        cls,
        mirrors: Mapping[str, Any] | None = None,
        ssl_verify: object = True,
        proxy_servers: Mapping[str, Any] | None = None,
        *,
        where: str = "the settings",
    ) -> Network:
        """The network settings from raw values (a settings file's, ``.condarc``'s), checked:
        a malformed one is a ``ConfigError`` naming ``where`` and the key."""
        return cls(
            mirrors=_mirrors(mirrors or {}, where),
            ssl_verify=_ssl_verify(ssl_verify, where),
            proxy_servers=_proxies(proxy_servers or {}, where),
        )


@dataclass(frozen=True)
class Settings:
    """What Amber reads from its environment variables (``AMBER_*``)."""

    home: Path  # $AMBER_HOME, else the user data directory
    remote_url: str | None = None  # $AMBER_REMOTE
    mutable_tags: tuple[str, ...] = DEFAULT_MUTABLE_TAGS  # $AMBER_MUTABLE_TAGS, comma-separated
    link_mode: str = "hardlink"  # $AMBER_LINK_MODE: one of LINK_MODES
    link_scripts: str = "run"  # $AMBER_LINK_SCRIPTS: one of LINK_SCRIPTS
    # Read from the settings files (``config_files``), $AMBER_MIRRORS and $CONDA_* only when
    # ``from_environ(files=True)``: the hot path of `amber run` needs none of them.
    network: Network = field(default_factory=Network)
    channel_priority: str | None = None  # strict / flexible / disabled; None: not set

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, *, files: bool = True
    ) -> Settings:
        """The settings ``environ`` (default: this process's environment) gives; with
        ``files``, also the network settings and channel priority of the settings files."""
        environ = os.environ if environ is None else environ
        tags = environ.get("AMBER_MUTABLE_TAGS")
        link_mode = (environ.get("AMBER_LINK_MODE") or "hardlink").strip().lower()
        if link_mode not in LINK_MODES:
            raise AmberError(
                f"AMBER_LINK_MODE={environ['AMBER_LINK_MODE']!r} is not a link mode: use one of "
                f"{', '.join(LINK_MODES)} (how envs get their files from the package caches)."
            )
        link_scripts = (environ.get("AMBER_LINK_SCRIPTS") or "run").strip().lower()
        if link_scripts not in LINK_SCRIPTS:
            raise AmberError(
                f"AMBER_LINK_SCRIPTS={environ['AMBER_LINK_SCRIPTS']!r} is not a choice: use "
                "run (as conda: packages' pre-/post-link scripts run when they are installed) "
                "or refuse (they are skipped, each one named)."
            )
        return cls(
            home=default_home(environ),
            remote_url=environ.get("AMBER_REMOTE") or None,
            mutable_tags=DEFAULT_MUTABLE_TAGS
            if tags is None
            else tuple(t.strip() for t in tags.split(",") if t.strip()),
            link_mode=link_mode,
            link_scripts=link_scripts,
            **(_file_settings(environ) if files else {}),
        )


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """The store's directory: ``$AMBER_HOME``, else the user data directory."""
    home = (os.environ if environ is None else environ).get("AMBER_HOME")
    if home:
        return Path(home).expanduser()
    # Imported here: `amber run` reaches this module, and with AMBER_HOME set never needs it.
    from platformdirs import user_data_dir  # noqa: PLC0415 - on the hot path of `amber run`

    return Path(user_data_dir("amber", appauthor=False))


def config_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Amber's settings files (TOML) that exist, lowest precedence first: the user's
    (``$XDG_CONFIG_HOME/amber/config.toml``, else ``~/.config/amber/config.toml``), then
    the one ``$AMBER_CONFIG`` names."""
    environ = os.environ if environ is None else environ
    found = []
    xdg = environ.get("XDG_CONFIG_HOME")
    home = environ.get("HOME")
    user = Path(xdg) if xdg else (Path(home) / ".config" if home else None)
    if user is not None:
        found.append(user / "amber" / "config.toml")
    if environ.get("AMBER_CONFIG"):
        found.append(Path(environ["AMBER_CONFIG"]).expanduser())
    return [p for p in found if p.is_file()]


def _file_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """``network`` and ``channel_priority`` from the settings files, then $AMBER_MIRRORS,
    $CONDA_SSL_VERIFY and $CONDA_CHANNEL_PRIORITY (a later source wins per key; mirrors
    merge prefix by prefix)."""
    mirrors: dict[str, Any] = {}
    values: dict[str, tuple[object, str]] = {}
    for path in config_files(environ):
        data = _read_toml(path)
        for key, value in data.items():
            name = key.replace("-", "_")
            if name == "mirrors":
                if not isinstance(value, dict):
                    raise ConfigError(
                        f"{path}: `mirrors` must be a table of channel URL = [mirror URLs]",
                        path=path, key="mirrors",
                    )  # fmt: skip
                mirrors.update(_mirrors(value, str(path)))
            elif name in ("ssl_verify", "proxy_servers", "channel_priority"):
                values[name] = (value, str(path))
    if environ.get("AMBER_MIRRORS"):
        try:
            raw = json.loads(environ["AMBER_MIRRORS"])
        except ValueError as exc:
            raise ConfigError(
                f"AMBER_MIRRORS is not JSON ({exc}): write it as "
                '{"https://conda.anaconda.org/conda-forge": ["https://mirror/conda-forge"]}',
                key="AMBER_MIRRORS",
            ) from None
        mirrors.update(_mirrors(raw, "AMBER_MIRRORS"))
    for name in ("ssl_verify", "channel_priority"):
        variable = f"CONDA_{name.upper()}"
        if environ.get(variable):
            values[name] = (environ[variable], variable)
    ssl_verify, ssl_where = values.get("ssl_verify", (True, ""))
    proxies, proxy_where = values.get("proxy_servers", ({}, ""))
    if not isinstance(proxies, dict):
        raise ConfigError(
            f"{proxy_where}: `proxy_servers` must be a table of scheme = proxy URL "
            '(http = "http://proxy:3128")', key="proxy_servers",
        )  # fmt: skip
    priority, priority_where = values.get("channel_priority", (None, ""))
    return {
        "network": Network(
            mirrors=FrozenMap(mirrors),
            ssl_verify=_ssl_verify(ssl_verify, ssl_where),
            proxy_servers=_proxies(proxies, proxy_where),
        ),
        "channel_priority": None
        if priority is None
        else check_channel_priority(priority, priority_where),
    }


def check_channel_priority(value: object, where: str) -> str:
    """``value`` as one of ``CHANNEL_PRIORITIES`` (conda also reads a boolean: true is
    flexible, false disabled), else a ``ConfigError`` naming ``where``."""
    if isinstance(value, bool):
        return "flexible" if value else "disabled"
    text = str(value).strip().lower()
    if text in ("true", "yes", "on"):
        return "flexible"
    if text in ("false", "no", "off"):
        return "disabled"
    if text not in CHANNEL_PRIORITIES:
        raise ConfigError(
            f"{where}: channel_priority {value!r} is not one of "
            f"{', '.join(CHANNEL_PRIORITIES)} (as conda reads it)",
            key="channel_priority",
        )
    return text


def _read_toml(path: Path) -> dict[str, Any]:
    # Imported here: `amber run` reads no settings file (from_environ(files=False)).
    import tomllib  # noqa: PLC0415 - keeps the hot path's imports what they were

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the settings file {path}: {exc}", path=path) from None


def _is_url(text: object) -> bool:
    return isinstance(text, str) and "://" in text and not text.startswith("://")


def _mirrors(raw: Mapping[str, Any], where: str) -> FrozenMap[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for channel, targets in raw.items():
        listed = [targets] if isinstance(targets, str) else targets
        if (
            not _is_url(channel)
            or not isinstance(listed, list)
            or not listed
            or not all(_is_url(t) for t in listed)
        ):
            raise ConfigError(
                f"{where}: the mirror entry {channel!r} = {targets!r} is not a channel URL "
                "mapped to a list of mirror URLs (as pixi's [mirrors]: "
                '"https://conda.anaconda.org/conda-forge" = ["https://my-mirror/conda-forge"])',
                key="mirrors",
            )
        out[str(channel).rstrip("/")] = tuple(str(t).rstrip("/") for t in listed)
    return FrozenMap(out)


def _ssl_verify(value: object, where: str) -> bool | str:
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in ("true", "yes", "1", "truststore"):
        return True  # conda's "truststore": the system's store, which rattler reads anyway
    if text.lower() in ("false", "no", "0"):
        return False
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"{where}: ssl_verify is {text!r}, neither true/false nor an existing CA bundle "
            "file (conda reads a path there as the certificates to trust)",
            key="ssl_verify",
        )
    return str(path.resolve())


def _proxies(raw: Mapping[str, Any], where: str) -> FrozenMap[str, str]:
    out = {}
    for scheme, url in raw.items():
        if scheme not in ("http", "https") or not _is_url(url):
            raise ConfigError(
                f"{where}: proxy_servers entry {scheme!r}: {url!r} is not read: Amber takes "
                '`http` and `https` keys, each a proxy URL (http = "http://proxy:3128"); '
                "conda's per-host keys (`http://host`) are not supported",
                key="proxy_servers",
            )
        out[scheme] = str(url)
    return FrozenMap(out)


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

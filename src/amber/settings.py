"""Amber's own settings: the one place that reads Amber's environment variables.

Loaded once at the edge (``amber.api.Session``, the CLI, the hot path) and passed
down; lower packages take the values they need as arguments.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from amber._frozen import FrozenMap
from amber.errors import AmberError, ConfigError

__all__ = [
    "Settings", "Network", "DEFAULT_MUTABLE_TAGS", "LINK_MODES", "LINK_SCRIPTS", "default_home",
    "conda_overrides", "insecure_hosts", "PYPI_INDEX", "uv_indexes", "uv_index_environ",
    "UV_INDEX_VARIABLES",
]  # fmt: skip

DEFAULT_MUTABLE_TAGS = ("latest", "stable", "candidate")
LINK_MODES = ("hardlink", "copy", "reflink")  # how envs get files from the package caches
PYPI_INDEX = "https://pypi.org/simple"  # uv's default index
LINK_SCRIPTS = ("run", "refuse")  # packages' pre-/post-link scripts: conda runs them


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
    # The environment a channel's ``${VAR}`` (a token) is expanded from when a lock recording
    # it is installed: used for requests only, never written.
    variables: Mapping[str, str] = field(default_factory=FrozenMap, compare=False, repr=False)

    def mirrored(self, url: str) -> str:
        """Where a request for ``url`` goes: its longest mirrored prefix replaced by the
        first mirror of that prefix, else ``url`` itself."""
        for prefix in sorted(self.mirrors, key=len, reverse=True):
            base = prefix.rstrip("/")
            if url == base or url.startswith(base + "/"):
                return self.mirrors[prefix][0].rstrip("/") + url[len(base) :]
        return url

    def uv_environment(
        self, urls: Iterable[str] = (), environ: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """What these settings put in uv's environment, for a uv call that reaches ``urls``
        (its indexes, find-links, direct references and files): ``proxy_servers`` as
        ``HTTP_PROXY``/``HTTPS_PROXY``, a CA bundle as ``SSL_CERT_FILE``, and with
        ``ssl_verify: false`` the hosts of ``urls`` (PyPI's file host too when PyPI is one)
        added to ``UV_INSECURE_HOST`` (uv's ``--allow-insecure-host``, as pixi passes its
        ``tls-no-verify``). Variables no setting names are left as the user set them."""
        environ = os.environ if environ is None else environ
        out = {f"{scheme.upper()}_PROXY": url for scheme, url in self.proxy_servers.items()}
        if isinstance(self.ssl_verify, str):
            out["SSL_CERT_FILE"] = self.ssl_verify
        elif self.ssl_verify is False:
            hosts = insecure_hosts(urls)
            if hosts:
                mine = environ.get("UV_INSECURE_HOST", "").split()
                out["UV_INSECURE_HOST"] = " ".join(dict.fromkeys([*mine, *hosts]))
        return out

    @classmethod
    def of(
        cls,
        mirrors: Mapping[str, Any] | None = None,
        ssl_verify: object = True,
        proxy_servers: Mapping[str, Any] | None = None,
        *,
        where: str | Mapping[str, str] = "the settings",
        variables: Mapping[str, str] | None = None,
    ) -> Network:
        """The network settings from raw values (a settings file's, ``.condarc``'s), checked:
        a malformed one is a ``ConfigError`` naming where it came from (``where``, or
        ``where[key]``) and the key."""

        def origin(key: str) -> str:
            return where if isinstance(where, str) else where.get(key, "the settings")

        return cls(
            mirrors=_mirrors(mirrors or {}, origin("mirrors")),
            ssl_verify=_ssl_verify(ssl_verify, origin("ssl_verify")),
            proxy_servers=_proxies(proxy_servers or {}, origin("proxy_servers")),
            variables=FrozenMap(variables or {}),
        )


@dataclass(frozen=True)
class Settings:
    """What Amber reads from its environment variables (``AMBER_*``).

    Amber's settings files and ``.condarc`` are read by ``amber.condarc`` alone (at the
    edge, ``amber.api.Session``): the network settings and the channel priority come from
    there (``amber.condarc.network_of``), with ``mirrors()`` of ``$AMBER_MIRRORS`` over
    the files'.
    """

    home: Path  # $AMBER_HOME, else the user data directory
    remote_url: str | None = None  # $AMBER_REMOTE
    mutable_tags: tuple[str, ...] = DEFAULT_MUTABLE_TAGS  # $AMBER_MUTABLE_TAGS, comma-separated
    link_mode: str = "hardlink"  # $AMBER_LINK_MODE: one of LINK_MODES
    link_scripts: str = "run"  # $AMBER_LINK_SCRIPTS: one of LINK_SCRIPTS
    # $AMBER_CONFIG: a settings file (TOML) over the user's and the project's (amber.condarc)
    config_file: Path | None = None
    # $AMBER_MIRRORS as written (JSON), parsed by ``mirrors()`` where downloads need it: the
    # hot path of `amber run` never does.
    mirrors_json: str | None = None
    policy: str | None = None  # $AMBER_POLICY: an amber-policy.toml (path or URL) over all
    user: str | None = None  # $AMBER_USER: who tags record as their author (else user@host)

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
            config_file=Path(environ["AMBER_CONFIG"]).expanduser()
            if environ.get("AMBER_CONFIG")
            else None,
            mirrors_json=environ.get("AMBER_MIRRORS") or None,
            policy=environ.get("AMBER_POLICY") or None,
            user=(environ.get("AMBER_USER") or "").strip() or None,
        )

    def mirrors(self) -> FrozenMap[str, tuple[str, ...]]:
        """``$AMBER_MIRRORS``: channel URL prefix -> mirror URLs; ``ConfigError`` when it is
        not such a JSON object."""
        if not self.mirrors_json:
            return FrozenMap()
        try:
            raw = json.loads(self.mirrors_json)
        except ValueError as exc:
            raise ConfigError(
                f"AMBER_MIRRORS is not JSON ({exc}): write it as "
                '{"https://conda.anaconda.org/conda-forge": ["https://mirror/conda-forge"]}',
                key="AMBER_MIRRORS",
            ) from None
        if not isinstance(raw, dict):
            raise ConfigError(
                "AMBER_MIRRORS must be a JSON object of channel URL: [mirror URLs]",
                key="AMBER_MIRRORS",
            )
        return _mirrors(raw, "AMBER_MIRRORS")


def insecure_hosts(urls: Iterable[str]) -> list[str]:
    """The ``host[:port]`` of each http(s) URL (PyPI's file host with PyPI's index), sorted;
    credentials never part of it."""
    hosts = set()
    for url in urls:
        parts = urlsplit(url.strip())
        if parts.scheme.removeprefix("git+") in ("http", "https") and parts.hostname:
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            hosts.add(f"{host}:{parts.port}" if parts.port else host)
    if "pypi.org" in hosts:
        hosts.add("files.pythonhosted.org")
    return sorted(hosts)


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """The store's directory: ``$AMBER_HOME``, else the user data directory."""
    home = (os.environ if environ is None else environ).get("AMBER_HOME")
    if home:
        return Path(home).expanduser()
    # Imported here: `amber run` reaches this module, and with AMBER_HOME set never needs it.
    from platformdirs import user_data_dir  # noqa: PLC0415 - on the hot path of `amber run`

    return Path(user_data_dir("amber", appauthor=False))


def _is_url(text: object) -> bool:
    return isinstance(text, str) and "://" in text and not text.startswith("://")


def _mirrors(raw: Mapping[str, Any], where: str) -> FrozenMap[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for channel, targets in raw.items():
        listed = [targets] if isinstance(targets, str) else targets
        if (
            not _is_url(channel)
            or not isinstance(listed, list | tuple)
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


# uv's settings that choose the indexes it resolves from (uv's own precedence: the default
# index of UV_DEFAULT_INDEX over UV_INDEX_URL; UV_INDEX's indexes before UV_EXTRA_INDEX_URL's).
UV_INDEX_VARIABLES = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL")


def uv_indexes(environ: Mapping[str, str] | None = None) -> tuple[str | None, tuple[str, ...]]:
    """(the default index, the other indexes) that uv's environment variables set, as uv
    reads them: ``UV_INDEX`` and ``UV_EXTRA_INDEX_URL`` are space-separated lists, and a
    ``UV_INDEX`` entry may be ``name=URL``. ``ConfigError`` naming the variable for a value
    that is no URL."""
    environ = os.environ if environ is None else environ

    def urls(variable: str) -> list[str]:
        out = []
        for entry in environ.get(variable, "").split():
            name, sep, url = entry.partition("=")
            url = url if sep and "://" not in name else entry
            if not _is_url(url):
                raise ConfigError(
                    f"${variable}: an entry is not an index URL (expected scheme://host/...)",
                    key=variable,
                )
            out.append(url)
        return out

    default = [*urls("UV_DEFAULT_INDEX"), *urls("UV_INDEX_URL")]
    return (default[0] if default else None), (*urls("UV_INDEX"), *urls("UV_EXTRA_INDEX_URL"))


def uv_index_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """uv's index variables as set, for a uv command that must see what the user's uv sees
    (``uv lock --check`` of the user's own project)."""
    environ = os.environ if environ is None else environ
    return {k: environ[k] for k in UV_INDEX_VARIABLES if k in environ}

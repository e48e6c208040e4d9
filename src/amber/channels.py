"""The channel settings in effect (``CondaConfig``) and the one resolver of channel names:
``defaults``, ``nodefaults``, multichannels, ``custom_channels``, ``channel_alias``, the
allow/deny lists and ``${VAR}`` in URLs, as conda resolves them (``conda.models.channel``).

A frozen value, read from files by ``amber.condarc`` at the edge and passed down; no YAML
or TOML here, so a ``Spec`` (and a lock) needs no parser to exist.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from amber._frozen import FrozenMap
from amber._urls import is_url, redact
from amber.errors import ConfigError

__all__ = [
    "CondaConfig",
    "KEYS",
    "DEFAULT_CHANNEL_ALIAS",
    "DEFAULT_CHANNELS",
    "DEFAULT_CUSTOM_CHANNELS",
    "FALLBACK_CHANNELS",
    "PRIORITIES",
    "VARIABLE",
    "expand_vars",
    "setting_key",
]

DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"
DEFAULT_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
_DEFAULT_CHANNELS_WIN = (*DEFAULT_CHANNELS, "https://repo.anaconda.com/pkgs/msys2")
DEFAULT_CUSTOM_CHANNELS = {"pkgs/pro": "https://repo.anaconda.com"}
# What a conda spec that names no channel (and has none configured) is solved against.
FALLBACK_CHANNELS = ("conda-forge",)
PRIORITIES = ("strict", "flexible", "disabled")

# Every setting read, with its kind: conda's name (Amber's TOML spells it with dashes).
KEYS: dict[str, str] = {
    "channels": "list",
    "default_channels": "list",
    "channel_alias": "str",
    "custom_channels": "map",
    "custom_multichannels": "map-of-lists",
    "channel_priority": "str",
    "allowlist_channels": "list",
    "denylist_channels": "list",
    "ssl_verify": "bool-or-str",
    "proxy_servers": "map",
    "mirrors": "map-of-lists",  # Amber's (pixi's) own: never in a .condarc
    "policy": "str",  # Amber's own: the amber-policy.toml (path or URL) every project obeys
}
_ALIASES = {"whitelist_channels": "allowlist_channels", "channel": "channels"}
VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class CondaConfig:
    """The channel settings in effect. ``origins`` says where each value came from."""

    channels: tuple[str, ...] = ()
    default_channels: tuple[str, ...] = DEFAULT_CHANNELS
    channel_alias: str = DEFAULT_CHANNEL_ALIAS
    custom_channels: FrozenMap[str, str] = FrozenMap(DEFAULT_CUSTOM_CHANNELS)
    custom_multichannels: FrozenMap[str, tuple[str, ...]] = FrozenMap()
    channel_priority: str | None = None  # strict / flexible / disabled; None: not set
    allowlist_channels: tuple[str, ...] = ()
    denylist_channels: tuple[str, ...] = ()
    ssl_verify: bool | str = True  # False, True or a CA bundle's path
    proxy_servers: FrozenMap[str, str] = FrozenMap()
    mirrors: FrozenMap[str, tuple[str, ...]] = FrozenMap()
    policy: str | None = None
    # key -> "FILE: key", "$CONDA_KEY" or "default" (several sources joined by "; ")
    origins: FrozenMap[str, str] = field(default=FrozenMap(), compare=False)
    # The variables ``${VAR}`` in a channel URL may name; expanded only at use.
    variables: Mapping[str, str] = field(default=FrozenMap(), compare=False, repr=False)
    host_is_windows: bool = field(default=sys.platform == "win32", compare=False)

    def origin(self, key: str) -> str:
        return self.origins.get(key, "default")

    # -- channels ---------------------------------------------------------------

    def channel_urls(
        self,
        written: Iterable[str],
        *,
        base: Path | None = None,
        platforms: Sequence[str] = (),
        add_configured: bool = True,
    ) -> tuple[str, ...]:
        """The channel URLs a spec's channels mean, in priority order, as conda resolves them.

        ``nodefaults`` is dropped, and without it the configured ``channels`` follow the
        written ones (``conda env create``); ``defaults`` and other multichannels expand;
        a name becomes ``custom_channels``' or ``channel_alias``'s URL; a path, a
        ``file://`` URL. ``${VAR}`` stays as written (see ``expand_vars``). A channel
        the allow/deny lists refuse is a ``ConfigError`` naming it and the setting's file.
        """
        written = [c.strip() for c in written if c and c.strip()]
        names = [c for c in written if c != "nodefaults"]
        if add_configured and "nodefaults" not in written:
            names += self.channels
        out: list[str] = []
        for name in names:
            out.extend(self.expand(name, base=base, platforms=platforms))
        urls = tuple(dict.fromkeys(out))
        self.check_allowed(urls)
        return urls

    def expand(
        self, channel: str, *, base: Path | None = None, platforms: Sequence[str] = ()
    ) -> tuple[str, ...]:
        """One channel as written: its URL, or a multichannel's URLs."""
        channel = channel.strip()
        if is_url(channel):
            return (channel.rstrip("/"),)
        if channel.startswith(("/", "./", "../", "~")) or channel in (".", ".."):
            path = Path(channel).expanduser()
            if not path.is_absolute() and base is not None:
                path = base / path
            return (path.resolve().as_uri(),)
        name = channel.strip("/")
        multi = self.multichannels(platforms)
        if name in multi:
            return tuple(self._simple(url) for url in multi[name])
        custom = self._custom(platforms)
        parts = name.split("/")
        for n in range(len(parts), 0, -1):
            location = custom.get("/".join(parts[:n]))
            if location is not None:
                return (f"{location.rstrip('/')}/{name}",)
        return (f"{self.channel_alias.rstrip('/')}/{name}",)

    def multichannels(self, platforms: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
        """``custom_multichannels`` with ``defaults`` (``default_channels`` unless
        ``custom_multichannels`` sets it; msys2 joins conda's built-in list for Windows)."""
        defaults = self.default_channels
        windows = self.host_is_windows or any(p.startswith("win-") for p in platforms)
        if defaults == DEFAULT_CHANNELS and windows:
            defaults = _DEFAULT_CHANNELS_WIN
        return {"defaults": defaults, **dict(self.custom_multichannels)}

    def _simple(self, url: str) -> str:
        return url.rstrip("/") if is_url(url) else f"{self.channel_alias.rstrip('/')}/{url}"

    def _custom(self, platforms: Sequence[str]) -> dict[str, str]:
        """Channel name -> the location it lives under: the members of every multichannel
        (``pkgs/main`` is ``https://repo.anaconda.com``'s), then ``custom_channels``."""
        out: dict[str, str] = {}
        alias = self.channel_alias.rstrip("/")
        for urls in self.multichannels(platforms).values():
            for url in urls:
                full = self._simple(url)
                if full.startswith(alias + "/"):
                    location, name = alias, full[len(alias) + 1 :]
                else:
                    scheme, _, rest = full.partition("://")
                    host, _, name = rest.partition("/")
                    location = f"{scheme}://{host}"
                if name:
                    out[name] = location
        out.update(self.custom_channels)
        return out

    def check_allowed(self, urls: Iterable[str]) -> None:
        """``ConfigError`` for a channel ``denylist_channels`` names or
        ``allowlist_channels`` (when set) leaves out."""
        if not self.allowlist_channels and not self.denylist_channels:
            return
        allowed = {_bare(u) for c in self.allowlist_channels for u in self.expand(c)}
        denied = {_bare(u) for c in self.denylist_channels for u in self.expand(c)}
        for url in urls:
            if _bare(url) in denied:
                raise ConfigError(
                    f"channel {redact(url)} is refused by denylist_channels "
                    f"({self.origin('denylist_channels')}): remove it from the spec or "
                    "from that setting",
                    key="denylist_channels",
                    channel=redact(url),
                )
            if allowed and _bare(url) not in allowed:
                raise ConfigError(
                    f"channel {redact(url)} is not in allowlist_channels "
                    f"({self.origin('allowlist_channels')}): use one of "
                    f"{', '.join(sorted(allowed))}, or add it to that setting",
                    key="allowlist_channels",
                    channel=redact(url),
                )

    def expand_vars(self, url: str) -> str:
        """``url`` with ``$VAR`` / ``${VAR}`` replaced from the environment it was loaded
        with (for use only: never write the result); ``ConfigError`` if one is unset."""
        return expand_vars(url, self.variables)

    # -- showing ------------------------------------------------------------------

    def value(self, key: str) -> object:
        """The effective value of a setting (conda's or Amber's spelling)."""
        key = setting_key(key)
        if key not in KEYS:
            raise ConfigError(
                f"unknown setting {key!r} (known: {', '.join(sorted(KEYS))})", key=key
            )
        value = getattr(self, key)
        if isinstance(value, Mapping):
            return {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
        return list(value) if isinstance(value, tuple) else value


def expand_vars(text: str, variables: Mapping[str, str]) -> str:
    """``$VAR`` and ``${VAR}`` in ``text`` from ``variables``; ``ConfigError`` names a
    variable that is not set (conda would fetch the URL with the ``$VAR`` left in it)."""

    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("named")
        if name not in variables:
            raise ConfigError(
                f"channel {redact(text)} uses ${{{name}}}, which is not set in the "
                "environment: set it (it is expanded when the channel is read, never written)",
                key=name,
                channel=redact(text),
            )
        return variables[name]

    return VARIABLE.sub(value, text) if "$" in text else text


def _bare(url: str) -> str:
    return redact(url).rstrip("/")


def setting_key(key: str) -> str:
    key = key.strip().replace("-", "_")
    return _ALIASES.get(key, key)

"""Channel settings as conda reads them: ``.condarc`` files, ``$CONDA_*`` variables, and
Amber's own TOML settings files over them, merged into one ``CondaConfig``.

Read once at the edge (``amber.api.Session``) and passed down. Files are found where
conda finds them (``conda.base.constants.SEARCH_PATH``) and merged with conda's rules: a
later source wins for a single value, maps merge key by key, lists concatenate with the
later (higher precedence) source first; a key marked ``#!final`` in a file is not
overridden by any later source.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amber._frozen import FrozenMap
from amber._fs import write_atomic
from amber._hot import CONDARC_SEARCH_PATH, SYSTEM_CONDARC, project_config_paths, user_config_path
from amber._urls import is_url, redact
from amber.channels import (
    DEFAULT_CUSTOM_CHANNELS,
    KEYS,
    PRIORITIES,
    VARIABLE,
    CondaConfig,
    setting_key,
)
from amber.errors import ConfigError
from amber.settings import Network, Settings

__all__ = [
    "load", "load_for", "network_of", "search_path", "user_config_file", "project_config_file",
    "Setting", "settings", "setting", "set_value", "uv_settings", "UV_VARIABLES",
]  # fmt: skip

_FINAL = re.compile(r"#!final\s*$")


@dataclass(frozen=True)
class _Layer:
    """One source of settings: a file, the environment, Amber's TOML."""

    where: str  # a file's path, or "environment"
    values: dict[str, Any]
    final: frozenset[str] = frozenset()
    names: dict[str, str] = field(default_factory=dict)  # key -> how the source spelled it


def search_path(environ: Mapping[str, str]) -> list[Path]:
    """The ``.condarc`` files conda would read, lowest precedence first."""
    out: list[Path] = []
    for entry in (*SYSTEM_CONDARC, *CONDARC_SEARCH_PATH):
        text = _expand_path(entry, environ)
        if text is None:
            continue
        path = Path(text)
        try:
            if path.is_file():
                if path.name in (".condarc", "condarc") or path.suffix in (".yml", ".yaml"):
                    out.append(path)
            elif path.is_dir():
                out.extend(
                    sorted(
                        p for p in path.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml")
                    )
                )
        except OSError:
            continue
    return list(dict.fromkeys(out))


def _expand_path(entry: str, environ: Mapping[str, str]) -> str | None:
    """A search path entry with its variables and ``~``; None when one is unset."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group("braced") or match.group("named")
        if not environ.get(name):
            missing = True
            return ""
        return environ[name]

    text = VARIABLE.sub(value, entry)
    if missing:
        return None
    if text.startswith("~"):
        home = environ.get("HOME") or environ.get("USERPROFILE")
        if not home:
            return None
        text = home + text[1:]
    return text


def user_config_file(environ: Mapping[str, str]) -> Path | None:
    """Amber's user settings: ``$XDG_CONFIG_HOME/amber/config.toml`` (``~/.config/...``)."""
    path = user_config_path(dict(environ))  # one rule, which amber._hot's memo keys watch too
    return Path(path) if path else None


def project_config_file(cwd: Path) -> Path | None:
    """The project's settings: ``.amber/config.toml`` in ``cwd`` or the nearest parent."""
    for candidate in project_config_paths(str(cwd)):
        if os.path.isfile(candidate):
            return Path(candidate)
    return None


def load(
    environ: Mapping[str, str] | None = None,
    *,
    cwd: Path | None = None,
    amber_config: Path | None = None,
    mirrors: Mapping[str, Sequence[str]] | None = None,
) -> CondaConfig:
    """The settings in effect: conda's files, Amber's TOML files (user, project,
    ``amber_config`` from ``$AMBER_CONFIG``), then ``$CONDA_*`` variables, then ``mirrors``
    (``Settings.mirrors()``, from ``$AMBER_MIRRORS``), each over the one before.
    ``ConfigError`` names a file or value that cannot be read."""
    environ = dict(os.environ if environ is None else environ)
    layers = [_condarc_layer(path) for path in search_path(environ)]
    user = user_config_file(environ)
    project = project_config_file(cwd or Path.cwd())
    for path in (user, project, amber_config):
        if path is not None and (path.is_file() or path == amber_config):
            layers.append(_toml_layer(path))
    layers.append(_environment_layer(environ))
    if mirrors:
        values = {"mirrors": {k: tuple(v) for k, v in mirrors.items()}}
        layers.append(_Layer("environment", values, names={"mirrors": "$AMBER_MIRRORS"}))
    return _merge(layers, environ)


def load_for(settings: Settings, environ: Mapping[str, str] | None = None) -> CondaConfig:
    """``load`` with what ``settings`` (Amber's variables) adds: ``$AMBER_CONFIG``'s file
    and ``$AMBER_MIRRORS``. What the edge (``amber.api.Session``) calls."""
    return load(environ, amber_config=settings.config_file, mirrors=settings.mirrors())


def network_of(config: CondaConfig) -> Network:
    """How downloads reach the channels under ``config``: its mirrors (the files', then
    ``$AMBER_MIRRORS``), ``ssl_verify`` and ``proxy_servers``, checked; a malformed one is
    a ``ConfigError`` naming the file or variable it came from."""
    return Network.of(
        config.mirrors,
        config.ssl_verify,
        config.proxy_servers,
        where={key: config.origin(key) for key in ("mirrors", "ssl_verify", "proxy_servers")},
        variables=config.variables,
    )


def _condarc_layer(path: Path) -> _Layer:
    import yaml  # noqa: PLC0415 - PyYAML only where there is a .condarc to read

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}", path=path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(
            f"{where}: malformed YAML ({exc.problem or exc.context}); fix it, as conda "
            "would skip the whole file",
            path=path,
        ) from None
    if data is None:
        return _Layer(str(path), {})
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings", path=path)
    final = set()
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
        if match and _FINAL.search(line):
            final.add(setting_key(match.group(1)))
    return _layer(str(path), data, final)


def _toml_layer(path: Path) -> _Layer:
    import tomllib  # noqa: PLC0415 - only where there is a settings file to read

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}", path=path) from None
    unknown = sorted(k for k in data if setting_key(k) not in KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r} (known: "
            f"{', '.join(sorted(k.replace('_', '-') for k in KEYS))})",
            path=path,
            key=unknown[0],
        )
    return _layer(str(path), data, set())


_OWN = ("mirrors", "policy")  # Amber's own settings: read from Amber's TOML files alone


def _layer(where: str, data: Mapping[str, Any], final: set[str]) -> _Layer:
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for raw_key, raw in data.items():
        key = setting_key(str(raw_key))
        if key not in KEYS or key in _OWN and where.endswith(("condarc", ".yml", ".yaml")):
            continue  # conda's other settings are not Amber's business
        values[key] = _checked(key, raw, f"{where}: {raw_key}")
        names[key] = str(raw_key)
    return _Layer(where, values, frozenset(final & set(values)), names)


def _environment_layer(environ: Mapping[str, str]) -> _Layer:
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, text in environ.items():
        if not name.startswith("CONDA_") or not text.strip():
            continue  # an empty variable is an unset one
        key = setting_key(name[len("CONDA_") :].lower())
        if key not in KEYS or KEYS[key].startswith("map") or key in _OWN:
            continue  # conda reads only flat settings from variables
        if KEYS[key] == "list":
            raw: object = [v.strip() for v in text.split(",") if v.strip()]
        else:
            raw = text.split("!important")[0].strip()
        values[key] = _checked(key, raw, f"${name}")
        names[key] = f"${name}"
    return _Layer("environment", values, frozenset(), names)


def _checked(key: str, raw: object, where: str) -> object:
    kind = KEYS[key]

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: expected {expected}, got {raw!r}", key=key)

    if key == "channel_priority":
        # conda also reads a boolean there (and its words): true is flexible, false disabled.
        text = str(raw).strip().lower()
        text = {"true": "flexible", "yes": "flexible", "on": "flexible"}.get(text, text)
        text = {"false": "disabled", "no": "disabled", "off": "disabled"}.get(text, text)
        if not isinstance(raw, bool | str) or text not in PRIORITIES:
            raise bad(f"{' or '.join(PRIORITIES)} (as conda reads channel_priority)")
        return text

    if kind == "list":
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise bad("a list of strings")
        return tuple(v.strip() for v in raw)
    if kind == "str":
        if not isinstance(raw, str) or not raw.strip():
            raise bad("a string")
        value = raw.strip()
        if key == "channel_alias" and not is_url(value):
            raise ConfigError(f"{where}: channel_alias {value!r} must have a scheme", key=key)
        return value
    if kind == "bool-or-str":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            lowered = raw.strip().lower()
            if lowered in ("true", "yes", "1"):
                return True
            if lowered in ("false", "no", "0"):
                return False
            return raw.strip()
        raise bad("true, false or a CA bundle's path")
    if not isinstance(raw, Mapping):
        raise bad("a mapping")
    out: dict[str, object] = {}
    for k, v in raw.items():
        if kind == "map-of-lists":
            if isinstance(v, str):
                v = [v]
            if not isinstance(v, list) or not all(isinstance(i, str) for i in v):
                raise bad(f"a list of strings for {k!r}")
            out[str(k)] = tuple(i.strip() for i in v)
        else:
            if not isinstance(v, str):
                raise bad(f"a string for {k!r}")
            out[str(k)] = v.strip()
    return out


def _merge(layers: Sequence[_Layer], environ: Mapping[str, str]) -> CondaConfig:
    fields: dict[str, object] = {}
    origins: dict[str, str] = {}
    for key, kind in KEYS.items():
        relevant: list[_Layer] = []
        for layer in layers:
            if key in layer.values:
                relevant.append(layer)
                if key in layer.final:
                    break  # `#!final`: no later source overrides it
        if not relevant:
            continue
        where = [
            layer.names[key]
            if layer.where == "environment"
            else f"{layer.where}: {layer.names[key]}"
            for layer in relevant
        ]
        if kind == "list":
            items = [v for layer in reversed(relevant) for v in layer.values[key]]
            fields[key] = tuple(dict.fromkeys(items))
            origins[key] = "; ".join(reversed(where))
        elif kind.startswith("map"):
            merged: dict[str, object] = {}
            for layer in relevant:
                merged.update(layer.values[key])
            if key == "custom_channels":
                merged = {**DEFAULT_CUSTOM_CHANNELS, **merged}
            fields[key] = FrozenMap(merged)
            origins[key] = "; ".join(reversed(where))
        else:
            fields[key] = relevant[-1].values[key]
            origins[key] = where[-1]
    return CondaConfig(
        **fields,  # type: ignore[arg-type]
        origins=FrozenMap(origins),
        variables=FrozenMap(environ),
    )


# -- Amber's settings file -----------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting as ``amber config list`` shows it: value (credentials out) and origin."""

    key: str  # Amber's spelling (dashes)
    value: object
    origin: str  # "FILE: key", "$CONDA_KEY", several joined by "; ", or "default"


def settings(config: CondaConfig) -> list[Setting]:
    """Every setting Amber reads, its effective value and where it came from."""
    return [setting(config, key) for key in KEYS]


def setting(config: CondaConfig, key: str) -> Setting:
    """One setting (conda's or Amber's spelling); ``ConfigError`` for an unknown key."""
    name = setting_key(key)
    return Setting(name.replace("_", "-"), _shown(config.value(name)), config.origin(name))


# What uv's environment gets from the settings (``Network.uv_environment``), as shown.
UV_VARIABLES = {
    "HTTP_PROXY": "proxy_servers",
    "HTTPS_PROXY": "proxy_servers",
    "SSL_CERT_FILE": "ssl_verify",
    "UV_INSECURE_HOST": "ssl_verify",
}


def uv_settings(config: CondaConfig, environ: Mapping[str, str]) -> list[Setting]:
    """What uv gets from the network settings, one row per variable (``uv.NAME``): the
    value a setting gives it and where that came from, else the user's own variable (left
    as it is), else not set. ``ssl_verify: false`` adds the hosts of each index and file
    uv is sent to, which only the request knows."""
    try:
        network = network_of(config)
    except ConfigError as exc:  # the list is where a user looks for what is wrong
        return [Setting(f"uv.{name}", None, f"not applied: {exc}") for name in UV_VARIABLES]
    given = network.uv_environment(("https://<each-index-host>",), {})
    rows = []
    for name, key in UV_VARIABLES.items():
        if name in given:
            value: object = given[name]
            if name == "UV_INSECURE_HOST":
                mine = environ.get(name, "").split()
                value = " ".join([*mine, "<the host of each index and file uv is sent to>"])
            origin = f"{key.replace('_', '-')}: {config.origin(key)}"
        elif environ.get(name):
            value, origin = environ[name], f"${name}"
        else:
            value, origin = None, "default"
        rows.append(Setting(f"uv.{name}", _shown(value), origin))
    return rows


def _shown(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    return value


def set_value(path: Path, key: str, value: str) -> None:
    """Set ``key`` (``custom-channels.NAME`` for one entry of a table) to ``value`` in the
    TOML settings file at ``path``; a list is written comma-separated. The file is
    rewritten atomically (its comments are not kept); nothing is written on bad input."""
    top, _, sub = key.strip().partition(".")
    name = setting_key(top)
    if name not in KEYS:
        raise ConfigError(
            f"unknown setting {top!r} (known: "
            f"{', '.join(sorted(k.replace('_', '-') for k in KEYS))})",
            key=top,
        )
    kind = KEYS[name]
    data = _toml_layer(path).values if path.is_file() else {}
    current = {k.replace("_", "-"): v for k, v in data.items()}
    toml_key = name.replace("_", "-")
    items = [v.strip() for v in value.split(",") if v.strip()]
    new: object
    if kind.startswith("map"):
        if not sub:
            raise ConfigError(f"{top} is a table: set one entry with {top}.NAME VALUE", key=top)
        table = dict(current.get(toml_key, {}))
        table[sub] = items if kind == "map-of-lists" else value
        new = table
    elif sub:
        raise ConfigError(f"{top} is not a table: set it with {top} VALUE", key=top)
    else:
        new = items if kind == "list" else value
    current[toml_key] = _checked(name, new, f"{path}: {toml_key}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, _toml_text(current))


def _toml_text(data: Mapping[str, object]) -> str:
    def scalar(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple | list):
            return "[" + ", ".join(scalar(v) for v in value) + "]"
        return json.dumps(str(value), ensure_ascii=False)

    lines = [f"{k} = {scalar(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    for k, v in data.items():
        if isinstance(v, Mapping):
            lines += ["", f"[{k}]", *(f"{json.dumps(s)} = {scalar(x)}" for s, x in v.items())]
    return "\n".join(lines).lstrip("\n") + "\n"

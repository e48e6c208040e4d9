"""pixi's manifest as a ``Spec``: ``pixi.toml``, or ``[tool.pixi]`` in a pyproject.toml.

One environment of it (``environment``; default ``default``), composed as pixi composes
it (pixi's ``Environment::features``): the features the environment names, in their
order, then the default feature (unless ``no-default-feature``); a dependency named by
several of them takes the first one's spec. What Amber's spec cannot say is refused by
name (a source dependency, an index per package, per-platform dependencies that differ
between the platforms of the environment). A PyPI ``path`` dependency is a local project
(``-e ./path`` when ``editable = true``), relative to the manifest's folder.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

from amber.channels import CondaConfig
from amber.errors import SpecError, SpecWarning
from amber.spec.model import Spec, from_file
from amber.spec.pyproject import _key_line, _toml_load

__all__ = ["read_pixi"]

DEFAULT = "default"
_SOURCE_KEYS = ("path", "git", "url")  # a conda dependency pixi-build builds from source
_FAMILIES = {
    "unix": ("linux-", "osx-"),
    "linux": ("linux-",),
    "osx": ("osx-",),
    "win": ("win-",),
}


def read_pixi(
    path: Path,
    python: str | None = None,
    channel_config: CondaConfig | None = None,
    environment: str | None = None,
) -> Spec:
    """One environment of a pixi manifest as a ``Spec``; ``SpecError`` naming the table."""
    text, loaded = _toml_load(path)
    data: Any = loaded
    pyproject = path.name.lower() != "pixi.toml"
    try:
        root: Any = data["tool"]["pixi"] if pyproject else data
        return _read(path, text, data, root, pyproject, python, channel_config, environment)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:  # a table of the wrong type
        raise SpecError(
            f"malformed pixi manifest: a table or value of an unexpected type ({exc})", path
        ) from None


def _read(
    path: Path,
    text: str,
    data: Any,
    root: Any,
    pyproject: bool,
    python: str | None,
    channel_config: CondaConfig | None,
    environment: str | None,
) -> Spec:
    prefix = "tool.pixi." if pyproject else ""

    def fail(message: str, key: str, table: str = "") -> SpecError:
        return SpecError(message, path, _key_line(text, key, f"{prefix}{table}".rstrip(".")))

    workspace = root.get("workspace") or root.get("project") or {}
    if not isinstance(workspace, dict):
        raise fail("[workspace] must be a table", "workspace")
    features = _features(root, environment, fail)
    dependencies: dict[str, str] = {}
    pypi: dict[str, str] = {}
    system: dict[str, object] = {}
    variables: dict[str, object] = {}
    channels: list[tuple[int, str]] = []
    platforms = [str(p) for p in workspace.get("platforms") or []]
    for name, feature in features:
        where = f"feature.{name}." if name != DEFAULT else ""
        if name != DEFAULT and feature.get("platforms"):
            platforms = [p for p in platforms if p in feature["platforms"]]
        own = workspace if name == DEFAULT else feature  # the default's are the workspace's
        channels += _channels(own.get("channels") or [], fail, where)
    if not platforms:
        raise fail("no platforms: pixi needs [workspace] platforms", "platforms", "workspace")
    for name, feature in features:
        where = f"feature.{name}." if name != DEFAULT else ""
        for table in _tables(feature, platforms, fail, where):
            for dep, value in (table.get("dependencies") or {}).items():
                dependencies.setdefault(dep, _conda(dep, value, fail, f"{where}dependencies"))
            for dep, value in (table.get("pypi-dependencies") or {}).items():
                pypi.setdefault(
                    dep, _pypi(dep, value, fail, f"{where}pypi-dependencies", path.parent)
                )
            for key, value in (table.get("system-requirements") or {}).items():
                system.setdefault(key, value)
            for key, value in ((table.get("activation") or {}).get("env") or {}).items():
                variables.setdefault(key, value)
    if pyproject:
        project = data.get("project") or {}
        for requirement in project.get("dependencies") or []:
            pypi.setdefault(requirement, requirement)  # pixi installs them from PyPI too
    ordered = sorted(enumerate(channels), key=lambda c: (-c[1][0], c[0]))
    as_of = workspace.get("exclude-newer")
    spec = from_file(
        path,
        workspace.get("name") if isinstance(workspace.get("name"), str) else None,
        conda=list(dependencies.values()),
        pypi=list(pypi.values()),
        channels=list(dict.fromkeys(c for _, (_, c) in ordered)),
        python=python,
        platforms=platforms,
        system_requirements=system,
        variables={k: str(v) for k, v in variables.items()},
        as_of=str(as_of) if as_of is not None else None,
        files=[path.resolve()],
        channel_config=channel_config,
    )
    priority = workspace.get("channel-priority")
    return spec.with_channel_priority(str(priority)) if priority else spec


def _features(root: dict[str, Any], environment: str | None, fail: Any) -> list[tuple[str, Any]]:
    """The (name, table) of each feature of the environment, highest priority first."""
    declared = root.get("environments") or {}
    defined = root.get("feature") or {}
    names = [DEFAULT, *declared] if DEFAULT not in declared else list(declared)
    chosen = environment or DEFAULT
    if chosen not in names:
        raise fail(
            f"no environment {chosen!r} (it has: {', '.join(sorted(names))})", "environments"
        )
    entry = declared.get(chosen, [])
    listed = entry if isinstance(entry, list) else entry.get("features", [])
    no_default = isinstance(entry, dict) and bool(entry.get("no-default-feature"))
    if isinstance(entry, dict) and entry.get("solve-group"):
        warnings.warn(
            SpecWarning(
                f"environment {chosen!r}: solve-group {entry['solve-group']!r} is not "
                "honoured: Amber solves this environment on its own",
                fail("", chosen).path,
            ),
            stacklevel=4,
        )
    out = []
    for name in listed:
        if name not in defined:
            raise fail(f"environment {chosen!r} names the unknown feature {name!r}", chosen)
        out.append((name, defined[name]))
    if not no_default:
        out.append((DEFAULT, root))
    return out


def _channels(values: list[Any], fail: Any, where: str) -> list[tuple[int, str]]:
    out = []
    for value in values:
        if isinstance(value, dict):  # { channel = "conda-forge", priority = 1 }
            if "channel" not in value:
                raise fail("a channel table needs `channel`", "channels", where)
            out.append((int(value.get("priority", 0)), str(value["channel"])))
        else:
            out.append((0, str(value)))
    return out


def _tables(feature: Any, platforms: list[str], fail: Any, where: str) -> list[Any]:
    """The feature itself, then each ``[target.X]`` that holds for every platform of the
    environment; one that holds for only some of them is refused (Amber's spec is the same
    for every platform)."""
    out = [feature]
    for selector, table in (feature.get("target") or {}).items():
        holds = [p for p in platforms if _matches(selector, p)]
        if not holds:
            continue  # not for these platforms: pixi leaves it out too
        if len(holds) < len(platforms):
            raise fail(
                f"[{where}target.{selector}] applies to {', '.join(holds)} only: Amber's spec "
                f"holds the same packages for every platform ({', '.join(platforms)}); lock "
                f"those platforms apart (`--platform`) or move the entries up",
                selector,
                f"{where}target",
            )
        out.append(table)
    return out


def _matches(selector: str, platform: str) -> bool:
    if selector == platform:
        return True
    return platform.startswith(_FAMILIES.get(selector, ("\0",)))


def _conda(name: str, value: Any, fail: Any, table: str) -> str:
    """pixi's ``name = "version"`` or ``name = { version, build, channel }`` as a match spec."""
    if isinstance(value, str):
        return name if value.strip() in ("", "*") else f"{name} {value.strip()}"
    if not isinstance(value, dict):
        raise fail(f"[{table}] {name}: expected a version or a table", name, table)
    source = [k for k in _SOURCE_KEYS if k in value]
    if source:
        raise fail(
            f"[{table}] {name} is a source dependency ({source[0]} = "
            f"{value[source[0]]!r}) that pixi-build builds; Amber cannot build it",
            name,
            table,
        )
    version = str(value.get("version") or "*").strip()
    spec = name if version == "*" and "build" not in value else f"{name} {version}"
    if "build" in value:
        spec += f" {value['build']}"
    return f"{value['channel']}::{spec}" if value.get("channel") else spec


def _local(name: str, value: Any, fail: Any, table: str, folder: Path) -> str:
    """``{ path = ".", editable = true }``: the local project as the spec keeps it, by its
    path relative to the manifest's folder (as pixi reads it), ``-e`` when editable."""
    given = Path(os.path.expanduser(str(value["path"])))
    directory = given if given.is_absolute() else folder / given
    if not (directory / "pyproject.toml").is_file() and not (directory / "setup.py").is_file():
        if directory.is_file() and directory.name.endswith((".whl", ".tar.gz", ".zip")):
            why = "a local archive (Amber locks files from an index or a URL, by sha256)"
        else:
            why = "not a Python project (no pyproject.toml or setup.py there)"
        raise fail(f"[{table}] {name} = {{ path = {value['path']!r} }}: {why}", name, table)
    relative = Path(os.path.relpath(directory.resolve(), folder.resolve())).as_posix()
    if relative != "." and not relative.startswith("../") and relative != "..":
        relative = f"./{relative}"
    return f"-e {relative}" if value.get("editable") is True else relative


def _pypi(name: str, value: Any, fail: Any, table: str, folder: Path) -> str:
    """pixi's PyPI dependency as a requirement line; ``index`` refused by name."""
    if isinstance(value, str):
        version = value.strip()
        if version in ("", "*"):
            return name
        return f"{name}{'==' + version if re.match(r'[0-9]', version) else version}"
    if not isinstance(value, dict):
        raise fail(f"[{table}] {name}: expected a version or a table", name, table)
    extras = f"[{','.join(value['extras'])}]" if value.get("extras") else ""
    if "path" in value:
        return _local(name, value, fail, table, folder)
    for unsupported, why in (("index", "an index for this one package"),):
        if unsupported in value:
            raise fail(
                f"[{table}] {name} = {{ {unsupported} = {value[unsupported]!r} }}: {why} "
                "is not something Amber's spec can say",
                name,
                table,
            )
    if "git" in value:
        rev = value.get("rev") or value.get("tag") or value.get("branch")
        url = f"git+{value['git']}" + (f"@{rev}" if rev else "")
        if value.get("subdirectory"):
            url += f"#subdirectory={value['subdirectory']}"
        return f"{name}{extras} @ {url}"
    if "url" in value:
        return f"{name}{extras} @ {value['url']}"
    version = str(value.get("version") or "*").strip()
    return f"{name}{extras}" + ("" if version == "*" else version)

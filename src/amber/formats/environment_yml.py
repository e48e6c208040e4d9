"""conda's environment.yml: one platform's pins (``name=version=build``, ``- pip:`` with
``name==version``), or with ``from_history`` the user's own spec.

It holds names and versions only: conda (or Amber) solves it again, so builds, URLs and
hashes are not carried, and it describes a single platform.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import yaml

from amber._platform import host_platform
from amber._urls import redact
from amber.errors import AmberError
from amber.formats import Exported, ExportOptions
from amber.formats._conda_meta import lock_channels
from amber.lock import Lock, LockedPypi
from amber.spec import Spec

__all__ = ["NAME", "SUFFIX", "WHOLE", "export", "env_name", "spec_text"]

NAME = "environment.yml"
SUFFIX = ".yml"
WHOLE = False
CARRIES_VARIABLES = True  # conda's variables: section


# conda refuses these in an env name (conda.base.constants.PREFIX_NAME_DISALLOWED_CHARS).
_DISALLOWED = ("/", " ", ":", "#")
# Where PyPI serves its files: a pin by version alone finds them again on the default index.
_PYPI_HOSTS = ("files.pythonhosted.org", "pypi.org", "pypi.python.org")


def env_name(lock: Lock, options: ExportOptions) -> str:
    """``name:``, which ``conda env create -f`` needs: the one asked for (the env's name),
    else ``amber-<full_id[:12]>``; ``AmberError`` for one conda refuses."""
    name = options.name if options.name is not None else f"amber-{lock.full_id[:12]}"
    bad = [c for c in _DISALLOWED if c in name]
    if not name.strip() or bad:
        raise AmberError(
            f"invalid environment name {name!r}: conda refuses names that are empty or contain "
            f"{' '.join(repr(c) for c in _DISALLOWED)}; choose another with --name"
        )
    return name


def export(lock: Lock, options: ExportOptions) -> Exported:
    options = replace(options, name=env_name(lock, options))
    if options.from_history:
        return _from_history(lock, options)
    body = lock.for_platform(_platform(lock, options))
    channels = lock_channels(lock.spec.channels, [body])
    conda = [
        f"{c.name}={c.version}" if options.no_builds else f"{c.name}={c.version}={c.build}"
        for c in body.conda
    ]
    pip = [*_index_lines(lock.spec), *(_pip_line(w, lock.spec) for w in body.pypi)]
    if body.pypi and not body.conda:
        conda.append(f"python={body.python}")  # a PyPI-only env: conda must bring the interpreter
    lost = [
        "builds, URLs and hashes are not carried: conda solves the pins again"
        if not options.no_builds
        else "builds, URLs and hashes are not carried (--no-builds): conda solves the "
        "versions again and may pick other builds"
    ]
    if body.pypi:
        lost.append("the PyPI packages are pinned by version only: no files or hashes")
    dropped = sorted(set(lock.platforms) - {body.platform})
    if dropped:
        lost.append(
            f"environment.yml holds one platform ({body.platform}); not exported: "
            f"{', '.join(dropped)}"
        )
    text = _render(options.name, channels, conda, pip, _variables(lock.spec))
    return Exported(text=text, lost=tuple(lost))


def _platform(lock: Lock, options: ExportOptions) -> str:
    """The platform asked for, else the host's, else the only one."""
    if options.platforms:
        return options.platforms[0]
    if host_platform() in lock.platforms:
        return host_platform()
    if len(lock.platforms) == 1:
        return next(iter(lock.platforms))
    raise AmberError(
        "environment.yml holds one platform and the lock has several, none of them this "
        f"machine's ({', '.join(sorted(lock.platforms))}): choose one with --platform"
    )


def _from_history(lock: Lock, options: ExportOptions) -> Exported:
    """The spec as the user wrote it (canonicalised), with Amber's own keys, so that Amber
    reading it back gets the same ``req_id``."""
    spec = lock.spec
    conda = list(spec.conda)
    if not conda and not spec.channels and spec.python:
        conda.append(f"python={spec.python}")  # a PyPI-only spec: its interpreter
    pip = [*_index_lines(spec), *spec.pypi]
    extra: dict[str, Any] = {"platforms": list(spec.platforms)}
    if spec.system_requirements:
        extra["system-requirements"] = dict(spec.system_requirements)
    if spec.as_of:
        extra["as-of"] = spec.as_of
    extra.update(_variables(spec))
    lost = ["the spec only (--from-history): no pins; solving it again may give other versions"]
    if spec.pypi_constraints:
        lost.append(
            "the PyPI constraints (-c) are not carried: " + ", ".join(spec.pypi_constraints)
        )
    text = _render(options.name, list(spec.channels), conda, pip, extra)
    return Exported(text=text, lost=tuple(lost))


def spec_text(spec: Spec, *, header: str = "") -> str:
    """``spec`` as conda's environment.yml, credentials out of its URLs (Amber reads it back
    to the same conda and PyPI requests); ``header`` is a comment line put first."""
    pip: list[str] = []
    if spec.pypi:
        if spec.index_url:
            pip.append(f"--index-url {redact(spec.index_url)}")
        pip += [f"--extra-index-url {redact(url)}" for url in spec.extra_index_urls]
        pip += list(spec.pypi)
    channels = [redact(c) for c in spec.channels]
    text = _render(spec.name, channels, list(spec.conda), pip, _variables(spec))
    return (f"# {header}\n" if header else "") + text


def _variables(spec: Spec) -> dict[str, Any]:
    """conda's ``variables:`` section (set in the env when conda creates it)."""
    return {"variables": dict(spec.variables)} if spec.variables else {}


def _pip_line(w: LockedPypi, spec: Spec) -> str:
    """``name==version``, found again on the spec's index; a file from another host when the
    spec names no index (an imported lock's private index) is pinned by its URL."""
    if w.commit is not None:
        return w.requirement_line()
    if spec.index_url is None and urlsplit(w.url).hostname not in _PYPI_HOSTS:
        return f"{w.name} @ {redact(w.url)}"
    return f"{w.name}=={w.version}"


def _index_lines(spec: Spec) -> list[str]:
    lines = [f"--index-url {spec.index_url}"] if spec.index_url else []
    return lines + [f"--extra-index-url {u}" for u in spec.extra_index_urls]


def _render(
    name: str | None,
    channels: list[str],
    conda: list[str],
    pip: list[str],
    extra: Mapping[str, Any],
) -> str:
    lines = [f"name: {_scalar(name)}"] if name else []
    if channels:
        lines += ["channels:", *(f"  - {_scalar(c)}" for c in channels)]
    lines.append("dependencies:")
    lines += [f"  - {_scalar(d)}" for d in conda]
    if pip:
        lines += ["  - pip:", *(f"      - {_scalar(p)}" for p in pip)]
    for key, value in extra.items():
        if isinstance(value, list):
            lines += [f"{key}:", *(f"  - {_scalar(v)}" for v in value)]
        elif isinstance(value, dict):
            lines += [f"{key}:", *(f"  {k}: {_scalar(str(v))}" for k, v in value.items())]
        else:
            lines.append(f"{key}: {_scalar(str(value))}")
    return "\n".join(lines) + "\n"


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when YAML reads it back as the same string."""
    try:
        plain = yaml.safe_load(f"- {text}") == [text]
    except yaml.YAMLError:
        plain = False
    return text if plain and text == text.strip() else json.dumps(text)

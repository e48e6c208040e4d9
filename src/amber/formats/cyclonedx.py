"""CycloneDX 1.6 JSON SBOM: every locked file of every platform as a component.

Deterministic like the lock: no timestamp, and the serial number is derived from the
``full_id`` and the exported platforms (the same lock gives the same SBOM).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from amber._version import __version__
from amber.formats import Exported, ExportOptions, chosen_platforms
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock

__all__ = ["NAME", "SUFFIX", "WHOLE", "SPEC_VERSION", "export", "conda_purl", "pypi_purl"]

NAME = "cyclonedx"
SUFFIX = ".cdx.json"
WHOLE = False
SPEC_VERSION = "1.6"
_ROOT = "amber-env"


def conda_purl(c: LockedConda) -> str:
    """``pkg:conda/name@version?build=&channel=&subdir=&type=`` (qualifiers sorted)."""
    kind = "conda" if c.file_name.endswith(".conda") else "tar.bz2"
    qualifiers = {"build": c.build, "channel": c.channel, "subdir": c.subdir, "type": kind}
    return f"pkg:conda/{_quote(c.name)}@{_quote(c.version)}?{_qualifiers(qualifiers)}"


def pypi_purl(w: LockedPypi) -> str:
    """``pkg:pypi/name@version?file_name=`` (the file selects one distribution of the
    release)."""
    name = w.name.lower().replace("_", "-")
    which = {"vcs_url": w.vcs_url} if w.vcs_url else {"file_name": w.file_name}
    return f"pkg:pypi/{_quote(name)}@{_quote(w.version)}?{_qualifiers(which)}"


def export(lock: Lock, options: ExportOptions) -> Exported:
    """The SBOM of the chosen platforms (all by default)."""
    platforms = chosen_platforms(lock, options)
    components: list[dict[str, Any]] = []
    dependencies: list[dict[str, Any]] = []
    for platform in platforms:
        p = lock.platforms[platform]
        refs = {c.name: _ref(platform, "conda", c.file_name) for c in p.conda}
        for c in p.conda:
            components.append(_conda_component(c, p))
            depends = sorted({refs[n] for n in _names(c.depends) if n in refs})
            entry: dict[str, Any] = {"ref": refs[c.name]}
            if depends:
                entry["dependsOn"] = depends
            dependencies.append(entry)
        for w in p.pypi:
            components.append(_pypi_component(w, platform))
            dependencies.append({"ref": _ref(platform, "pypi", w.file_name)})
    dependencies.insert(0, {"ref": _ROOT, "dependsOn": [c["bom-ref"] for c in components]})

    properties = [
        _property("amber:full_id", lock.full_id),
        _property("amber:req_id", lock.req_id),
    ]
    for platform in platforms:
        p = lock.platforms[platform]
        properties.append(_property("amber:platform", platform))
        if p.python:
            properties.append(_property(f"amber:{platform}:python", p.python))
        properties += [
            _property(f"amber:{platform}:virtual_package", v) for v in p.virtual_packages
        ]
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"amber:{lock.full_id}:{','.join(platforms)}")
    bom = {
        "$schema": f"http://cyclonedx.org/schema/bom-{SPEC_VERSION}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "tools": {
                "components": [{"type": "application", "name": "amber", "version": __version__}]
            },
            "component": {
                "type": "application",
                "bom-ref": _ROOT,
                "name": options.name or f"amber-env-{lock.full_id[:12]}",
                "version": lock.full_id,
                "description": f"an environment locked by amber for {', '.join(platforms)}",
            },
            "properties": properties,
        },
        "components": components,
        "dependencies": dependencies,
    }
    return Exported(text=json.dumps(bom, indent=2, ensure_ascii=False) + "\n")


def _conda_component(c: LockedConda, p: PlatformLock) -> dict[str, Any]:
    hashes = [{"alg": "SHA-256", "content": c.sha256}]
    if c.md5:
        hashes.append({"alg": "MD5", "content": c.md5})
    properties = [
        _property("amber:platform", p.platform),
        _property("conda:build", c.build),
        _property("conda:channel", c.channel),
        _property("conda:subdir", c.subdir),
    ]
    properties += [
        _property("amber:provides_pypi", dist)
        for dist, conda_name in p.provided.items()
        if conda_name == c.name
    ]
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": _ref(p.platform, "conda", c.file_name),
        "name": c.name,
        "version": c.version,
        "hashes": hashes,
    }
    if c.license:
        # Conda's license field is free text (not always an SPDX id): carried as a name.
        component["licenses"] = [{"license": {"name": c.license}}]
    component["purl"] = conda_purl(c)
    component["externalReferences"] = [_distribution(c.url, c.sha256)]
    component["properties"] = properties
    return component


def _pypi_component(w: LockedPypi, platform: str) -> dict[str, Any]:
    if w.vcs_url:  # a git commit: no file, no hash; the commit is in the reference
        return {
            "type": "library",
            "bom-ref": _ref(platform, "pypi", w.file_name),
            "name": w.name,
            "version": w.version,
            "purl": pypi_purl(w),
            "externalReferences": [{"type": "vcs", "url": w.vcs_url}],
            "properties": [_property("amber:platform", platform)],
        }
    return {
        "type": "library",
        "bom-ref": _ref(platform, "pypi", w.file_name),
        "name": w.name,
        "version": w.version,
        "hashes": [{"alg": "SHA-256", "content": w.sha256}],
        "purl": pypi_purl(w),
        "externalReferences": [_distribution(w.url, w.sha256)],
        "properties": [_property("amber:platform", platform)],
    }


def _distribution(url: str, sha256: str) -> dict[str, Any]:
    return {"type": "distribution", "url": url, "hashes": [{"alg": "SHA-256", "content": sha256}]}


def _ref(platform: str, kind: str, file_name: str) -> str:
    return f"{platform}/{kind}/{file_name}"


def _property(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def _names(match_specs: Iterable[str]) -> set[str]:
    """The package names of conda match specs (``numpy >=1.26`` -> ``numpy``)."""
    names = (
        re.split(r"[\s<>=!~\[]", s.split("::")[-1].strip(), maxsplit=1)[0] for s in match_specs
    )
    return {name for name in names if name}


def _quote(text: str) -> str:
    return quote(text, safe="")


def _qualifiers(values: dict[str, str]) -> str:
    return "&".join(f"{k}={quote(v, safe='/:')}" for k, v in sorted(values.items()) if v)

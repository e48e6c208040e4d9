"""CycloneDX 1.6 JSON SBOM, built with cyclonedx-python-lib: every locked file of every
platform as a component, with its hashes, its purl (``packageurl-python``) and its license.

Licenses: a conda record's ``license`` and a wheel's ``License-Expression`` / ``License`` /
license classifiers are normalised to SPDX (``license-expression``); text that is not SPDX
is kept as a named license, never dropped. PyPI licenses are read from the wheels' metadata:
the env's installed ``*.dist-info`` when the env exists, else the unpacked wheels in uv's
cache (``ExportOptions.metadata_dirs``); a wheel found in neither has no license entry.

Deterministic like the lock: no timestamp, and the serial number is derived from the
``full_id`` and the exported platforms (the same lock gives the same SBOM).
"""

from __future__ import annotations

import email.parser
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from license_expression import ExpressionError, get_spdx_licensing
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from amber._version import __version__
from amber.formats import Exported, ExportOptions, chosen_platforms
from amber.lock import Lock, LockedConda, LockedPypi, PlatformLock

__all__ = [
    "NAME", "SUFFIX", "WHOLE", "SPEC_VERSION", "export", "conda_purl", "pypi_purl", "spdx",
    "wheel_licenses",
]  # fmt: skip

NAME = "cyclonedx"
SUFFIX = ".cdx.json"
WHOLE = False
SPEC_VERSION = "1.6"
_ROOT = "amber-env"

License = DisjunctiveLicense | LicenseExpression


def conda_purl(c: LockedConda) -> str:
    """``pkg:conda/name@version?build=&channel=&subdir=&type=conda|tar.bz2``."""
    kind = "conda" if c.file_name.endswith(".conda") else "tar.bz2"
    qualifiers = {"build": c.build, "channel": c.channel, "subdir": c.subdir, "type": kind}
    return _purl("conda", c.name, c.version, qualifiers).to_string()


def pypi_purl(w: LockedPypi) -> str:
    """``pkg:pypi/name@version?file_name=`` (the file selects one distribution of the
    release), or ``?vcs_url=`` for a git commit."""
    which = {"vcs_url": w.vcs_url} if w.vcs_url else {"file_name": w.file_name}
    return _purl("pypi", w.name, w.version, which).to_string()


def _purl(kind: str, name: str, version: str, qualifiers: dict[str, str]) -> PackageURL:
    return PackageURL(
        type=kind, name=name, version=version, qualifiers={k: v for k, v in qualifiers.items() if v}
    )


def spdx(text: str) -> License:
    """``text`` as an SPDX id or expression when it is one (case and ``+`` normalised,
    ``Apache 2.0`` read as ``Apache-2.0``), else as a license named ``text``."""
    text = text.strip()
    factory = LicenseFactory()
    for candidate in (text, re.sub(r"\s+", "-", text)):
        try:
            info = get_spdx_licensing().validate(candidate)
        except (ExpressionError, AttributeError):  # AttributeError: its own error path's bug
            return DisjunctiveLicense(name=text)
        if not info.errors and info.normalized_expression:
            return factory.make_from_string(info.normalized_expression)
    return DisjunctiveLicense(name=text)


def wheel_licenses(metadata: str) -> list[License]:
    """The licenses a wheel's ``METADATA`` declares: ``License-Expression``, else a one-line
    ``License``, else the ``License ::`` classifiers."""
    message = email.parser.HeaderParser().parsestr(metadata)
    expression = (message.get("License-Expression") or "").strip()
    if expression:
        return [spdx(expression)]
    text = (message.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 100 and text.upper() != "UNKNOWN":
        return [spdx(text)]
    out: list[License] = []
    for classifier in message.get_all("Classifier") or []:
        parts = [p.strip() for p in str(classifier).split("::")]
        if parts[0] != "License" or len(parts) < 2 or parts[-1] == "OSI Approved":
            continue
        out.append(_classifier_license(parts[-1]))
    return out


def _classifier_license(text: str) -> License:
    found = spdx(re.sub(r"\s+License$", "", text))
    named = isinstance(found, DisjunctiveLicense) and found.name is not None
    return DisjunctiveLicense(name=text) if named else found


def export(lock: Lock, options: ExportOptions) -> Exported:
    """The SBOM of the chosen platforms (all by default)."""
    platforms = chosen_platforms(lock, options)
    metadata = _wheel_metadata(options.metadata_dirs)
    root = Component(
        type=ComponentType.APPLICATION,
        bom_ref=_ROOT,
        name=options.name or f"amber-env-{lock.full_id[:12]}",
        version=lock.full_id,
        description=f"an environment locked by amber for {', '.join(platforms)}",
    )
    properties = [Property(name="amber:full_id", value=lock.full_id)]
    properties.append(Property(name="amber:req_id", value=lock.req_id))
    for platform in platforms:
        p = lock.platforms[platform]
        properties.append(Property(name="amber:platform", value=platform))
        if p.python:
            properties.append(Property(name=f"amber:{platform}:python", value=p.python))
        properties += [
            Property(name=f"amber:{platform}:virtual_package", value=v) for v in p.virtual_packages
        ]
    bom = Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"amber:{lock.full_id}:{','.join(platforms)}"),
        metadata=BomMetaData(
            tools=ToolRepository(
                components=[
                    Component(type=ComponentType.APPLICATION, name="amber", version=__version__)
                ]
            ),
            component=root,
            properties=properties,
        ),
    )
    bom.metadata.timestamp = None  # type: ignore[assignment]  # deterministic output
    for platform in platforms:
        p = lock.platforms[platform]
        conda = {c.name: _conda_component(c, p) for c in p.conda}
        pypi = [_pypi_component(w, platform, metadata) for w in p.pypi]
        bom.components.update([*conda.values(), *pypi])
        root_deps = [*conda.values(), *pypi]
        bom.register_dependency(root, root_deps)
        for c in p.conda:
            bom.register_dependency(
                conda[c.name], [conda[n] for n in sorted(_names(c.depends)) if n in conda]
            )
        for component in pypi:
            bom.register_dependency(component, [])
    text = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6).output_as_string(indent=2)
    return Exported(text=text + "\n")


def _conda_component(c: LockedConda, p: PlatformLock) -> Component:
    hashes = [_sha256(c.sha256)]
    if c.md5:
        hashes.append(HashType(alg=HashAlgorithm.MD5, content=c.md5))
    properties = [
        Property(name="amber:platform", value=p.platform),
        Property(name="conda:build", value=c.build),
        Property(name="conda:channel", value=c.channel),
        Property(name="conda:subdir", value=c.subdir),
    ]
    properties += [
        Property(name="amber:provides_pypi", value=dist)
        for dist, conda_name in p.provided.items()
        if conda_name == c.name
    ]
    return Component(
        bom_ref=_ref(p.platform, "conda", c.file_name),
        name=c.name,
        version=c.version,
        hashes=hashes,
        licenses=[spdx(c.license)] if c.license and c.license.strip() else None,
        purl=PackageURL.from_string(conda_purl(c)),
        external_references=[_distribution(c.url, c.sha256)],
        properties=properties,
    )


def _pypi_component(
    w: LockedPypi, platform: str, metadata: dict[tuple[str, str], str]
) -> Component:
    text = metadata.get((canonicalize_name(w.name), w.version))
    licenses = wheel_licenses(text) if text is not None else []
    if w.vcs_url:  # a git commit: no file, no hash; the commit is in the reference
        reference = ExternalReference(type=ExternalReferenceType.VCS, url=XsUri(w.vcs_url))
        hashes = []
    else:
        reference = _distribution(w.url, w.sha256)
        hashes = [_sha256(w.sha256)]
    return Component(
        bom_ref=_ref(platform, "pypi", w.file_name),
        name=w.name,
        version=w.version,
        hashes=hashes,
        licenses=licenses or None,
        purl=PackageURL.from_string(pypi_purl(w)),
        external_references=[reference],
        properties=[Property(name="amber:platform", value=platform)],
    )


def _distribution(url: str, sha256: str) -> ExternalReference:
    return ExternalReference(
        type=ExternalReferenceType.DISTRIBUTION,
        url=XsUri(url),
        hashes=[_sha256(sha256)],
    )


def _sha256(content: str) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=content)


def _ref(platform: str, kind: str, file_name: str) -> str:
    return f"{platform}/{kind}/{file_name}"


def _names(match_specs: Iterable[str]) -> set[str]:
    """The package names of conda match specs (``numpy >=1.26`` -> ``numpy``)."""
    names = (
        re.split(r"[\s<>=!~\[]", s.split("::")[-1].strip(), maxsplit=1)[0] for s in match_specs
    )
    return {name for name in names if name}


def _wheel_metadata(dirs: Iterable[Path]) -> dict[tuple[str, str], str]:
    """(canonical name, version) -> ``METADATA`` text of every ``*.dist-info`` found one or
    two levels below ``dirs`` (site-packages, or uv's unpacked wheels); the first wins."""
    found: dict[tuple[str, str], str] = {}
    for info in _dist_infos(dirs):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        key = (canonicalize_name(name), version)
        if key in found:
            continue
        try:
            found[key] = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        except OSError:  # a dist-info without METADATA, or unreadable: no license from it
            continue
    return found


def _dist_infos(dirs: Iterable[Path]) -> Iterator[Path]:
    for base in dirs:
        for pattern in ("*.dist-info", "*/*.dist-info"):
            yield from sorted(base.glob(pattern))

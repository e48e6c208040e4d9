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

import re
import uuid
from collections.abc import Iterable

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
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from amber._version import __version__
from amber.formats import Exported, ExportOptions, chosen_platforms
from amber.formats.identity import (
    conda_purl,
    pypi_purl,
    spdx_expression,
    wheel_license_texts,
    wheel_metadata,
)
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


def spdx(text: str) -> License:
    """``text`` as an SPDX id or expression when it is one (case and ``+`` normalised,
    ``Apache 2.0`` read as ``Apache-2.0``), else as a license named ``text``."""
    found = spdx_expression(text)
    return (
        LicenseFactory().make_from_string(found) if found else DisjunctiveLicense(name=text.strip())
    )


def wheel_licenses(metadata: str) -> list[License]:
    """The licenses a wheel's ``METADATA`` declares: ``License-Expression``, else a one-line
    ``License``, else the ``License ::`` classifiers."""
    return [_license(text) for text in wheel_license_texts(metadata)]


def _license(text: str) -> License:
    found = spdx_expression(text)
    return LicenseFactory().make_from_string(found) if found else DisjunctiveLicense(name=text)


def export(lock: Lock, options: ExportOptions) -> Exported:
    """The SBOM of the chosen platforms (all by default)."""
    platforms = chosen_platforms(lock, options)
    metadata = wheel_metadata(options.metadata_dirs)
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
        purl=PackageURL.from_string(pypi_purl(w, file=True)),
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

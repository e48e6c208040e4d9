"""CycloneDX SBOM: built with cyclonedx-python-lib, validated by its JSON schema validator,
purls parsed back by ``packageurl``, licenses as SPDX where they are SPDX.

Real channels (``condapkgs``) with packages declaring license texts as conda-forge writes
them, and a real PyPI lock installed by the real CLI (for the wheels' own license fields).
"""

from __future__ import annotations

import json
from pathlib import Path

import condapkgs
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from helpers import write
from packageurl import PackageURL

from amber.formats import ExportOptions, cyclonedx
from amber.lock import Lock

LICENSES = {
    "alpha": "bsd-3-clause",  # an SPDX id in another case
    "beta": "GPL-2.0+",  # the deprecated `+` form
    "gamma": "Apache 2.0",  # conda-forge's common spelling
    "delta": "Apache-2.0 OR MIT",  # an expression
    "epsilon": "Proprietary: ask legal@example.com",  # not SPDX: kept as a name
}


def validate(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, getattr(error, "data", error).message


def test_conda_licenses_are_spdx_and_purls_parse(amber, tmp_path: Path):
    packages = [
        condapkgs.CondaPackage(name=name, version="1.0", subdir="noarch", license=text,
                               fmt=".tar.bz2" if name == "alpha" else ".conda")
        for name, text in LICENSES.items()
    ]  # fmt: skip
    packages.append(condapkgs.CondaPackage(name="zeta", version="2.0", subdir="noarch",
                                           license=None, depends=("alpha",)))  # fmt: skip
    channel = condapkgs.build_channel(tmp_path / "channel", packages)
    spec = write(
        tmp_path / "environment.yml",
        f"channels: ['{channel}']\ndependencies: [{', '.join([*LICENSES, 'zeta'])}]\n",
    )
    amber("lock", "-f", spec, "--platform", "linux-64", check=True)
    lock = Lock.read(tmp_path / "amber.lock")
    text = cyclonedx.export(lock, ExportOptions()).text
    validate(text)
    components = {c["name"]: c for c in json.loads(text)["components"]}
    assert components["alpha"]["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
    assert components["beta"]["licenses"] == [{"license": {"id": "GPL-2.0-or-later"}}]
    assert components["gamma"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert components["delta"]["licenses"] == [{"expression": "Apache-2.0 OR MIT"}]
    assert components["epsilon"]["licenses"] == [
        {"license": {"name": "Proprietary: ask legal@example.com"}}
    ]
    assert "licenses" not in components["zeta"]

    for c in lock.platforms["linux-64"].conda:
        purl = PackageURL.from_string(components[c.name]["purl"])
        assert (purl.type, purl.name, purl.version) == ("conda", c.name, c.version)
        assert purl.qualifiers == {
            # the channel's name, as the purl spec's conda examples write it
            "build": c.build, "channel": c.channel.rsplit("/", 1)[-1], "subdir": c.subdir,
            "type": "tar.bz2" if c.name == "alpha" else "conda",
        }  # fmt: skip
    deps = {d["ref"]: d.get("dependsOn", []) for d in json.loads(text)["dependencies"]}
    assert deps[components["zeta"]["bom-ref"]] == [components["alpha"]["bom-ref"]]


def test_pypi_licenses_from_the_wheels_metadata(amber, amber_home: Path, tmp_path: Path):
    """six says ``License: MIT``; packaging says ``License-Expression`` or classifiers:
    read from the installed env, then (env removed) from the wheels in uv's cache."""
    spec = write(tmp_path / "requirements.txt", "six==1.16.0\nidna==3.10\n")
    amber("lock", "-f", spec, "--python", "3.11", check=True)
    lock_file = tmp_path / "amber.lock"
    lock = Lock.read(lock_file)
    out = tmp_path / "sbom.cdx.json"

    before = cyclonedx.export(lock, ExportOptions()).text
    assert all("licenses" not in c for c in json.loads(before)["components"])  # no metadata

    amber("install", "-f", spec, check=True)
    amber("export", lock.full_id[:12], "--format", "cyclonedx", "-o", out, check=True)
    validate(out.read_text())
    components = {c["name"]: c for c in json.loads(out.read_text())["components"]}
    assert components["six"]["licenses"] == [{"license": {"id": "MIT"}}]
    # idna declares only the classifier "BSD License" (which BSD is not said): a name
    assert components["idna"]["licenses"] == [{"license": {"name": "BSD License"}}]
    for w in lock.platforms[next(iter(lock.platforms))].pypi:
        purl = PackageURL.from_string(components[w.name]["purl"])
        assert (purl.type, purl.name, purl.version) == ("pypi", w.name, w.version)
        assert purl.qualifiers == {"file_name": w.file_name}

    amber("env", "rm", lock.full_id, check=True)
    out.unlink()
    amber("export", lock_file, "--format", "cyclonedx", "-o", out, check=True)
    again = {c["name"]: c for c in json.loads(out.read_text())["components"]}
    assert again["six"]["licenses"] == [{"license": {"id": "MIT"}}]


def test_wheel_license_fields():
    (expression,) = cyclonedx.wheel_licenses("License-Expression: mit OR Apache-2.0\n\n")
    assert getattr(expression, "value", None) == "MIT OR Apache-2.0"
    classifiers = (
        "Classifier: License :: OSI Approved :: MIT License\n"
        "Classifier: License :: OSI Approved :: Python Software Foundation License\n"
        "Classifier: Programming Language :: Python\n\n"
    )
    found = cyclonedx.wheel_licenses(classifiers)
    assert [(getattr(x, "id", None), getattr(x, "name", None)) for x in found] == [
        ("MIT", None),
        (None, "Python Software Foundation License"),
    ]
    long_text = "License: " + "Permission is hereby granted " * 10 + "\n\n"
    assert cyclonedx.wheel_licenses(long_text) == []  # a whole license text, not a name

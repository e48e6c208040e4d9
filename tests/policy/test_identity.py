"""Licenses and package URLs through their libraries (``license-expression``,
``packageurl-python``): the license strings real channels carry, judged by allow / review /
deny rules, and purls in the forms conda tools and the purl spec write."""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest
from helpers import SHARED
from hypothesis import given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from amber.lock import LockedConda, LockedPypi
from amber.policy import evaluate_license, read_policy
from amber.policy.identity import conda_purl, license_tree, pypi_purl

POLICY = read_policy(
    """\
[licenses]
allow = ["MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "Zlib", "ISC", "PSF-2.0",
         "Python-2.0", "LicenseRef-Public-Domain", "GPL-2.0+"]
review = ["LGPL-*", "MPL-2.0"]
deny = ["GPL-3.0*", "AGPL-*"]
unknown = "warn"
reason = "LEGAL-1"
""",
    "org.toml",
)


def _verdict(text: str | None, policy=POLICY) -> str:
    found = evaluate_license(policy, text, package="p", version="1")
    if found is None:
        return "allow"
    if "no known license" in found.message:
        return "unknown"
    return "review" if found.severity == "warning" else "deny"


# Real license strings: conda-forge's (in the pixi.lock files of real/), then the free text
# of Anaconda's 2018 defaults (repodata/defaults-2018).
REAL = [
    ("Apache-2.0 AND BSD-3-Clause AND PSF-2.0 AND MIT", "allow"),
    ("MIT AND LicenseRef-Public-Domain", "allow"),
    ("GPL-2.0-or-later OR GPL-3.0-or-later OR FreeImage", "allow"),
    ("LGPL-2.0-or-later AND LGPL-2.0-or-later WITH exceptions AND GPL-2.0-or-later", "review"),
    ("X11 AND BSD-3-Clause", "deny"),  # X11 is not on the allow list
    ("Apache-2.0 WITH LLVM-exception", "allow"),  # an exception to an allowed license
    ("GPL-3.0-only WITH GCC-exception-3.1", "deny"),
    ("GPL-2.0-or-later", "allow"),  # the policy wrote the deprecated GPL-2.0+: the same id
    ("GPL-2.0-only OR FTL", "deny"),
    ("LGPL-2.1 and GPL-2.0", "deny"),  # GPL-2.0 is GPL-2.0-only, not -or-later
    ("LGPL-2.1-only or MPL-1.1", "review"),  # the better alternative: a review
    ("0BSD AND LGPL-2.1-or-later AND GPL-2.0-or-later", "deny"),  # 0BSD: not allowed
    ("LicenseRef-Public-Domain", "allow"),
    ("LicenseRef-MicrosoftVisualCpp2015-2022Runtime", "deny"),
    ("Python-2.0", "allow"),
    ("mit", "allow"),  # SPDX ids compare case-insensitively
    ("BSD", "deny"),  # free text: not an SPDX id on the allow list
    ("BSD 3-Clause", "deny"),
    ("GPL (>= 2)", "deny"),
    ("MIT + file LICENSE", "deny"),
    ("GPL-2 | GPL-3", "deny"),
    ("unknown", "unknown"),
    (None, "unknown"),
]


@pytest.mark.parametrize(("text", "expected"), REAL)
def test_real_license_strings_are_classified(text: str | None, expected: str) -> None:
    assert _verdict(text) == expected


def test_the_real_strings_are_in_the_data() -> None:
    """The strings above are copied from the shared data, not made up."""
    texts = set()
    for path in glob.glob(str(SHARED / "real" / "pixi-lock" / "*")):
        texts |= set(re.findall(r"^\s*license: (.+)$", Path(path).read_text(), re.MULTILINE))
    for path in glob.glob(str(SHARED / "repodata" / "defaults-2018" / "*" / "repodata.json")):
        texts |= set(re.findall(r'"license": "([^"]*)"', Path(path).read_text()))
    missing = [t for t, _ in REAL if t not in (None, "mit") and t not in texts]
    assert not missing, missing


def test_license_keys_are_normalised_as_spdx_says() -> None:
    assert license_tree("GPL-2.0+ OR (mit AND bsd-3-clause)") == (
        "OR", ("GPL-2.0-or-later", ("AND", ("MIT", "BSD-3-Clause"))),
    )  # fmt: skip
    assert license_tree("GPL v3 or later") == "GPL v3 or later"  # no expression: as written
    deny_only = read_policy('[licenses]\ndeny = ["GPL-*"]\n', "p")
    assert _verdict("BSD", deny_only) == "allow"  # no allow list: only the denied are refused


LICENSE_WORDS = st.sampled_from(
    ["AND", "OR", "WITH", "and", "or", "(", ")", "MIT", "GPL-2.0+", "LGPL-2.1", "BSD",
     "LicenseRef-x", "Classpath-exception-2.0", "+", "/", "file", "LICENSE", ",", "|", ""]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(LICENSE_WORDS, max_size=12).map(" ".join)))
def test_any_license_string_is_classified_never_raised(text: str) -> None:
    for policy in (POLICY, read_policy('[licenses]\ndeny = ["GPL-*"]\n', "p")):
        found = evaluate_license(policy, text, package="p", version="1")
        if found is not None:
            assert found.severity in ("error", "warning") and found.rule == "license"
            assert "no known license" in found.message or text.strip() in found.message


# -- purls ----------------------------------------------------------------------------------


def _conda(channel: str, file_name: str = "openssl-3.0.1-0.conda") -> LockedConda:
    return LockedConda(
        name="openssl", version="3.0.1", build="0", build_number=0, subdir="linux-64",
        url=f"{channel}/linux-64/{file_name}", channel=channel, sha256="0" * 64, md5="0" * 32,
    )  # fmt: skip


def test_conda_purls_are_the_purl_specs() -> None:
    """``pkg:conda/NAME@VERSION?build=&channel=NAME&subdir=&type=``: the purl spec's conda
    type (its examples name the channel: ``main``, ``conda-forge``)."""
    forge = conda_purl(_conda("https://conda.anaconda.org/conda-forge"))
    assert forge == (
        "pkg:conda/openssl@3.0.1?build=0&channel=conda-forge&subdir=linux-64&type=conda"
    )
    main = conda_purl(_conda("https://repo.anaconda.com/pkgs/main", "openssl-3.0.1-0.tar.bz2"))
    assert main.endswith("&channel=main&subdir=linux-64&type=tar.bz2")
    parsed = PackageURL.from_string(forge)
    assert (parsed.type, parsed.name, parsed.version) == ("conda", "openssl", "3.0.1")
    assert parsed.qualifiers == {
        "build": "0", "channel": "conda-forge", "subdir": "linux-64", "type": "conda",
    }  # fmt: skip


def test_pypi_purls_name_the_release_and_for_an_sbom_the_file() -> None:
    wheel = LockedPypi(
        name="Foo_Bar", version="1.0", url="https://files/foo_bar-1.0-py3-none-any.whl",
        sha256="0" * 64,
    )  # fmt: skip
    assert pypi_purl(wheel) == "pkg:pypi/foo-bar@1.0"
    assert pypi_purl(wheel, file=True) == (
        "pkg:pypi/foo-bar@1.0?file_name=foo_bar-1.0-py3-none-any.whl"
    )

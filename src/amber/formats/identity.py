"""What names a locked package outside Amber, without the SBOM library: its purl and its
license as SPDX text (from ``amber.policy.identity``, their one home, which the policy's
findings use too), and the licenses a wheel's ``METADATA`` declares.
``amber export --format cyclonedx`` and ``amber audit`` both use these, so that an SBOM, an
audit and a policy check name packages alike.
"""

from __future__ import annotations

import email.parser
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from packaging.utils import canonicalize_name

from amber.policy.identity import conda_purl, license_text, purl_of, pypi_purl, spdx_expression

__all__ = [
    "conda_purl", "pypi_purl", "purl_of", "spdx_expression", "license_text",
    "wheel_license_texts", "wheel_metadata",
]  # fmt: skip


def wheel_license_texts(metadata: str) -> list[str]:
    """The licenses a wheel's ``METADATA`` declares, each SPDX when it is, else as written:
    ``License-Expression``, else a one-line ``License``, else the ``License ::``
    classifiers."""
    message = email.parser.HeaderParser().parsestr(metadata)
    expression = (message.get("License-Expression") or "").strip()
    if expression:
        return [spdx_expression(expression) or expression]
    text = (message.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 100 and text.upper() != "UNKNOWN":
        return [spdx_expression(text) or text]
    out: list[str] = []
    for classifier in message.get_all("Classifier") or []:
        parts = [p.strip() for p in str(classifier).split("::")]
        if parts[0] != "License" or len(parts) < 2 or parts[-1] == "OSI Approved":
            continue
        out.append(spdx_expression(re.sub(r"\s+License$", "", parts[-1])) or parts[-1])
    return out


def wheel_metadata(dirs: Iterable[Path]) -> dict[tuple[str, str], str]:
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

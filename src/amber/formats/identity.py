"""What names a locked package outside Amber, without the SBOM library: its purl
(``packageurl-python``) and its license as SPDX text (``license-expression``), read from a
conda record or from a wheel's ``METADATA``. ``amber export --format cyclonedx`` and
``amber audit`` both use these, so that an SBOM and an audit name packages alike.
"""

from __future__ import annotations

import email.parser
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from license_expression import ExpressionError, get_spdx_licensing
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from amber.lock import LockedConda, LockedPypi

__all__ = [
    "conda_purl", "pypi_purl", "spdx_expression", "license_text", "wheel_license_texts",
    "wheel_metadata",
]  # fmt: skip


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


def spdx_expression(text: str) -> str | None:
    """``text`` as a normalised SPDX id or expression when it is one (case and ``+``
    normalised, ``Apache 2.0`` read as ``Apache-2.0``), else None."""
    text = text.strip()
    for candidate in (text, re.sub(r"\s+", "-", text)):
        try:
            info = get_spdx_licensing().validate(candidate)
        except (ExpressionError, AttributeError):  # AttributeError: its own error path's bug
            return None
        if not info.errors and info.normalized_expression:
            return str(info.normalized_expression)
    return None


def license_text(text: str) -> str:
    """``text`` as SPDX when it is (also with a trailing ``License`` dropped: ``MIT
    License``), else as written."""
    for candidate in (text, re.sub(r"(?i)\s+license$", "", text.strip())):
        found = spdx_expression(candidate)
        if found:
            return found
    return text.strip()


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

"""What names a locked package outside Amber, and what its license text says: package URLs
(``packageurl-python``) and SPDX license expressions (``license-expression``, with SPDX's
license keys, their aliases and deprecated ids). The policy's findings, ``amber audit`` and
the CycloneDX export all name packages and read licenses through here.

Imported on use (``amber.policy.check`` judges a license or names a finding): the solver's
side of the policy (sources, bans, cooldown) never needs it, and ``amber lock`` of a conda
spec never loads these libraries.
"""

from __future__ import annotations

import functools
import re

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)
from packageurl import PackageURL

from amber.lock import LockedConda, LockedPypi

__all__ = [
    "LicenseTree", "channel_name", "conda_purl", "pypi_purl", "purl_of", "license_tree",
    "spdx_expression", "license_text", "spdx_key",
]  # fmt: skip

# A license expression as a tree: a license key (``MIT``, ``GPL-2.0-only WITH
# Classpath-exception-2.0``, free text as written), or ("AND" | "OR", its operands).
LicenseTree = str | tuple[str, tuple["LicenseTree", ...]]


# -- package URLs ------------------------------------------------------------------------


def channel_name(url: str) -> str:
    """A channel's name as purls carry it (the purl spec's conda examples, and the tools that
    write them: ``main``, ``conda-forge``): the last segment of its URL."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def conda_purl(c: LockedConda) -> str:
    """``pkg:conda/NAME@VERSION?build=B&channel=NAME&subdir=S&type=conda|tar.bz2``: the
    purl spec's conda type, with every qualifier it defines."""
    kind = "conda" if c.file_name.endswith(".conda") else "tar.bz2"
    qualifiers = {
        "build": c.build, "channel": channel_name(c.channel), "subdir": c.subdir, "type": kind,
    }  # fmt: skip
    return _purl("conda", c.name, c.version, qualifiers)


def pypi_purl(w: LockedPypi, *, file: bool = False) -> str:
    """``pkg:pypi/NAME@VERSION`` (the name normalised as the purl spec says), as pip-audit and
    OSV name a release; with ``file``, ``?file_name=`` (the one distribution of the release
    the lock holds) or ``?vcs_url=`` for a git commit, as an SBOM names it."""
    which = {}
    if file:
        which = {"vcs_url": w.vcs_url} if w.vcs_url else {"file_name": w.file_name}
    return _purl("pypi", w.name, w.version, which)


def purl_of(package: LockedConda | LockedPypi) -> str:
    """The purl a finding carries: ``conda_purl`` or ``pypi_purl``."""
    return conda_purl(package) if isinstance(package, LockedConda) else pypi_purl(package)


def _purl(kind: str, name: str, version: str, qualifiers: dict[str, str]) -> str:
    return PackageURL(
        type=kind, name=name, version=version, qualifiers={k: v for k, v in qualifiers.items() if v}
    ).to_string()


# -- licenses -----------------------------------------------------------------------------

_MAX_LICENSE = 4096  # longer "license" text is no expression: judged as written


@functools.cache
def _licensing() -> Licensing:
    """SPDX's licensing, built once (``get_spdx_licensing`` builds it anew at every call:
    about 20 ms, once per license otherwise)."""
    return get_spdx_licensing()


@functools.lru_cache(maxsize=4096)
def license_tree(text: str) -> LicenseTree:
    """``text`` as an SPDX expression tree, its keys normalised (``mit`` -> ``MIT``,
    ``GPL-2.0+`` -> ``GPL-2.0-or-later``); text that is no expression (``GPL v3 or later``,
    ``MIT/X11``) is one key, as written. Never raises."""
    text = text.strip()
    if len(text) > _MAX_LICENSE:
        return text
    try:
        parsed = _licensing().parse(text)
        return text if parsed is None else _tree(parsed)
    except (ExpressionError, RecursionError):
        return text
    except Exception:  # noqa: BLE001 - its parser's own bugs (AttributeError, TypeError)
        return text


def _tree(node: object) -> LicenseTree:
    if isinstance(node, LicenseWithExceptionSymbol | LicenseSymbol):
        return str(node)
    if isinstance(node, AND | OR):
        op = "AND" if isinstance(node, AND) else "OR"
        return op, tuple(_tree(arg) for arg in node.args)
    return str(node)


def spdx_key(pattern: str) -> str:
    """A license key (or glob pattern) of a policy, as ``license_tree`` normalises keys; a
    pattern with ``*``, ``?`` or ``[`` as written."""
    if any(c in pattern for c in "*?["):
        return pattern
    tree = license_tree(pattern)
    return tree if isinstance(tree, str) else pattern


@functools.lru_cache(maxsize=4096)
def spdx_expression(text: str) -> str | None:
    """``text`` as a normalised SPDX id or expression when it is one (case and ``+``
    normalised, ``Apache 2.0`` read as ``Apache-2.0``), else None."""
    text = text.strip()
    for candidate in (text, re.sub(r"\s+", "-", text)):
        try:
            info = _licensing().validate(candidate)
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

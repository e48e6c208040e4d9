"""The fetch step: package archives into the store's content-addressed archive store.

From each package's own URL (``file://`` or ``http(s)``), kept only under the sha256
the lock gives it. Standard library only: remote stores and bundles use it too, and
none of them should load the solver for it.
"""

from __future__ import annotations

import functools
import shutil
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from amber.errors import HydrateError
from amber.lock import LockedConda, LockedPypi
from amber.store import Store

__all__ = ["download_archives", "Package"]

Package = LockedConda | LockedPypi


def download_archives(packages: Sequence[Package], store: Store) -> None:
    """Put each package's archive into the store's archive store from its own URL
    (file:// or http(s)), checking its sha256."""

    def fetch(url: str, tmp: Path) -> None:
        if url.startswith("file://"):
            shutil.copyfile(unquote(urlsplit(url).path), tmp)
        else:
            with urllib.request.urlopen(url, timeout=120) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)

    for package in packages:
        if store.find_archive(package.sha256):
            continue
        try:
            actual = store.add_archive(
                package.sha256, package.file_name, functools.partial(fetch, package.url)
            )
        except OSError as exc:
            raise HydrateError(
                f"cannot download {package.file_name} from {package.url}: {exc}",
                package=package.file_name,
            ) from None
        if actual != package.sha256:
            raise HydrateError(
                f"hash mismatch for {package.file_name} from {package.url}: the lock expects "
                f"sha256 {package.sha256}, the file has {actual}",
                package=package.file_name,
            )

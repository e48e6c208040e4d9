"""The records of a conda prefix: ``conda-meta/*.json``, one per installed package.

Each lists the package's files: ``paths_data`` (rattler, conda >= 4.4) with each file's
type, hashes and prefix placeholder, else a plain ``files`` list of paths. This is the one
reader of those file lists (verify, adopt and pack use it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PrefixFile", "prefix_files"]


@dataclass(frozen=True)
class PrefixFile:
    """One file a conda package installed into a prefix, as its record lists it."""

    package: str  # the package's name
    version: str
    path: str  # relative to the prefix, as recorded ("/"-separated)
    path_type: str = "hardlink"  # "hardlink" | "softlink" | "directory"
    sha256: str | None = None  # of the file in the archive
    sha256_in_prefix: str | None = None  # of the installed file (placeholder replaced)
    size: int | None = None  # size_in_bytes: the archive's file
    prefix_placeholder: str | None = None
    file_mode: str | None = None  # "text" | "binary" for files with a placeholder


def prefix_files(prefix: Path) -> Iterator[PrefixFile]:
    """Every file each record in ``prefix``'s conda-meta lists, records in name order;
    unreadable records are skipped. A record without ``paths_data`` gives its ``files``."""
    for record_file in sorted((Path(prefix) / "conda-meta").glob("*.json")):
        try:
            record = json.loads(record_file.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict):
            continue
        name = str(record.get("name", record_file.stem))
        version = str(record.get("version", "?"))
        paths = (record.get("paths_data") or {}).get("paths")
        if paths is None:
            paths = [{"_path": p} for p in record.get("files", [])]
        for entry in paths:
            rel = entry.get("_path") or entry.get("path")
            if rel:
                yield _file(name, version, rel, entry)


def _file(name: str, version: str, rel: str, entry: dict[str, Any]) -> PrefixFile:
    return PrefixFile(
        package=name,
        version=version,
        path=rel,
        path_type=entry.get("path_type", "hardlink"),
        sha256=entry.get("sha256"),
        sha256_in_prefix=entry.get("sha256_in_prefix"),
        size=entry.get("size_in_bytes"),
        prefix_placeholder=entry.get("prefix_placeholder"),
        file_mode=entry.get("file_mode"),
    )

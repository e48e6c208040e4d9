"""Importing explicit and conda-lock files takes package metadata from the channel's
repodata or the file itself, not from every archive: real pixi ``.conda`` archives that
rattler's async zip reader refuses (zip64 fields) import, and round-trip."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from helpers import PIXI, write

from amber.formats import ExportOptions, conda_lock, explicit
from amber.formats._conda_meta import index_of_archive

pytestmark = pytest.mark.skipif(not PIXI.is_dir(), reason="../shared/data is not beside us")

# Real archives from pixi's test channels that rattler's async zip reader refuses
# ("zip64 extended information field was too long") while conda and rattler.install
# unpack them.
ZIP64 = [
    PIXI / "dummy_channel_2" / "linux-64" / "dummy-b-0.1.0-hb0f4dca_0.conda",
    PIXI / "dummy_channel_2" / "linux-64" / "dummy-x-0.1.0-hb0f4dca_0.conda",
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_explicit_file_of_zip64_archives_imports_from_repodata(tmp_path: Path) -> None:
    lines = ["@EXPLICIT"] + [f"{p.as_uri()}#sha256:{_sha256(p)}" for p in ZIP64]
    path = write(tmp_path / "linux-64.txt", "\n".join(lines) + "\n")
    lock = explicit.read(path)
    got = {c.name: c for c in lock.platforms["linux-64"].conda}
    assert sorted(got) == ["dummy-b", "dummy-x"]
    assert got["dummy-b"].sha256 == _sha256(ZIP64[0])
    # round trip: amber -> explicit / conda-lock -> amber keeps the full_id
    again = write(tmp_path / "again.txt", explicit.export(lock, ExportOptions()).text)
    assert explicit.read(again).full_id == lock.full_id
    yml = write(tmp_path / "conda-lock.yml", conda_lock.export(lock, ExportOptions()).text)
    assert conda_lock.read(yml).full_id == lock.full_id


def test_archive_outside_any_channel_is_read_with_the_standard_library(tmp_path: Path) -> None:
    """No repodata beside it: the archive itself is read, with zip + zstd, not async zip."""
    copies = []
    for p in ZIP64:
        target = tmp_path / "loose" / "linux-64" / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
        copies.append(target)
    path = write(
        tmp_path / "linux-64.txt", "@EXPLICIT\n" + "".join(f"{c.as_uri()}\n" for c in copies)
    )
    lock = explicit.read(path)
    assert {c.name for c in lock.platforms["linux-64"].conda} == {"dummy-b", "dummy-x"}
    assert index_of_archive(copies[0]).name.normalized == "dummy-b"

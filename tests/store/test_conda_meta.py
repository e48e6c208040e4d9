"""amber.store.conda_meta: the file lists of conda-meta, against rattler's own reading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import conda_spec
from rattler import PrefixRecord

from amber.store.conda_meta import PrefixFile, prefix_files


def _digest(value: bytes | None) -> str | None:
    return value.hex() if value is not None else None


_PATH_TYPES = (
    "hardlink", "softlink", "directory", "pyc_file", "unix_python_entry_point",
    "windows_python_entry_point_exe", "windows_python_entry_point_script",
)  # fmt: skip


def _path_type(t: Any) -> str:
    return next(name for name in _PATH_TYPES if getattr(t, name))


def _mode(m: Any) -> str | None:
    # rattler says "unknown" where the record has no file_mode.
    return None if m is None or m.mode == "unknown" else m.mode


def test_prefix_files_as_rattler_reads_them(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib", "footool")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    expected = []
    for record_file in sorted((prefix / "conda-meta").glob("*.json")):
        record = PrefixRecord.from_path(record_file)
        for p in record.paths_data.paths:
            expected.append(
                (record.name.normalized, str(record.version), str(p.relative_path),
                 _path_type(p.path_type), _digest(p.sha256),
                 _digest(p.sha256_in_prefix), p.size_in_bytes, p.prefix_placeholder,
                 _mode(p.file_mode))
            )  # fmt: skip
    got = [
        (f.package, f.version, f.path, f.path_type, f.sha256, f.sha256_in_prefix, f.size,
         f.prefix_placeholder, f.file_mode)
        for f in prefix_files(prefix)
    ]  # fmt: skip
    assert got == expected
    # The package with a prefix placeholder: rewritten in place, its mode and new hash recorded.
    footool = [f for f in prefix_files(prefix) if f.path == "bin/footool"]
    assert len(footool) == 1 and footool[0].prefix_placeholder and footool[0].sha256_in_prefix
    assert footool[0].file_mode in ("text", "binary")


def test_records_without_paths_data_and_unreadable_ones(tmp_path: Path):
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    # An old conda's record: a plain `files` list.
    old = {"name": "old", "version": "1.0", "files": ["lib/old.so", "bin/old"]}
    (meta / "old-1.0-0.json").write_text(json.dumps(old))
    (meta / "broken-1.0-0.json").write_text("{ not json")
    (meta / "history").write_text("# not a record\n")
    assert list(prefix_files(tmp_path)) == [
        PrefixFile("old", "1.0", "lib/old.so"),
        PrefixFile("old", "1.0", "bin/old"),
    ]
    assert list(prefix_files(tmp_path / "nowhere")) == []

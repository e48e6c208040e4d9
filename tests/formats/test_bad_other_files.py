"""Other tools' lock files with an entry missing what Amber needs: a LockFileError naming the
file (found by the fuzz suite: a conda-lock package without ``url`` was a KeyError)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_clear_error, run_cli

CONDA_LOCK = """\
version: 1
metadata:
  channels: [{{url: https://example.org/ch}}]
  platforms: [linux-64]
  content_hash: {{linux-64: x}}
  sources: [environment.yml]
package:
- name: libfoo
  version: '1.0'
  manager: conda
  platform: linux-64
  dependencies: {{}}
{url}  hash: {hash}
  category: main
  optional: false
"""


@pytest.mark.parametrize(
    ("url", "hash_"),
    [("", "{md5: x}"), ("  url: 5\n", "{md5: x}"), ("  url: https://e.org/x.conda\n", "[1]")],
)
def test_a_conda_lock_entry_without_a_url_or_hash(
    tmp_path: Path, amber_home: Path, url: str, hash_: str
) -> None:
    path = tmp_path / "conda-lock.yml"
    path.write_text(CONDA_LOCK.format(url=url, hash=hash_))
    outcome = run_cli(["lock", "-f", path, "-o", tmp_path / "out.lock"], tmp_path)
    assert_clear_error(outcome, f"{path}: malformed conda-lock file")
    assert not (tmp_path / "out.lock").exists()

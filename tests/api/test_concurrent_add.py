"""`amber add` run several times at once on one spec file: edits are serialised, so the spec
and the lock end up agreeing and holding exactly the additions that succeeded."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import write

from amber.lock import Lock
from amber.spec import read_spec


def _conda_names(lock: Lock) -> set[str]:
    (body,) = lock.platforms.values()
    return {p.name for p in body.conda}


def test_concurrent_adds_with_failures_keep_spec_and_lock_in_agreement(
    amber, amber_home, conda_channel, tmp_path
):
    spec = write(
        tmp_path / "environment.yml",
        f"""
        channels: ['{conda_channel}']
        dependencies:
          - python
          - libfoo
        """,
    )
    amber("lock", "-f", spec, check=True)
    good = ["datafiles", "greetlib", "oldlib"]
    bad = ["libfoo>=9", "nosuchpackage", "greetlib>=99"]
    environ = {**os.environ, "AMBER_HOME": str(amber_home)}
    procs = {
        req: subprocess.Popen(
            [sys.executable, "-m", "amber", "add", req, "-f", str(spec)],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for req in [x for pair in zip(good, bad, strict=True) for x in pair]
    }
    codes = {}
    for req, proc in procs.items():
        _out, err = proc.communicate(timeout=600)
        assert "Traceback" not in err, err
        codes[req] = proc.returncode
    assert codes == {**dict.fromkeys(good, 0), **dict.fromkeys(bad, 2)}, codes

    conda = read_spec(spec).conda
    text = spec.read_text()
    for req in good:
        assert f"- {req}" in text
    for req in bad:
        assert req not in text
    assert len(conda) == 2 + len(good), conda
    lock = Lock.read(tmp_path / "amber.lock")
    assert {"python", "libfoo", *good} <= _conda_names(lock)
    check = amber("lock", "-f", spec, "--check")
    assert check.returncode == 0, check

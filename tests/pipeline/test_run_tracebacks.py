"""A failed step call keeps its traceback with the run: `amber runs show` (and `amber ui`)
say why it failed, without the credentials a message may carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

import amber


def test_a_failed_call_keeps_its_traceback(amber_home: Path, tmp_path: Path) -> None:
    @amber.step(amber.Env(pypi=["six==1.17.0"]))
    def fetch_data(n: int) -> int:
        if n:
            raise ValueError("cannot read https://alice:s3cret-token@data.example.com/x.csv")
        return n

    assert fetch_data(0) == 0
    with pytest.raises(ValueError):
        fetch_data(1)
    listed = run_cli(["runs", "list", "--json"], tmp_path)
    run_id = json.loads(listed.stdout)[0]["run_id"]
    shown = run_cli(["runs", "show", run_id, "--json"], tmp_path)
    ok, failed = json.loads(shown.stdout)["steps"]
    assert ok["status"] == "ok" and ok["traceback"] is None
    assert failed["status"].startswith("error")
    assert "in fetch_data" in failed["traceback"]
    assert "ValueError: cannot read https://" in failed["traceback"]
    assert "s3cret-token" not in failed["traceback"]
    text = run_cli(["runs", "show", run_id], tmp_path).stdout
    assert "ValueError: cannot read" in text and "s3cret-token" not in text

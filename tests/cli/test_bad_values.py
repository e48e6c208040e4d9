"""Flag and argument values the CLI took silently or echoed whole: now a clear error (exit 2)
whose lines quote at most a short piece of the value."""

from __future__ import annotations

from pathlib import Path

import condapkgs
import pytest
from helpers import assert_clear_error, run_cli


@pytest.fixture(autouse=True)
def _home(amber_home: Path) -> Path:
    return amber_home


def test_env_tag_with_a_path_for_a_name(tmp_path: Path) -> None:
    """The tag is checked before the env is looked up: the first thing wrong is said."""
    outcome = run_cli(["env", "tag", "0123abcd", "../x"], tmp_path)
    assert_clear_error(outcome, "invalid tag '../x'")


def test_env_tags_with_a_path_for_a_name(tmp_path: Path) -> None:
    """Listed "no tags" (exit 0) for a name no tag can have."""
    outcome = run_cli(["env", "tags", "../x"], tmp_path)
    assert_clear_error(outcome, "invalid name '../x'")


def test_remote_gc_keep_runs_days_negative(tmp_path: Path) -> None:
    """Was taken as "keep runs from the future", deleting what every recent run used."""
    remote = (tmp_path / "remote").as_uri()
    outcome = run_cli(["remote", "gc", "--remote", remote, "--keep-runs-days", "-5"], tmp_path)
    assert_clear_error(outcome, "--keep-runs-days", "-5 is not in the range x>=0")


def test_a_huge_value_is_echoed_shortened(tmp_path: Path) -> None:
    remote = (tmp_path / "remote").as_uri()
    value = "9" * 100_000 + "x"
    outcome = run_cli(["remote", "gc", "--remote", remote, "--keep-runs-days", value], tmp_path)
    assert_clear_error(outcome, "--keep-runs-days", "is not a valid integer")  # lines <= 400


def test_export_to_a_directory(tmp_path: Path) -> None:
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{channel.as_uri()}]\ndependencies: [libfoo]\n")
    assert run_cli(["lock", "-f", spec], tmp_path).code == 0
    for form in ("explicit", "pixi", "environment.yml"):
        outcome = run_cli(["export", "amber.lock", "--format", form, "-o", "."], tmp_path)
        assert_clear_error(outcome, "it is a directory")


def test_unpack_an_archive_with_a_name_too_long(tmp_path: Path) -> None:
    """Found by the fuzz suite: pathlib's is_file() raised ENAMETOOLONG."""
    outcome = run_cli(["unpack", "a" * 5000 + ".tar.gz", tmp_path / "dest"], tmp_path)
    assert_clear_error(outcome, "no such archive")


def test_add_a_date_like_requirement(tmp_path: Path) -> None:
    """Found by the fuzz suite: quoting the new entry probed YAML, which raised ValueError
    for a date-like scalar that is no date (2024-13-01)."""
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{channel.as_uri()}]\ndependencies: [libfoo]\n")
    before = spec.read_text()
    outcome = run_cli(["add", "2024-13-01", "-f", spec], tmp_path)
    assert_clear_error(outcome, "2024-13-01")
    assert spec.read_text() == before  # the rejected entry is not left in the spec

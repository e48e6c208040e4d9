"""`amber diff --format markdown`: pixi-diff-to-markdown's table, from real locks."""

from __future__ import annotations

from pathlib import Path

import condapkgs
import pytest
from helpers import write

from amber.inspect.diff import Change, change_type


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generic = {"noarch": "generic", "subdir": "noarch"}
    pkgs = [
        condapkgs.CondaPackage("app", "1.0", depends=("libz",), **generic),
        condapkgs.CondaPackage("app", "2.0", depends=("libz", "newdep"), **generic),
        condapkgs.CondaPackage("libz", "1.3", **generic),
        condapkgs.CondaPackage("newdep", "0.1", **generic),
        condapkgs.CondaPackage("native", "1.0", "0", subdir="linux-64"),
        condapkgs.CondaPackage("native", "1.0", "0", subdir="osx-arm64"),
        # Rebuilt for linux-64 only.
        condapkgs.CondaPackage("native", "1.0", "1", build_number=1, subdir="linux-64"),
    ]
    return condapkgs.build_channel(tmp_path_factory.mktemp("markdown"), pkgs)


def locked(amber, directory: Path, channel: Path, deps: str) -> Path:
    spec = write(
        directory / "environment.yml",
        f"channels: ['{channel}']\ndependencies: [{deps}]\nplatforms: [linux-64, osx-arm64]\n",
    )
    amber("lock", "-f", spec, check=True)
    return directory / "amber.lock"


def test_markdown_table_for_a_pull_request(amber, tmp_path: Path, channel: Path) -> None:
    before = locked(amber, tmp_path / "a", channel, "app=1.0, native=1.0=0")
    after = locked(amber, tmp_path / "b", channel, "app, native")
    shown = amber("diff", before, after, "--format", "markdown", check=True)
    assert shown.stdout == (
        "### Requested packages\n"
        "\n"
        "|Package|Before|After|Change|Kind|Platforms|\n"
        "|-|-|-|-|-|-|\n"
        "|app|1.0|2.0|Major Upgrade|conda|*all platforms*|\n"
        "|native|0|1|Only build string|conda|linux-64|\n"
        "\n"
        "### Transitive packages\n"
        "\n"
        "|Package|Before|After|Change|Kind|Platforms|\n"
        "|-|-|-|-|-|-|\n"
        "|newdep||0.1|Added|conda|*all platforms*|\n"
    )
    back = amber("diff", after, before, "--format", "markdown", check=True).stdout
    assert "|app|2.0|1.0|Major Downgrade|conda|*all platforms*|" in back
    assert "|newdep|0.1||Removed|conda|*all platforms*|" in back
    same = amber("diff", before, before, "--format", "markdown", check=True)
    assert same.stdout == "No changes.\n"
    # The other formats are unchanged; --json and --format json are one.
    assert amber("diff", before, after, "--format", "json", check=True).stdout == (
        amber("diff", before, after, "--json", check=True).stdout
    )
    clash = amber("diff", before, after, "--json", "--format", "markdown")
    assert clash.returncode == 2 and "contradict" in clash.stderr


@pytest.mark.parametrize(
    ("kind", "old", "new", "expected"),
    [
        ("pypi", "2.19.1", "2.20.0", "Minor Upgrade"),
        ("pypi", "1.24.1", "1.23", "Minor Downgrade"),
        ("pypi", "5.3", "5.3.1", "Patch Upgrade"),
        ("pypi", "2018.4.16", "2018.11.29", "Minor Upgrade"),
        ("conda", "1.26.4", "2.0.0rc1", "Major Upgrade"),
        ("pypi", "1.0", "1.0.post1", "Other"),
        ("conda", "1.0 (py36_0)", "1.0 (py36_1)", "Only build string"),
        ("conda", "1.0 (a-1.0-0.tar.bz2)", "1.0 (a-1.0-0.conda)", "Other"),
        ("pypi", "1.0 (sha256:aaaa)", "1.0 (sha256:bbbb)", "Other"),
        ("pypi", None, "1.0", "Added"),
        ("conda", "1.0", None, "Removed"),
    ],
)
def test_change_types_as_pixi_diff_to_markdown_names_them(
    kind: str, old: str | None, new: str | None, expected: str
) -> None:
    assert change_type(Change("linux-64", kind, "x", old, new)) == expected  # type: ignore[arg-type]

"""Channels resolved as conda resolves them, end to end: a ``.condarc`` whose
``channel_alias``, ``custom_channels`` and ``default_channels`` point at loopback HTTP
channels drives a real lock; ``channel::pkg``, ``${VAR}`` tokens and the allow/deny lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import condapkgs
import pytest
from helpers import assert_secret_nowhere, conda_environ, files_containing, write

from amber.lock import Lock
from amber.spec import Spec


def _noarch(name: str) -> condapkgs.CondaPackage:
    return condapkgs.CondaPackage(
        name=name, version="1.0", subdir="noarch", noarch="generic",
        files={f"share/{name}.txt": f"{name}\n".encode()},
    )  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One loopback server holding five channels, each with a package no other one has:
    ``alias/conda-forge`` (alpha), ``alias/other`` (epsilon), ``custom/private`` (beta),
    ``repo/pkgs/main`` (gamma), ``repo/pkgs/r`` (delta), and ``t/s3cr3t/tokened`` (zeta)."""
    root = tmp_path_factory.mktemp("served")
    layout = {
        "alias/conda-forge": "alpha", "alias/other": "epsilon", "custom/private": "beta",
        "repo/pkgs/main": "gamma", "repo/pkgs/r": "delta", "t/s3cr3t/tokened": "zeta",
    }  # fmt: skip
    for path, package in layout.items():
        condapkgs.build_channel(root / path, [_noarch(package)])
    with condapkgs.serve_directory(root) as url:
        yield url


def _condarc(home: Path, served: str) -> Path:
    return write(
        home / ".condarc",
        f"""
        channel_alias: {served}/alias
        custom_channels:
          private: {served}/custom
        default_channels:
          - {served}/repo/pkgs/main
          - {served}/repo/pkgs/r
        """,
    )


def _urls(lock: Lock) -> dict[str, str]:
    return {p.name: p.url for p in lock.for_platform("linux-64").conda}


def test_condarc_alias_custom_and_default_channels_drive_a_lock(amber, tmp_path, served):
    home = tmp_path / "home"
    _condarc(home, served)
    spec = write(
        tmp_path / "project" / "environment.yml",
        """
        channels: [conda-forge, private, defaults, nodefaults]
        dependencies: [alpha, beta, gamma, delta]
        """,
    )
    amber("lock", "-f", spec, env=conda_environ(home), check=True)
    lock = Lock.read(spec.parent / "amber.lock")
    assert lock.spec.channels == (
        f"{served}/alias/conda-forge", f"{served}/custom/private",
        f"{served}/repo/pkgs/main", f"{served}/repo/pkgs/r",
    )  # fmt: skip
    urls = _urls(lock)
    assert urls["alpha"].startswith(f"{served}/alias/conda-forge/noarch/")
    assert urls["beta"].startswith(f"{served}/custom/private/noarch/")
    assert urls["gamma"].startswith(f"{served}/repo/pkgs/main/noarch/")
    assert urls["delta"].startswith(f"{served}/repo/pkgs/r/noarch/")
    assert "nodefaults" not in (spec.parent / "amber.lock").read_text()


def test_condarc_channels_follow_the_files_unless_nodefaults(amber, tmp_path, served):
    """As `conda env create`: the configured `channels` are searched after the file's, and
    `nodefaults` leaves them out (then what only they hold cannot be found)."""
    home = tmp_path / "home"
    _condarc(home, served)
    write(home / ".condarc", (home / ".condarc").read_text() + "channels: [defaults]\n")
    spec = write(
        tmp_path / "a" / "environment.yml",
        "channels: [conda-forge]\ndependencies: [alpha, gamma]\n",
    )
    amber("lock", "-f", spec, env=conda_environ(home), check=True)
    assert _urls(Lock.read(spec.parent / "amber.lock"))["gamma"].startswith(
        f"{served}/repo/pkgs/main/"
    )
    no_defaults = write(
        tmp_path / "b" / "environment.yml",
        "channels: [conda-forge, nodefaults]\ndependencies: [alpha, gamma]\n",
    )
    result = amber("lock", "-f", no_defaults, env=conda_environ(home))
    assert result.returncode == 2, result
    assert "gamma" in result.stderr and "Traceback" not in result.stderr
    assert not (no_defaults.parent / "amber.lock").exists()


def test_a_channel_named_in_a_match_spec_is_searched_too(amber, tmp_path, served):
    """`other::epsilon` with `other` not among the channels: conda adds it (after them)."""
    home = tmp_path / "home"
    _condarc(home, served)
    spec = write(
        tmp_path / "environment.yml",
        f"""
        channels: ["{served}/alias/conda-forge"]
        dependencies: [alpha, "other::epsilon", "{served}/custom/private::beta"]
        """,
    )
    amber("lock", "-f", spec, env=conda_environ(home), check=True)
    urls = _urls(Lock.read(tmp_path / "amber.lock"))
    assert urls["epsilon"].startswith(f"{served}/alias/other/noarch/")
    assert urls["beta"].startswith(f"{served}/custom/private/noarch/")


def test_a_token_variable_in_a_channel_is_expanded_at_use_and_written_nowhere(
    amber, tmp_path, served, amber_home
):
    home = tmp_path / "home"
    spec = write(
        tmp_path / "environment.yml",
        f"""
        channels: ["{served}/t/${{CHANNEL_TOKEN}}/tokened"]
        dependencies: [zeta]
        """,
    )
    missing = amber("lock", "-f", spec, env=conda_environ(home))
    assert missing.returncode == 2, missing
    assert "CHANNEL_TOKEN" in missing.stderr and "not set" in missing.stderr
    assert "Traceback" not in missing.stderr

    with_token = conda_environ(home, CHANNEL_TOKEN="s3cr3t")
    amber("lock", "-f", spec, env=with_token, check=True)
    text = (tmp_path / "amber.lock").read_text()
    assert "zeta" in text and "s3cr3t" not in text
    installed = amber("install", "-f", spec, env=with_token, check=True)
    assert (Path(installed.stdout.strip()) / "share" / "zeta.txt").is_file()
    # Every file under AMBER_HOME, rattler's repodata cache (`repodata/`) included: it
    # keeps the URL it fetched, and rattler gets the channel without its token.
    assert (amber_home / "repodata").is_dir()
    assert files_containing([amber_home], [b"s3cr3t"]) == []
    assert_secret_nowhere(amber_home, "the channel token", b"s3cr3t")


def test_denylist_refuses_a_channel_naming_the_setting_file(amber, tmp_path, served):
    home = tmp_path / "home"
    condarc = _condarc(home, served)
    write(condarc, condarc.read_text() + "denylist_channels: [private]\n")
    spec = write(
        tmp_path / "environment.yml", "channels: [conda-forge, private]\ndependencies: [alpha]\n"
    )
    result = amber("lock", "-f", spec, env=conda_environ(home))
    assert result.returncode == 2, result
    assert f"{served}/custom/private" in result.stderr
    assert "denylist_channels" in result.stderr and str(condarc) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "amber.lock").exists()


def test_allowlist_refuses_a_channel_it_does_not_name(amber, tmp_path, served):
    home = tmp_path / "home"
    condarc = _condarc(home, served)
    write(condarc, condarc.read_text() + "allowlist_channels: [conda-forge]\n")
    spec = write(
        tmp_path / "environment.yml", "channels: [conda-forge, defaults]\ndependencies: [alpha]\n"
    )
    result = amber("lock", "-f", spec, env=conda_environ(home))
    assert result.returncode == 2, result
    assert f"{served}/repo/pkgs/main" in result.stderr and "allowlist_channels" in result.stderr


def test_a_lock_that_records_channel_names_stays_current_where_they_mean_the_same(
    amber, tmp_path, served
):
    """A lock made before names were resolved records `conda-forge`: what conda's built-in
    settings make of it. The spec that now resolves to that URL is the same request; under
    another `channel_alias` it is not."""
    home = tmp_path / "home"
    _condarc(home, served)
    spec = write(tmp_path / "environment.yml", "channels: [conda-forge]\ndependencies: [alpha]\n")
    amber("lock", "-f", spec, env=conda_environ(home), check=True)
    made = Lock.read(tmp_path / "amber.lock")
    recorded = Spec.from_canonical({**made.spec.canonical(), "channels": ["conda-forge"]})
    Lock(recorded, recorded.req_id, made.platforms).write(tmp_path / "amber.lock")

    plain = amber("lock", "--check", "-f", spec, env=conda_environ(tmp_path / "nohome"))
    assert plain.returncode == 0, plain
    aliased = amber("lock", "--check", "-f", spec, env=conda_environ(home))
    assert aliased.returncode == 1 and "channels" in aliased.stderr, aliased

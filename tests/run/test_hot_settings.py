"""What the memos of `amber run` must notice besides the spec: a changed policy (from the
settings, ``$AMBER_POLICY`` or beside the spec) and changed settings files (``.condarc``,
Amber's TOML). A run after such a change is refused or re-resolved as without any memo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import conda_environ, conda_spec, write

from amber import _hot

BAN_NOTHING = '[[bans]]\nid = "no-zz"\nname = "zzz-none"\nreason = "never used"\n'
BAN_LIBFOO = '[[bans]]\nid = "no-libfoo"\nname = "libfoo"\nreason = "SEC-42: replaced"\n'


def _tiers(amber_home: Path, cwd: Path, env: dict[str, str], *args: object) -> set[str]:
    """The modules ``amber run ARGS`` imported (which tier answered)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "amber", "run", *map(str, args)],
        cwd=cwd, env={**os.environ, "AMBER_HOME": str(amber_home), **env},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = [line.split("|")[-1].strip() for line in proc.stderr.splitlines()]
    return {line for line in lines if line}


def _refused(result, rule: str = "no-libfoo") -> None:
    assert result.returncode == 2, result
    assert "refuses this lock" in result.stderr and rule in result.stderr, result
    assert "SEC-42" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("where", ["AMBER_POLICY", "settings", "beside"])
def test_a_changed_policy_is_held_by_every_tier_of_run(
    amber, amber_home, conda_channel, tmp_path, where
):
    spec = conda_spec(tmp_path / "project", conda_channel, "python", "libfoo")
    folder = tmp_path / ("project" if where == "beside" else "org")
    policy = write(folder / "amber-policy.toml", BAN_NOTHING)
    env = conda_environ(tmp_path / "home")
    if where == "AMBER_POLICY":
        env["AMBER_POLICY"] = str(policy)
    elif where == "settings":
        env["AMBER_CONFIG"] = str(write(tmp_path / "amber.toml", f'policy = "{policy}"\n'))
    amber("run", "-f", spec, "--", "true", env=env, check=True)
    assert "amber.cli" not in _tiers(amber_home, tmp_path, env, "-f", spec, "--", "true")  # hot
    full_id = amber("env", "list", "--json", env=env, check=True).stdout.split('"full_id": "')[1]
    full_id = full_id.split('"')[0]
    amber("run", "--env", full_id, "--", "true", env=env, check=True)  # remembered by reference

    policy.write_text(BAN_LIBFOO)  # the organisation bans what the env holds
    _refused(amber("run", "-f", spec, "--", "true", env=env))
    _refused(amber("run", "-f", spec, "--", "true", env=env))  # no memo took it back
    if where != "beside":  # a reference knows no spec: only the organisation's policy
        _refused(amber("run", "--env", full_id, "--", "true", env=env))

    policy.write_text(BAN_NOTHING)  # lifted: runs again, and the hot path takes over again
    amber("run", "-f", spec, "--", "true", env=env, check=True)
    assert "amber.cli" not in _tiers(amber_home, tmp_path, env, "-f", spec, "--", "true")


@pytest.mark.parametrize("where", ["condarc", "amber-settings"])
def test_a_changed_channel_alias_is_seen_by_both_memos(
    amber, amber_home, conda_channel, tmp_path, where
):
    """``channels: [NAME]`` under a ``channel_alias``: after the alias moves, `amber run`
    resolves (and here fails to find the channel) as it would without any memo."""
    spec = conda_spec(tmp_path / "project", conda_channel.name, "python", "libfoo")
    alias = f"channel_alias: {conda_channel.parent.as_uri()}/\n"
    nowhere = f"channel_alias: {(tmp_path / 'nowhere').as_uri()}/\n"
    env = conda_environ(tmp_path / "home")
    if where == "condarc":
        settings = write(tmp_path / "condarc", alias)
        env["CONDARC"] = str(settings)
    else:
        settings = write(tmp_path / "home" / ".config" / "amber" / "config.toml", "")
        alias = alias.replace(": ", ' = "').rstrip() + '"\n'
        nowhere = nowhere.replace(": ", ' = "').rstrip() + '"\n'
        settings.write_text(alias)
    amber("run", "-f", spec, "--", "true", env=env, check=True)
    assert "amber.cli" not in _tiers(amber_home, tmp_path, env, "-f", spec, "--", "true")  # hot

    settings.write_text(nowhere)
    moved = amber("run", "-f", spec, "--", "true", env=env)
    assert moved.returncode == 2, moved
    assert "nowhere" in moved.stderr and "Traceback" not in moved.stderr, moved

    settings.write_text(alias)
    amber("run", "-f", spec, "--", "true", env=env, check=True)
    assert "amber.cli" not in _tiers(amber_home, tmp_path, env, "-f", spec, "--", "true")


def test_the_hot_settings_files_are_the_ones_condarc_reads(tmp_path: Path) -> None:
    """``amber._hot`` watches every file ``amber.condarc`` would read (and where one may
    appear), without importing it."""
    from amber import condarc

    home = tmp_path / "home"
    environ = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg"),
               "CONDA_PREFIX": str(tmp_path / "prefix"), "CONDARC": str(tmp_path / "rc.yml"),
               "AMBER_CONFIG": str(tmp_path / "amber.toml")}  # fmt: skip
    for path in (
        home / ".condarc",
        home / "xdg" / "conda" / "condarc",
        home / ".conda" / "condarc.d" / "a.yml",
        tmp_path / "prefix" / ".condarc",
        tmp_path / "rc.yml",
    ):
        write(path, "channels: [x]\n")
    project = write(tmp_path / "work" / ".amber" / "config.toml", "").parent.parent
    watched = set(_hot.settings_files(environ, str(project / "sub")))
    read = {str(p) for p in condarc.search_path(environ)}
    read |= {str(condarc.user_config_file(environ)), str(tmp_path / "amber.toml")}
    read.add(str(condarc.project_config_file(project / "sub") or project / ".amber/config.toml"))
    assert read <= watched, sorted(read - watched)

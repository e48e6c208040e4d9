"""Envs that travel between stores: from a committed lock, an unpacked dir, a bundle's tags."""

from __future__ import annotations

from pathlib import Path

from helpers import conda_spec


def _other(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a colleague's machine: another, empty store."""
    return {"AMBER_HOME": str(tmp_path / name)}


def test_env_from_a_committed_lock_can_be_pushed_and_bundled(
    amber, conda_channel: Path, tmp_path: Path
):
    spec = conda_spec(tmp_path / "repo", conda_channel, "python", "libfoo")
    amber("lock", "-f", spec, check=True)  # committed beside the spec
    lock = tmp_path / "repo" / "amber.lock"

    fresh = _other(tmp_path, "fresh")
    prefix = Path(amber("install", "-f", lock, env=fresh, check=True).stdout.strip())
    bundled = amber("pack", "--packages", prefix.name, "-o", tmp_path / "b.tar", env=fresh)
    assert bundled.returncode == 0, bundled
    remote = (tmp_path / "remote").as_uri()
    pushed = amber("push", prefix.name, "--remote", remote, env=fresh)
    assert pushed.returncode == 0, pushed

    # The spec with its amber.lock beside it, in yet another store.
    beside = _other(tmp_path, "beside")
    prefix = Path(amber("install", "-f", spec, env=beside, check=True).stdout.strip())
    bundled = amber("pack", "--packages", prefix.name, "-o", tmp_path / "c.tar", env=beside)
    assert bundled.returncode == 0, bundled


def test_unpacked_env_dir_bundles_from_its_own_lock(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path / "repo", conda_channel, "python", "libfoo")
    prefix = amber("install", "-f", spec, check=True).stdout.strip()
    amber("pack", Path(prefix).name, "-o", tmp_path / "env.tar", check=True)
    fresh = _other(tmp_path, "fresh")
    amber("unpack", tmp_path / "env.tar", tmp_path / "opt" / "env", env=fresh, check=True)
    bundled = amber(
        "pack", "--packages", tmp_path / "opt" / "env", "-o", tmp_path / "b.tar", env=fresh
    )
    assert bundled.returncode == 0, bundled


def test_bundle_carries_the_tags_it_was_packed_by(amber, conda_channel: Path, tmp_path: Path):
    one = conda_spec(tmp_path / "one", conda_channel, "python", "libfoo=1.0")
    two = conda_spec(tmp_path / "two", conda_channel, "python", "libfoo=2.0")
    first = Path(amber("install", "-f", one, check=True).stdout.strip())
    second = Path(amber("install", "-f", two, check=True).stdout.strip())
    amber("env", "tag", first.name, "kern:v1", check=True)
    amber("env", "tag", second.name, "kern:v2", check=True)
    amber("pack", "--packages", "kern:v1", second.name, "-o", tmp_path / "b.tar", check=True)

    away = _other(tmp_path, "away")
    amber("install", tmp_path / "b.tar", env=away, check=True)
    code = "print(open(__import__('os').environ['CONDA_PREFIX'] + '/lib/libfoo.txt').read())"
    ran = amber("run", "--env", "kern:v1", "--", "python", "-c", code, env=away)
    assert ran.returncode == 0 and ran.stdout.strip() == "1.0", ran
    assert amber("env", "show", "kern:v2", env=away).returncode == 2  # not packed by that tag

    # A different local kern:v1 is never overwritten silently.
    elsewhere = _other(tmp_path, "elsewhere")
    mine = Path(amber("install", "-f", two, env=elsewhere, check=True).stdout.strip())
    amber("env", "tag", mine.name, "kern:v1", env=elsewhere, check=True)
    done = amber("install", tmp_path / "b.tar", env=elsewhere)
    assert done.returncode == 0, done
    assert "kern:v1" in done.stderr and "already" in done.stderr
    kept = amber("env", "show", "kern:v1", "--json", env=elsewhere, check=True)
    assert mine.name[:12] in kept.stdout

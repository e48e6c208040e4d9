"""An in-place edit of a hardlinked file never reaches an env built later; ``verify
--repair`` restores an env; ``AMBER_LINK_MODE`` chooses copies or reflinks instead."""

from __future__ import annotations

import json
from pathlib import Path

import condapkgs
import pytest
from helpers import conda_spec

from amber._fs import remove_tree
from amber.hydrate import hydrate
from amber.inspect.verify import verify_env
from amber.lock import Lock
from amber.resolve import ResolveCaches, resolve
from amber.settings import Settings
from amber.spec import Spec
from amber.store import Store, pkgcache


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "home")
    yield s
    s.close()


def _lock(store: Store, channel: Path) -> Lock:
    spec = Spec.create(conda=["libfoo"], channels=[channel.as_uri()])
    return resolve(spec, ResolveCaches(store.repodata, store.uv_cache, store.conda_pkgs))


def _edit_in_place(path: Path, text: bytes) -> None:
    with open(path, "r+b") as f:  # the same inode: what an editor that writes in place does
        f.write(text)


def test_an_edit_through_a_hardlink_never_reaches_a_later_env(store: Store, tmp_path: Path):
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    lock = _lock(store, channel)
    env = hydrate(lock, store)
    target = env.path / "lib" / "libfoo.txt"
    cached = store.conda_pkgs / "libfoo-1.0-0" / "lib" / "libfoo.txt"
    assert target.stat().st_ino == cached.stat().st_ino  # hardlinked: the default
    _edit_in_place(target, b"EVIL")
    assert cached.read_bytes().startswith(b"EVIL")  # the cache's copy changed with it

    remove_tree(env.path)  # what `amber env rm` does
    again = hydrate(lock, store)
    assert (again.path / "lib" / "libfoo.txt").read_text() == "1.0\n"
    assert verify_env(again).ok
    assert cached.read_text() == "1.0\n"  # extracted again from the (hash-checked) archive
    # Linking moved nothing the fingerprint sees: the next build reads no byte of the entry.
    libfoo = lock.for_platform("linux-64").conda[0]
    assert pkgcache.is_clean(store, libfoo.file_name, libfoo.sha256)


@pytest.mark.parametrize("mode", ["copy", "reflink"])
def test_link_mode_copy_or_reflink_shares_no_inode_with_the_cache(
    tmp_path: Path, mode: str
) -> None:
    store = Store(tmp_path / "home", link_mode=mode)
    channel = condapkgs.build_channel(tmp_path / "ch", [condapkgs.libfoo_package("1.0")])
    env = hydrate(_lock(store, channel), store)
    target = env.path / "lib" / "libfoo.txt"
    cached = store.conda_pkgs / "libfoo-1.0-0" / "lib" / "libfoo.txt"
    assert target.stat().st_ino != cached.stat().st_ino and target.stat().st_nlink == 1
    _edit_in_place(target, b"EVIL")
    assert cached.read_text() == "1.0\n"
    store.close()


def test_link_mode_setting() -> None:
    assert Settings.from_environ({"AMBER_HOME": "/x"}).link_mode == "hardlink"
    assert (
        Settings.from_environ({"AMBER_HOME": "/x", "AMBER_LINK_MODE": "Copy"}).link_mode == "copy"
    )


def test_a_bad_link_mode_is_a_clear_error(amber, tmp_path: Path) -> None:
    bad = amber("env", "list", env={"AMBER_LINK_MODE": "symlink"})
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "AMBER_LINK_MODE" in bad.stderr and "symlink" in bad.stderr


def test_reflink_where_unsupported_says_it_copies(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "libfoo")
    done = amber("install", "-f", spec, env={"AMBER_LINK_MODE": "reflink"}, check=True)
    prefix = Path(done.stdout.strip())
    assert (prefix / "lib" / "libfoo.txt").stat().st_nlink == 1
    # tmp_path's filesystem here (ext4, overlayfs, tmpfs) has no reflinks: a note says so.
    assert "reflink" in done.stderr and "copies" in done.stderr


def test_verify_repair_restores_an_env_and_its_cache(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib", "footool")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    site = next(prefix.glob("lib/python*/site-packages"))
    init = site / "greetlib" / "__init__.py"
    original = init.read_bytes()
    _edit_in_place(init, b"import os  # EVIL\n")  # the cache's copy too (hardlink)
    (prefix / "etc" / "conda" / "activate.d" / "footool.sh").unlink()
    (prefix / "lib" / "stray.txt").write_text("x")
    bad = amber("verify", prefix.name)
    assert bad.returncode == 1 and "amber verify --repair" in bad.stderr

    fixed = amber("verify", "--repair", prefix.name)
    assert fixed.returncode == 0, fixed
    assert init.read_bytes() == original
    assert (prefix / "etc" / "conda" / "activate.d" / "footool.sh").is_file()
    assert not (prefix / "lib" / "stray.txt").exists()
    assert json.loads(amber("verify", "--json", prefix.name, check=True).stdout)["ok"]
    # An env built later from the cache is clean too.
    amber("env", "rm", prefix.name, check=True)
    again = Path(amber("install", "-f", spec, check=True).stdout.strip())
    assert next(again.glob("lib/python*/site-packages/greetlib/__init__.py")).read_bytes() == (
        original
    )
    amber("verify", again.name, check=True)


def test_an_edit_through_uvs_hardlink_never_reaches_a_later_env(amber, tmp_path: Path):
    spec = tmp_path / "requirements.txt"
    spec.write_text("six==1.17.0\n")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    six = next(prefix.glob("lib/python*/site-packages/six.py"))
    original = six.read_bytes()
    assert six.stat().st_nlink > 1  # uv hardlinks from its cache
    _edit_in_place(six, b"import os  # EVIL\n")

    amber("env", "rm", prefix.name, check=True)
    again = Path(amber("install", "-f", spec, check=True).stdout.strip())
    assert next(again.glob("lib/python*/site-packages/six.py")).read_bytes() == original
    amber("verify", again.name, check=True)

    six = next(again.glob("lib/python*/site-packages/six.py"))
    _edit_in_place(six, b"import os  # EVIL\n")
    assert amber("verify", again.name).returncode == 1
    amber("verify", "--repair", again.name, check=True)
    assert six.read_bytes() == original

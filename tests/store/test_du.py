"""amber.store.du: numbers against an independent count of inodes."""

from __future__ import annotations

import os
from pathlib import Path

from helpers import conda_spec, write

from amber._units import human_bytes as human
from amber.store import Store
from amber.store.du import disk_usage


def _inodes(*roots: Path) -> dict[tuple[int, int], os.stat_result]:
    """Every file and symlink under ``roots``, by inode (os.walk + os.lstat)."""
    out = {}
    for root in roots:
        for folder, dirs, names in os.walk(root):
            for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                st = os.lstat(os.path.join(folder, name))
                out[(st.st_dev, st.st_ino)] = st
    return out


def test_du_against_inode_count(amber, amber_home: Path, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path / "c", conda_channel, "python", "greetlib", "footool")
    conda_env = Path(amber("install", "-f", spec, check=True).stdout.strip())
    reqs = write(tmp_path / "p" / "requirements.txt", "six==1.17.0\n")
    pypi_env = Path(amber("install", "-f", reqs, check=True).stdout.strip())

    store = Store(amber_home)
    usage = disk_usage(store)
    caches = [store.conda_pkgs, store.uv_cache, store.archives]
    everything = _inodes(conda_env, pypi_env, *caches)
    assert usage.total == sum(st.st_size for st in everything.values())
    for name, path in zip(("conda", "uv", "archives"), caches, strict=True):
        assert usage.caches[name] == sum(st.st_size for st in _inodes(path).values())

    by_path = {Path(e.path): e for e in usage.envs}
    assert set(by_path) == {conda_env, pypi_env}
    for prefix in (conda_env, pypi_env):
        entry = by_path[prefix]
        links = [
            os.lstat(os.path.join(folder, n))
            for folder, dirs, names in os.walk(prefix)
            for n in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        ]
        assert entry.apparent == sum(st.st_size for st in links)
        assert entry.files == len(links)
        own = _inodes(prefix)
        assert entry.unique == sum(st.st_size for st in own.values() if st.st_nlink == 1)

    # The conda env's package files are hardlinks from the cache: only its own files count.
    conda = by_path[conda_env]
    libfoo = conda_env / "lib" / "libfoo.txt"
    assert os.lstat(libfoo).st_nlink > 1
    site = next(conda_env.glob("lib/python*/site-packages"))
    shared = sum(p.stat().st_size for p in (site / "greetlib").iterdir() if p.is_file())
    assert conda.unique <= conda.apparent - shared - os.lstat(libfoo).st_size
    own_meta = sum(
        st.st_size for st in _inodes(conda_env / ".amber", conda_env / "conda-meta").values()
    )
    assert own_meta <= conda.unique

    # Removing the env frees exactly its unique bytes.
    before = usage.total
    amber("env", "rm", conda.full_id[:12], check=True)
    assert disk_usage(Store(amber_home)).total == before - conda.unique
    assert usage.to_json()["total"] == before


def test_du_empty_store(amber_home: Path):
    usage = disk_usage(Store(amber_home))
    assert usage.envs == [] and usage.total == 0 and usage.caches_total == 0
    assert human(0) == "0 B" and human(1536) == "1.5 KiB"


def test_du_counts_envs_at_chosen_paths(amber, amber_home: Path, conda_channel: Path, tmp_path):
    """An env at a chosen path (`--prefix`) is on the store's books: du counts it, once,
    beside the store's own env of the same lock."""
    spec = conda_spec(tmp_path / "c", conda_channel, "python", "greetlib")
    stored = Path(amber("install", "-f", spec, check=True).stdout.strip())
    chosen = tmp_path / "here" / "env"
    amber("install", "-f", spec, "--prefix", chosen, check=True)
    usage = disk_usage(Store(amber_home))
    by_path = {Path(e.path): e for e in usage.envs}
    assert set(by_path) == {stored, chosen.absolute()}
    assert by_path[chosen.absolute()].prefix and not by_path[stored].prefix
    assert by_path[chosen.absolute()].full_id == by_path[stored].full_id
    links = [
        os.lstat(os.path.join(folder, n))
        for folder, dirs, names in os.walk(chosen)
        for n in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]
    ]
    entry = by_path[chosen.absolute()]
    assert (entry.files, entry.apparent) == (len(links), sum(st.st_size for st in links))
    store = Store(amber_home)
    everything = _inodes(stored, chosen, store.conda_pkgs, store.uv_cache, store.archives)
    assert usage.total == sum(st.st_size for st in everything.values())
    shown = amber("du", check=True).stdout
    assert f"(at {chosen.absolute()})" in shown

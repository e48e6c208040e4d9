"""Materialise a lock into an env: rattler for conda, uv for PyPI, in place, under a lock.

An env is built where it will live (conda prefixes embed their own path), under
an exclusive file lock, and is complete only once its marker is written, last.
An incomplete directory found under the lock is the wreck of a killed build:
it is removed and built again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

from amber import _early
from amber._auth import in_query, remember, requirement_with_credentials
from amber._fs import remove_tree, scratch_dir, walk_tree, write_atomic
from amber._names import canonical_name
from amber._platform import host_platform
from amber._progress import Progress
from amber._python import find_interpreter
from amber._urls import redact_text
from amber._uv import UvFailed, UvProcess, call_uv, env_change, uv_bin
from amber.channels import VARIABLE, expand_vars
from amber.errors import ConfigError, HydrateError
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.store import Store, inuse, pkgcache
from amber.store.env import Activation, Env, capture_activation
from amber.store.fetch import Package, download_archives, local_copies, open_local_archive

__all__ = ["hydrate", "existing_env", "repair"]


def conda_side() -> ModuleType:
    """``amber.hydrate.conda`` (py-rattler), loaded only for a lock with conda packages."""
    from amber.hydrate import conda  # noqa: PLC0415 - rattler is not a PyPI-only hydrate's cost

    return conda


def existing_env(lock: Lock, store: Store) -> Env | None:
    """The complete env for ``lock`` if there is one (no lock taken, no work done)."""
    env = Env(lock.full_id, store.env_path(lock.full_id))
    return env if env.is_complete() else None


def hydrate(
    lock: Lock,
    store: Store,
    *,
    name: str | None = None,
    progress: Progress | None = None,
    fetch: Callable[[list[Package]], None] | None = None,
    prefix: Path | None = None,
) -> Env:
    """The env for ``lock`` on this host, built if needed; concurrent callers share one build.

    Packages in the store's archive store are installed from there (sha256 checked);
    ``fetch`` (e.g. a remote store) is first asked for the ones missing from it. With
    ``prefix`` (conda's ``-p``), the env is built at that path instead, tracked in the index.
    """
    progress = progress or Progress(quiet=True)
    packages = lock.for_platform(host_platform())
    if prefix is not None:
        return _hydrate_prefix(lock, packages, store, Path(prefix), name, progress, fetch)
    env = existing_env(lock, store)
    if env is not None:
        return env
    _channel_tokens(lock, packages, store)
    env = Env(lock.full_id, store.env_path(lock.full_id))
    lock_file = store.env_lock_path(lock.full_id)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    # `amber install` may have begun this very build while Amber loaded (amber._early): it
    # holds the build lock, found no env there, and its uv calls are taken over by key.
    early = _early.claim_build(str(lock_file))
    with inuse.adopted(early.fd) if early is not None else inuse.exclusive(lock_file):
        if env.is_complete():  # another process built it while we waited
            return env
        if env.path.exists() and early is None:
            progress.message(f"Removing the incomplete env {env.path} left by an earlier build")
            remove_tree(env.path)
        calls: list[dict[str, object] | None] = []
        try:
            if fetch is not None:
                pinned: list[Package] = [*packages.conda, *_archived(packages.pypi)]
                missing = [p for p in pinned if not store.find_archive(p.sha256)]
                if missing:
                    fetch(missing)
            size = _build(env, lock, packages, store, progress, calls, early=early is not None)
        except BaseException:
            _early.discard()  # an early call still writing into the env ends first
            _discard(env.path)
            raise
    store.record_env(lock.full_id, env.path, name, size)
    if calls and None not in calls:
        _early.built(calls, uv_bin(), str(env.path), str(lock_file))  # type: ignore[arg-type]
    return env


_TOKEN_SEGMENT = re.compile(r"/t/[^/]+(?=/|$)")


def _channel_tokens(lock: Lock, packages: PlatformLock, store: Store) -> None:
    """The credentials of the lock's ``https://host/t/${VAR}/chan`` channels, from the
    environment, in memory for this process's downloads (the lock records the variable,
    never its value); ``ConfigError`` naming the variable and the entries that need it,
    when it is unset and a package of that channel is not in the store yet."""
    for channel in lock.spec.channels:
        if not VARIABLE.search(channel):
            continue
        base = _TOKEN_SEGMENT.sub("", channel, count=1).rstrip("/") + "/"
        try:
            remember(expand_vars(channel, store.network.variables))
        except ConfigError as exc:
            needed = [
                p for p in packages.conda
                if p.url.startswith(base) and not store.find_archive(p.sha256)
            ]  # fmt: skip
            if needed:
                entries = ", ".join(f"{packages.platform} conda {p.name}" for p in needed)
                raise ConfigError(
                    f"{exc} The lock {lock.full_id[:12]} needs it to download: {entries}.",
                    key=exc.key,
                    channel=exc.channel,
                ) from None


def _hydrate_prefix(
    lock: Lock,
    packages: PlatformLock,
    store: Store,
    prefix: Path,
    name: str | None,
    progress: Progress,
    fetch: Callable[[list[Package]], None] | None,
) -> Env:
    """The env of ``lock`` at ``prefix``, built in place (conda prefixes embed their path)
    under the prefix's own in-use lock; an env Amber made there for another lock is replaced,
    refused while a process uses it; anything else there is refused, never overwritten."""
    prefix = _checked_prefix(prefix, store)
    env = Env(lock.full_id, prefix)
    tracked = {r.path for r in store.prefix_envs()}
    if env.is_complete():  # nothing to do; processes may be running in it
        store.record_prefix(prefix, lock.full_id, name, _size(prefix))
        return env
    _channel_tokens(lock, packages, store)
    lock_file = store.in_use_lock(prefix, lock.full_id)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    # Another env there may be in use: refused at once. Nothing complete there: a build
    # by another process may be under way, and this one waits for it.
    with inuse.exclusive(lock_file, wait=Env.at(prefix) is None) as got:
        if not got:
            raise HydrateError(
                f"the env at {prefix} is in use by a running process: it cannot be updated "
                "to another lock now; try again when it has finished",
                prefix=prefix,
            )
        if env.is_complete():  # built by the process this one waited for
            store.record_prefix(prefix, lock.full_id, name, _size(prefix))
            return env
        if prefix.exists():
            old = Env.at(prefix)
            if old is None and prefix not in tracked and any(prefix.iterdir()):
                raise HydrateError(
                    f"{prefix} exists and is not an env Amber made (it is a non-empty "
                    "directory): Amber will not write over it; choose another prefix or "
                    "empty it first",
                    prefix=prefix,
                )
            if old is not None or prefix in tracked:
                what = f"env {old.full_id[:12]}" if old else "incomplete env"
                progress.message(f"Replacing the {what} at {prefix} with env {lock.full_id[:12]}")
                # Unmarked first: a crash halfway leaves an incomplete env, rebuilt next time.
                Env(old.full_id if old else lock.full_id, prefix).marker.unlink(missing_ok=True)
            store.record_prefix(prefix, lock.full_id, name, None)  # ours from here on
            _empty(prefix)
        else:
            store.record_prefix(prefix, lock.full_id, name, None)
        try:
            if fetch is not None:
                pinned: list[Package] = [*packages.conda, *packages.pypi]
                missing = [p for p in pinned if not store.find_archive(p.sha256)]
                if missing:
                    fetch(missing)
            size = _build(env, lock, packages, store, progress, [])
        except BaseException:
            _discard(prefix)
            store.forget_prefix(prefix)
            raise
    store.record_prefix(prefix, lock.full_id, name, size)
    return env


def _checked_prefix(prefix: Path, store: Store) -> Path:
    """``prefix`` made absolute, refused when it is a file or inside the store."""
    prefix = Path(os.path.abspath(prefix.expanduser()))
    if prefix.is_file() or (prefix.is_symlink() and not prefix.is_dir()):
        raise HydrateError(
            f"the prefix {prefix} is a file, not a directory: choose another path",
            prefix=prefix,
        )
    home = Path(os.path.realpath(store.home))
    real = Path(os.path.realpath(prefix))
    if real == home or home in real.parents:
        raise HydrateError(
            f"the prefix {prefix} is inside the Amber store ({store.home}), which Amber "
            "manages itself: choose a path outside it",
            prefix=prefix,
        )
    return prefix


def _empty(prefix: Path) -> None:
    """Remove what is inside ``prefix`` (Amber's own env there), keeping the directory."""
    for entry in os.scandir(prefix):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            remove_tree(path)
        else:
            path.unlink()


def _build(
    env: Env,
    lock: Lock,
    packages: PlatformLock,
    store: Store,
    progress: Progress,
    calls: list[dict[str, object] | None],
    *,
    early: bool = False,
) -> int:
    """Build the env in place and mark it complete; its size (apparent bytes), from the one
    walk over its files that also checks what it shares with uv's cache. ``calls``: the uv
    calls made, for ``amber._early`` to start next time (None for one it can't); ``early``:
    it may have started them already."""
    if packages.conda:
        calls.append(None)  # rattler links the conda packages in this process
        conda_side().install_conda(env.path, lock, packages, store, progress)
    # The early calls are taken over all or none: an install begun into the venv for other
    # arguments (a setting changed) has changed it, so the venv is made again.
    restart = None
    if not packages.conda:
        restart = _create_venv(env.path, packages, store, progress, calls, early)
    variables = dict(lock.spec.variables)
    if variables and packages.conda:
        _write_env_vars(env.path, variables)
    # Activation comes from the conda packages alone: capture it while uv installs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        activation = pool.submit(capture_activation, env.path, conda=bool(packages.conda))
        if packages.pypi:
            _install_pypi(
                env, packages, store, progress, base=lock.base, calls=calls, restart=restart
            )
        tree = _tree(env.path)
        if packages.pypi and store.link_mode == "hardlink":
            edited = _edited_in_uv_cache(env, packages, store, progress, tree)
            if edited:
                calls.append(None)
                _install_pypi(env, packages, store, progress, reinstall=edited)
                tree = _tree(env.path)
        env.meta.mkdir(parents=True, exist_ok=True)
        captured = activation.result()
        if variables:
            captured = Activation({**captured.set, **variables}, captured.path_prepend)
        env.write_activation(captured)
    lock.write(env.lock_file)
    env.mark_complete()
    size = sum(st.st_size for st in tree.values() if not stat.S_ISDIR(st.st_mode))
    return size + _size(env.meta)


def _tree(root: Path) -> dict[str, os.stat_result]:
    """Every path under ``root`` (symlinks not followed) and its ``lstat``, in one walk."""
    return {entry.path: entry.stat for entry in walk_tree(root)}


def _write_env_vars(prefix: Path, variables: dict[str, str]) -> None:
    """environment.yml's ``variables:`` where conda keeps them (``conda-meta/state``), so
    that ``conda activate`` and rattler's activation set them too."""
    state = prefix / "conda-meta" / "state"
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data["env_vars"] = {**(data.get("env_vars") or {}), **variables}
    write_atomic(state, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _create_venv(
    prefix: Path,
    packages: PlatformLock,
    store: Store,
    progress: Progress,
    calls: list[dict[str, object] | None],
    early: bool,
) -> Callable[[], None] | None:
    """Make the venv (``uv venv``). When ``amber._early`` had made it already: what makes it
    again, should the install begun into it not be the one the build makes."""
    interpreter = find_interpreter(packages.python or "3")
    args = ["venv", "--quiet", "--python", str(interpreter), str(prefix)]
    plan = _plan(args, (), store)
    calls.append(plan)

    def make() -> None:
        try:
            call_uv(args, cache_dir=store.uv_cache)
        except UvFailed as exc:
            raise HydrateError(
                f"cannot create a venv with {interpreter}: {exc}", prefix=prefix
            ) from None

    def again() -> None:  # what the early calls made goes (a setting changed since)
        _early.discard()
        remove_tree(prefix)
        make()

    with progress.task(f"Creating a Python {packages.python} env"):
        if early and _took_over(plan):
            return again
        if early:
            again()
        else:
            make()
    return None


def _plan(args: Sequence[str], files: Sequence[tuple[str, str]], store: Store) -> dict[str, object]:
    """A uv call as ``amber._early`` keys and remembers it (``files``: its input files in
    ``_early.FOLDER``, already in ``args`` that way)."""
    change = env_change(store.uv_cache)
    return {
        "key": _early.key(args, files, change),
        "files": [list(f) for f in files],
        "calls": [list(args)],
        "env": change,
    }


def _took_over(plan: dict[str, object]) -> bool:
    """Whether ``amber._early`` made exactly this call, and it succeeded."""
    started = _early.claim(str(plan["key"]))
    if started is None:
        return False
    try:
        (args, popen), *_ = started.calls
        UvProcess(args, popen, None).result()
        return True
    except UvFailed:
        return False  # as if not started: the call runs again, and says why if it fails
    finally:
        started.cleanup()


def _install_pypi(
    env: Env,
    packages: PlatformLock,
    store: Store,
    progress: Progress,
    reinstall: set[str] | None = None,
    base: Path | None = None,
    calls: list[dict[str, object] | None] | None = None,
    restart: Callable[[], None] | None = None,
) -> None:
    """uv installs the lock's PyPI packages, then its local projects (``-e ./path``, from
    ``base``); ``reinstall`` ones again, after uv's cache forgot them (an in-place edit
    through a hardlink changed its copy too)."""
    # A ?token= would stay in uv's cache and the env's direct_url.json: fetch those first.
    archived = _archived(packages.pypi)
    download_archives([p for p in archived if in_query(p.url)], store)
    local = local_copies(sorted(archived, key=lambda p: p.name), store)
    for package in local:
        if package.url.startswith("file://") and not store.find_archive(package.sha256):
            open_local_archive(package).close()  # uv reads it: only a regular package file
    # Credentials (kept in memory, or in rattler's storage) reach uv only through this
    # private temporary file.
    lines = [requirement_with_credentials(p.requirement_line()) for p in local]
    # A git commit has no file to hash: installed apart, from exactly that commit.
    commits = [p for p in packages.pypi if p.commit is not None]
    git_lines = [requirement_with_credentials(p.requirement_line()) for p in commits]
    # Local projects last, as conda runs `pip install -e ./path` after the rest; a repair
    # leaves them alone (verify does not check their source).
    projects = [] if reinstall else [p for p in packages.pypi if p.path is not None]
    project_lines = [f"{'-e ' if p.editable else ''}{_project_dir(p, base, env)}" for p in projects]
    count = len(lines) + len(git_lines) + len(project_lines)
    calls = [] if calls is None else calls
    if reinstall or git_lines or project_lines or len(local) != len(archived):
        calls.append(None)  # more than one offline install of wheels: not for amber._early
    try:
        if reinstall:
            call_uv(["cache", "clean", *sorted(reinstall)], cache_dir=store.uv_cache)
        with progress.task(f"Installing {count} PyPI packages"):
            if lines:
                urls = [p.url for p in local]
                _uv_install(
                    env, store, lines, ["--require-hashes"], reinstall, urls, calls, restart
                )
            elif restart is not None:
                restart()  # no install of wheels to take over: the early one goes
            if git_lines:
                urls = [p.url for p in commits]
                _uv_install(env, store, git_lines, [], reinstall, urls)
            if project_lines:
                _uv_install(env, store, project_lines, [], reinstall, [], offline_first=False)
    except UvFailed as exc:
        raise HydrateError(
            f"cannot install the PyPI packages into {env.path}:\n{redact_text(str(exc))}",
            prefix=env.path,
        ) from None


def _archived(pypi: Sequence[LockedPypi]) -> list[LockedPypi]:
    """The PyPI entries that pin a file (not a git commit, not a local project)."""
    return [p for p in pypi if p.is_archive]


def _project_dir(package: LockedPypi, base: Path | None, env: Env) -> Path:
    """Where a local project of the lock is: its path under the spec's folder; the
    ``HydrateError`` names the entry when there is no such folder."""
    if base is None:
        raise HydrateError(
            f"the lock installs {package.name} from the local project {package.path} (relative "
            "to its spec file), and this lock came without one (from the store, a remote or a "
            "run record): install it from the spec or lock file in the project's checkout",
            prefix=env.path,
        )
    directory = (base / (package.path or ".")).resolve()
    if not directory.is_dir():
        raise HydrateError(
            f"the lock installs {package.name} from the local project {package.path}, and "
            f"{directory} is not a directory: check the project out there, or re-lock",
            prefix=env.path,
        )
    return directory


def _uv_install(
    env: Env,
    store: Store,
    lines: Sequence[str],
    extra: Sequence[str],
    reinstall: set[str] | None,
    urls: Sequence[str],
    calls: list[dict[str, object] | None] | None = None,
    restart: Callable[[], None] | None = None,
    *,
    offline_first: bool = True,
) -> None:
    """``uv pip install`` of exactly ``lines`` (through a private temporary file), its
    downloads of ``urls`` through the store's network settings. ``calls``: see ``_build``."""
    text = "\n".join(lines) + "\n"
    base = ["pip", "install", "--python", str(env.python), "--no-deps", *extra]
    base += ["--quiet", "-r", os.path.join(_early.FOLDER, "reqs.txt")]
    if store.link_mode != "hardlink":
        base += ["--link-mode", "copy" if store.link_mode == "copy" else "clone"]
    for name in sorted(reinstall or ()):
        base += ["--reinstall-package", name]
    plan = _plan([*base, "--offline"], [("reqs.txt", text)], store)
    if calls is not None:
        # Credentials reach uv only through this private file: such a call is not remembered.
        calls.append(plan if offline_first and redact_text(text) == text else None)
    # Offline first: with every wheel (or commit) in uv's cache, no network at all. A local
    # project is built each time (its build backend may need the index).
    if offline_first and _took_over(plan):
        return
    if restart is not None:
        restart()
    with scratch_dir("reqs") as folder:
        Path(folder, "reqs.txt").write_text(text)
        base = [a.replace(_early.FOLDER, str(folder)) for a in base]
        offline = True
        if offline_first:
            try:
                call_uv([*base, "--offline"], cache_dir=store.uv_cache)
            except UvFailed:
                offline = False
        if not offline_first or not offline:
            if calls is not None:
                calls.append(None)  # the network was needed: next time may differ
            call_uv(base, cache_dir=store.uv_cache, network=store.network, urls=urls)


def _edited_in_uv_cache(
    env: Env,
    packages: PlatformLock,
    store: Store,
    progress: Progress,
    tree: dict[str, os.stat_result],
) -> set[str]:
    """The PyPI packages whose files, hardlinked from uv's cache, are not what their wheel's
    RECORD says (edited in place through another env): their cache entries must go. The
    env's ``tree`` (path: lstat) gives the fingerprints: no file is opened but the RECORDs,
    and a wheel's files are hashed only when that fingerprint moved."""
    records: dict[str, str] = {}
    for path in tree:
        if path.endswith(".dist-info/RECORD") and "/site-packages/" in path:
            dist_info = os.path.basename(os.path.dirname(path))
            name = dist_info.removesuffix(".dist-info").rsplit("-", 1)[0]
            records[canonical_name(name)] = path
    edited = set()
    for package in packages.pypi:
        if package.path is not None:
            continue  # a local project: its files are the checkout's, not a cache's
        record = records.get(canonical_name(package.name))
        if record is None:
            continue
        site = os.path.dirname(os.path.dirname(record))
        rows = pkgcache.wheel_files(Path(record))
        files = [(os.path.normpath(os.path.join(site, rel)), sha) for rel, sha, _ in rows if sha]
        # A git commit's wheel is uv's build: named by the commit where a file has a sha256.
        key = package.sha256 or hashlib.sha256(package.identity().encode()).hexdigest()
        if not pkgcache.shared_files_clean(store, key, files, lstat=_lstat_in(tree)):
            progress.message(
                f"uv's cached copy of {package.name} was edited in place, most likely through a "
                "hardlink from an env: installing it again from its wheel"
            )
            edited.add(canonical_name(package.name))
    return edited


def _lstat_in(tree: dict[str, os.stat_result]) -> Callable[[str], os.stat_result]:
    """``os.lstat``, answered from ``tree`` where it has the path."""

    def lstat(path: str) -> os.stat_result:
        found = tree.get(path)
        return found if found is not None else os.lstat(path)

    return lstat


def repair(
    env: Env,
    store: Store,
    *,
    conda: set[str],
    pypi: set[str],
    remove: Sequence[str],
    progress: Progress | None = None,
) -> None:
    """Restore ``env`` to its lock: files no package owns (``remove``, relative) go, and the
    named conda and PyPI packages are linked again from clean cache entries."""
    progress = progress or Progress(quiet=True)
    lock = Lock.read(env.lock_file)
    packages = lock.for_platform(host_platform())
    lock_file = store.in_use_lock(env.path, lock.full_id)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with inuse.exclusive(lock_file):
        for rel in remove:
            path = env.path / rel
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.exists():
                remove_tree(path)
        if conda:
            conda_side().install_conda(env.path, lock, packages, store, progress, reinstall=conda)
        if pypi:
            _install_pypi(env, packages, store, progress, reinstall=pypi)


def _discard(path: Path) -> None:
    """Remove a failed build. rattler may still be linking in background threads after it
    raised, so retry until the directory stays gone; a leftover is only ever incomplete."""
    for _ in range(50):
        try:
            remove_tree(path)
        except OSError:
            pass
        time.sleep(0.05)
        if not path.exists():
            return


def _size(path: Path) -> int:
    """Apparent size of the files under ``path`` (symlinks not followed)."""
    return sum(e.stat.st_size for e in walk_tree(path) if e.kind != "dir")

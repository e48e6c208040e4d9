"""The Python API: thin compositions of spec -> resolve -> lock -> store -> hydrate -> run."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from amber._platform import host_platform
from amber._progress import Progress
from amber.errors import AmberError, EnvNotFoundError, SpecError
from amber.lock import Lock, is_amber_lock, is_lock_file
from amber.run import _hotpath
from amber.run._hotpath import DEFAULT_FILES, LOCK_NAME
from amber.spec import Spec, read_spec
from amber.store import Store
from amber.store.env import Env
from amber.store.refs import mutable_tags, parse_tag

__all__ = [
    "lock",
    "ensure_lock",
    "install",
    "find_env",
    "remove_env",
    "env_for_file",
    "load",
    "add",
    "lock_of",
    "check_lock",
    "merge_lock",
    "split_conflict",
    "merge_driver",
    "LockCheckFailed",
    "configured_remote",
    "fetch_hook",
    "lock_for_ref",
    "pull",
    "parse_tag",
    "tag_env",
    "resolve_ref",
    "mutable_tags",
    "find_run",
    "env_of_step",
    "describe_steps",
    "DEFAULT_FILES",
]


def load(path: Path, *, python: str | None = None) -> Spec | Lock:
    """A spec file becomes a ``Spec``; an amber lock, or an already-resolved file of another
    tool (explicit, conda-lock.yml, pixi.lock, pylock.toml, hashed requirements), a ``Lock``."""
    from amber import formats

    path = Path(path)
    if not path.is_file():
        raise SpecError("no such file", path)
    if is_amber_lock(path):
        return Lock.read(path)
    resolved = formats.detect(path)
    if resolved is not None:
        return formats.read_resolved(path, resolved)
    if is_lock_file(path):
        return Lock.read(path)
    return read_spec(path, python=python)


def lock(
    spec: Spec,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    previous: Lock | None = None,
    update: Sequence[str] = (),
) -> Lock:
    """Resolve ``spec`` and keep the lock in the store as the newest for its ``req_id``.

    With ``previous``, its pins are kept wherever the spec allows, except for the
    packages named in ``update`` (and what they force).
    """
    from amber.resolve import ResolveCaches, resolve

    store = store or Store()
    if update:
        _check_update_names(previous, update)
    caches = ResolveCaches(store.repodata, store.uv_cache, store.conda_pkgs)
    result = resolve(spec, caches, progress, previous=previous, update=update)
    store.save_lock(result.dumps(), result.req_id, result.full_id)
    return result


def _check_update_names(previous: Lock | None, names: Sequence[str]) -> None:
    from packaging.utils import canonicalize_name

    if previous is None:
        raise AmberError("--update needs an existing lock to update: run `amber lock` first")
    locked = {
        str(canonicalize_name(p.name))
        for body in previous.platforms.values()
        for p in (*body.conda, *body.pypi)
    }
    missing = [n for n in names if str(canonicalize_name(n)) not in locked]
    if missing:
        raise AmberError(f"not in the lock, so nothing to update: {', '.join(missing)}")


class LockCheckFailed(AmberError):
    """`amber lock --check` found the lock stale or inconsistent (exit 1)."""

    exit_code = 1


def check_lock(spec: Spec, lock_path: Path) -> Lock:
    """The lock at ``lock_path`` if it is current for ``spec``; ``LockCheckFailed`` says why not.

    No solve: compares the canonical spec and checks every request against the pins.
    """
    from amber.errors import LockFileError

    if not lock_path.is_file():
        raise LockCheckFailed(f"{lock_path}: no lock file; create it with `amber lock`")
    try:
        existing = Lock.read(lock_path)
    except LockFileError as exc:
        raise LockCheckFailed(f"inconsistent: {exc}") from None
    spec = as_locked(spec, existing)
    if existing.req_id != spec.req_id:
        wanted, had = spec.canonical(), existing.spec.canonical()
        fields = sorted(k for k in {*wanted, *had} if wanted.get(k) != had.get(k))
        raise LockCheckFailed(
            f"{lock_path} is stale: {spec} changed since the lock was made "
            f"({', '.join(fields) or 'spec'} differ); re-lock with `amber lock`"
        )
    problems = _unsatisfied(spec, existing)
    if problems:
        raise LockCheckFailed(f"{lock_path} is inconsistent with {spec}: " + "; ".join(problems))
    return existing


def _unsatisfied(spec: Spec, existing: Lock) -> list[str]:
    """Requests that the locked packages do not satisfy, per platform."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from rattler import MatchSpec

    problems = []
    for platform, body in sorted(existing.platforms.items()):
        records = [c.to_record() for c in body.conda]
        for text in spec.conda:
            if not any(r.matches(MatchSpec(text)) for r in records):
                problems.append(f"{platform}: no locked package satisfies '{text}'")
        versions = {p.name: p.version for p in body.pypi}
        for text in spec.pypi:
            req = Requirement(text)
            name = str(canonicalize_name(req.name))
            if name in body.provided:
                continue
            if name not in versions:
                if req.marker is None:
                    problems.append(f"{platform}: '{name}' is not locked")
            elif not req.specifier.contains(versions[name], prereleases=True):
                problems.append(f"{platform}: locked {name} {versions[name]} violates '{text}'")
    return problems


def merge_lock(
    spec: Spec, conflicted: Path, store: Store | None = None, progress: Progress | None = None
) -> tuple[Lock, Lock]:
    """(ours, merged): a lock file with git conflict markers re-created for ``spec``.

    Pins both sides agree on are kept; only what differs is resolved again.
    """
    from amber.errors import LockFileError
    from amber.lock import PlatformLock

    text = conflicted.read_text(encoding="utf-8")
    if "\n<<<<<<<" not in "\n" + text:
        # git merged the text cleanly: keep what that lock pins where it is still valid.
        try:
            merged_text = Lock.loads(text, conflicted)
        except LockFileError:
            merged_text = None
        base = as_locked(spec, merged_text) if merged_text else spec
        return merged_text or lock(base, store, progress), lock(
            base, store, progress, previous=merged_text
        )
    ours_text, theirs_text = split_conflict(text, conflicted)
    ours, theirs = (
        Lock.loads(ours_text, f"{conflicted} (ours)"),
        Lock.loads(theirs_text, f"{conflicted} (theirs)"),
    )
    agreed = {}
    for platform, body in ours.platforms.items():
        other = theirs.platforms.get(platform)
        if other is None:
            continue
        agreed[platform] = PlatformLock(
            platform=platform,
            python=body.python,
            conda=tuple(set(body.conda) & set(other.conda)),
            pypi=tuple(set(body.pypi) & set(other.pypi)),
        )
    both = Lock(spec=ours.spec, req_id=ours.req_id, platforms=agreed)
    return ours, lock(as_locked(spec, ours), store, progress, previous=both)


def merge_driver(base: Path, ours: Path, theirs: Path, store: Store | None = None) -> Lock:
    """git's merge driver for amber.lock: three-way merge of the specs the three locks record,
    then a resolve that keeps every pin both sides agree on. Writes the result to ``ours``.

    It needs nothing but the three files git hands it, since git runs drivers before it
    writes the merged spec file."""
    from amber.lock import PlatformLock

    b, o, t = (Lock.read(p) for p in (base, ours, theirs))
    fields: dict[str, object] = {}
    specs = [x.spec.canonical() for x in (b, o, t)]
    for key in {*specs[0], *specs[1], *specs[2]} - {"schema"}:
        old, mine, other = (s.get(key) for s in specs)
        if isinstance(mine, list) or isinstance(other, list):
            old, mine, other = list(old or []), list(mine or []), list(other or [])
            kept = [x for x in mine if x in other or x not in old]
            fields[key] = kept + [x for x in other if x not in old and x not in kept]
        elif mine == other or other == old:
            fields[key] = mine
        elif mine == old:
            fields[key] = other
        else:
            raise AmberError(f"both sides changed the spec's {key!r} differently: merge by hand")
    spec = Spec.create(**fields)  # type: ignore[arg-type]
    agreed = {
        name: PlatformLock(
            platform=name,
            conda=tuple(set(body.conda) & set(t.platforms[name].conda)),
            pypi=tuple(set(body.pypi) & set(t.platforms[name].pypi)),
        )
        for name, body in o.platforms.items()
        if name in t.platforms
    }
    previous = Lock(spec=o.spec, req_id=o.req_id, platforms=agreed)
    result = lock(spec, store, previous=previous)
    result.write(ours)
    return result


def split_conflict(text: str, source: object = "<lock>") -> tuple[str, str]:
    """(ours, theirs) texts of a file with git conflict markers (merge or diff3 style)."""
    ours: list[str] = []
    theirs: list[str] = []
    state = "both"
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<<"):
            state = "ours"
        elif line.startswith("|||||||") and state == "ours":
            state = "base"
        elif line.startswith("=======") and state in ("ours", "base"):
            state = "theirs"
        elif line.startswith(">>>>>>>") and state == "theirs":
            state = "both"
        else:
            if state in ("both", "ours"):
                ours.append(line)
            if state in ("both", "theirs"):
                theirs.append(line)
    if state != "both":
        raise SpecError("unterminated git conflict marker", source)
    if ours == theirs:
        raise SpecError("no git conflict markers found: nothing to merge", source)
    return "".join(ours), "".join(theirs)


def as_locked(spec: Spec, existing: Lock) -> Spec:
    """``spec`` with the lock's platforms and as-of where the spec file leaves them open
    (they may come from `amber lock --platform/--as-of`, recorded in the lock)."""
    if not spec.platforms and existing.spec.platforms:
        spec = spec.with_platforms(existing.spec.platforms)
    if not spec.as_of and existing.spec.as_of:
        spec = spec.with_as_of(existing.spec.as_of)
    return spec


def add(
    path: Path,
    requirement: str,
    *,
    pypi: bool,
    python: str | None = None,
    store: Store | None = None,
    progress: Progress | None = None,
) -> tuple[Lock | None, Lock, Path]:
    """Add a requirement to a spec file and re-lock with the fewest changes.

    Returns (the lock before, the lock after, where it was written). If the new
    request cannot be resolved, the spec file is restored as it was.
    """
    from amber._fs import write_atomic
    from amber.spec.edit import add_to_spec_file

    path = Path(path)
    before = read_spec(path, python=python)
    beside = beside_lock(before)
    previous = None
    if beside is not None and beside.is_file():
        previous = Lock.read(beside)
    original = path.read_bytes()
    add_to_spec_file(path, requirement, pypi=pypi)
    try:
        spec = read_spec(path, python=python)
        if previous is not None:
            spec = as_locked(spec, previous)
        result = lock(spec, store, progress, previous=previous)
        target = beside or path.parent / LOCK_NAME
        result.write(target)
    except BaseException:
        write_atomic(path, original.decode("utf-8"))  # nothing half-done: the spec as it was
        raise
    return previous, result, target


def lock_of(ref: str, store: Store | None = None) -> Lock:
    """A lock from a lock file path, or the lock of an env (full_id, prefix, name, path)."""
    path = Path(ref)
    if path.is_file():
        return Lock.read(path)
    return Lock.read(find_env(ref, store).lock_file)


def beside_lock(spec: Spec) -> Path | None:
    return spec.source.parent / LOCK_NAME if spec.source else None


def ensure_lock(
    spec_or_lock: Spec | Lock, store: Store | None = None, progress: Progress | None = None
) -> Lock:
    """A lock for the spec: the ``amber.lock`` beside it if current, the store's, or a new one."""
    if isinstance(spec_or_lock, Lock):
        return spec_or_lock
    spec, store = spec_or_lock, store or Store()
    beside = beside_lock(spec)
    if beside is not None and beside.is_file():
        existing = Lock.read(beside)
        if as_locked(spec, existing).req_id == existing.req_id:
            return existing
    stored = store.latest_lock(spec.req_id)
    if stored is not None:
        return Lock.read(stored)
    return lock(spec, store, progress)


def install(
    spec_or_lock: Spec | Lock | Path | str,
    store: Store | None = None,
    progress: Progress | None = None,
) -> Env:
    """Hydrate (or reuse) the env of a spec, a lock or a file holding either."""
    from amber.hydrate import hydrate

    store = store or Store()
    if isinstance(spec_or_lock, (str, Path)):
        spec_or_lock = load(Path(spec_or_lock))
    if isinstance(spec_or_lock, Spec) and not spec_or_lock.is_conda:
        from amber._python import find_interpreter

        find_interpreter(spec_or_lock.python_version)  # say so before resolving anything
    the_lock = ensure_lock(spec_or_lock, store, progress)
    name = spec_or_lock.name if isinstance(spec_or_lock, Spec) else None
    return hydrate(the_lock, store, name=name, progress=progress, fetch=fetch_hook(store, progress))


def install_bundle(
    path: Path, store: Store | None = None, progress: Progress | None = None
) -> list[Env]:
    """Hydrate every env of a bundle (``amber pack --packages``) from the archives in it:
    no channel, index or network needed."""
    from amber.hydrate import hydrate
    from amber.ship.bundle import import_bundle

    store = store or Store()
    locks = import_bundle(Path(path), store, host_platform(), progress)
    return [hydrate(lock, store, progress=progress) for lock in locks]


# -- `amber run -f FILE`: remembered by the digest of its bytes ----------------------


def env_for_file(
    path: Path,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    python: str | None = None,
) -> Env:
    """The env for a spec or lock file. Seen before with the same bytes: a lookup, nothing else."""
    path = Path(path)
    store = store or Store()
    try:
        key = _hotpath.file_key(path, host_platform(), python)
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", path) from None
    env = _hotpath.recall(store, key)
    if env is not None:
        return env
    if _hotpath.is_bundle(path):
        envs = install_bundle(path, store, progress)
        if len(envs) != 1:
            raise AmberError(
                f"{path} holds {len(envs)} envs: `amber install {path}` hydrates them all; "
                "then choose one with `amber run --env ID`"
            )
        store.remember_spec_file(key, Lock.read(envs[0].lock_file).req_id, envs[0].full_id, {})
        return envs[0]
    loaded = load(path, python=python)
    env = install(loaded, store, progress)
    includes = loaded.files[1:] if isinstance(loaded, Spec) else ()
    req_id = loaded.req_id
    store.remember_spec_file(
        key, req_id, env.full_id, {str(f): _hotpath.digest(f) for f in includes}
    )
    return env


# -- envs by reference --------------------------------------------------------


def configured_remote(url: str | None = None):  # -> Remote | None
    """The remote store given (``--remote``) or configured (``$AMBER_REMOTE``), if any."""
    import os

    url = url or os.environ.get("AMBER_REMOTE")
    if not url:
        return None
    from amber.remote import Remote

    return Remote.open(url)


def fetch_hook(store: Store, progress: Progress | None = None, url: str | None = None):
    """hydrate's ``fetch``: packages from the configured remote store, if there is one."""
    remote = configured_remote(url)
    return remote.fetch_into(store, progress) if remote is not None else None


def lock_for_ref(ref: str, store: Store | None = None) -> Lock:
    """The lock an env reference names, without hydrating: a lock file, NAME[:TAG], a
    full_id or a unique prefix of an env's or a stored lock's id."""
    store = store or Store()
    path = Path(ref)
    if path.is_file():
        loaded = load(path)
        return loaded if isinstance(loaded, Lock) else ensure_lock(loaded, store)
    full_id = resolve_ref(ref, store)
    if full_id is None:
        full_id = find_env(ref, store).full_id
    found = store.find_lock(full_id)
    if found is None:
        raise EnvNotFoundError(f"the lock of {ref} ({full_id[:12]}) is not in this store")
    return Lock.read(found)


def pull(ref: str, store: Store | None = None, progress: Progress | None = None,
         url: str | None = None) -> Env:  # fmt: skip
    """Fetch NAME:TAG (or a full_id) from the remote store and hydrate it from there."""
    from amber.hydrate import hydrate
    from amber.remote import Remote

    store = store or Store()
    remote = Remote.open(url)
    lock = remote.pull(ref, store, mutable_tags=mutable_tags())
    return hydrate(lock, store, progress=progress, fetch=remote.fetch_into(store, progress))


def tag_env(env: Env, ref: str, store: Store | None = None) -> tuple[str, str]:
    """Name an env ``NAME:TAG``. Tags other than the mutable ones never move."""
    store = store or Store()
    name, tag = parse_tag(ref)
    current = store.tagged(name, tag)
    if current and current != env.full_id and tag not in mutable_tags():
        raise AmberError(
            f"{name}:{tag} already names env {current[:12]}; tags are immutable (except "
            f"{', '.join(sorted(mutable_tags()))}): choose another tag"
        )
    store.tag(name, tag, env.full_id)
    return name, tag


def resolve_ref(ref: str, store: Store | None = None) -> str | None:
    """The full_id a ``NAME[:TAG]`` reference names in the local index, if any."""
    store = store or Store()
    if ":" not in ref and not store.tags(ref):
        return None
    try:
        name, tag = parse_tag(ref)
    except AmberError:
        return None
    return store.tagged(name, tag)


def find_env(ref: str, store: Store | None = None) -> Env:
    """An existing env by NAME:TAG, NAME (= NAME:latest), full_id (or a unique prefix of
    one), spec name, or path. A tagged env that is not hydrated here is hydrated from its lock."""
    from amber.hydrate import hydrate

    store = store or Store()
    tagged = resolve_ref(ref, store)
    if tagged is None and ":" in ref and configured_remote() is not None:
        return pull(ref, store)  # a tag known only to the remote store
    if tagged is not None:
        env = Env(tagged, store.env_path(tagged))
        if env.is_complete():
            return env
        lock_path = store.find_lock(tagged)
        if lock_path is not None:
            return hydrate(Lock.read(lock_path), store, fetch=fetch_hook(store))
        if configured_remote() is not None:
            return pull(tagged, store)
        raise EnvNotFoundError(f"{ref} names env {tagged[:12]}, whose lock is not in this store")
    matches = store.envs_matching(ref)
    if not matches and Path(ref).is_dir():
        resolved = Path(ref).resolve()
        matches = [e for e in store.envs() if e.path.resolve() == resolved]
    complete = {m.full_id: m for m in matches if Env(m.full_id, m.path).is_complete()}
    if not complete and Path(ref).is_dir():
        unpacked = Env.at(Path(ref))  # an env directory outside the store
        if unpacked is not None:
            return unpacked
    if len(complete) == 1:
        record = next(iter(complete.values()))
        return Env(record.full_id, record.path)
    if not complete:
        raise EnvNotFoundError(
            f"no environment matches '{ref}': `amber env list` shows the ones that exist"
        )
    listing = ", ".join(sorted(m[:12] for m in complete))
    raise EnvNotFoundError(f"'{ref}' matches several environments ({listing}): give more of the id")


def remove_env(env: Env, store: Store | None = None) -> None:
    """Delete an env's directory and its index entry; refused while a process uses it."""
    import fcntl

    from amber._fs import remove_tree
    from amber.errors import AmberError

    store = store or Store()
    lock_path = store.env_lock_path(env.full_id)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AmberError(
                f"the env {env.full_id[:12]} is in use by a running process; try again later"
            ) from None
        # Unmark first: a crash halfway leaves an incomplete env, never a broken "complete" one.
        env.marker.unlink(missing_ok=True)
        remove_tree(env.path)
    store.forget_env(env.full_id)


# -- runs and steps ---------------------------------------------------------------


def find_run(ref: str, store: Store | None = None):  # -> RunRecord
    """A recorded run by id or a unique prefix of one."""
    from amber.errors import AmberError

    runs = (store or Store()).runs(ref)
    if len(runs) == 1:
        return runs[0]
    if not runs:
        raise AmberError(f"no run matches '{ref}': `amber runs list` shows the recorded runs")
    listing = ", ".join(r.run_id for r in runs[:5])
    raise AmberError(f"'{ref}' matches several runs ({listing}): give more of the id")


def env_of_step(
    run_ref: str, step: str, store: Store | None = None, progress: Progress | None = None
) -> Env:
    """The exact env a step of a past run used, hydrated again if it is gone."""
    from amber.errors import AmberError
    from amber.hydrate import hydrate

    store = store or Store()
    try:
        run = find_run(run_ref, store)
    except AmberError:
        remote = configured_remote()
        run = remote.fetch_run(run_ref) if remote is not None else None
        if run is None:
            raise
    calls = [s for s in run.steps if s.step == step or s.step.rsplit(".", 1)[-1] == step]
    if not calls:
        names = ", ".join(sorted({s.step for s in run.steps})) or "none"
        raise AmberError(f"run {run.run_id} has no step '{step}' (its steps: {names})")
    full_id = calls[-1].full_id
    path = store.find_lock(full_id)
    remote = configured_remote()
    if path is not None:
        the_lock = Lock.read(path)
    elif remote is not None:
        the_lock = remote.fetch_lock(full_id)
        store.save_lock(the_lock.dumps(), the_lock.req_id, the_lock.full_id)
    else:
        raise AmberError(
            f"the lock of env {full_id[:12]} is not in this store: it cannot be re-created here "
            "(with a remote store configured, AMBER_REMOTE, it is fetched from there)"
        )
    return hydrate(the_lock, store, progress=progress, fetch=fetch_hook(store, progress))


def describe_steps(
    module: Path, store: Store | None = None, *, prepare: bool = False, quiet: bool = False
) -> list[dict[str, object]]:
    """The steps defined in a Python file, with their env ids (prepared if asked)."""
    import importlib.util

    from amber.pipeline import steps as steps_mod

    store = store or Store()
    module = Path(module).resolve()
    spec = importlib.util.spec_from_file_location(f"_amber_steps_{module.stem}", module)
    if spec is None or spec.loader is None:
        raise SpecError("not a Python module", module)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(module.parent))
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    except AmberError:
        raise
    except Exception as exc:
        raise SpecError(f"importing it failed: {type(exc).__name__}: {exc}", module) from None
    found = [v for v in vars(mod).values() if isinstance(v, steps_mod.Step)]
    if prepare and found:
        steps_mod.prepare(*found, quiet=quiet)
    rows = []
    for s in found:
        if s.spec is None:
            env = find_env(s._env_ref or "", store)
            rows.append({"step": s.name, "req_id": None, "full_id": env.full_id, "hydrated": True})
            continue
        stored = store.latest_lock(s.spec.req_id)
        full_id = Lock.read(stored).full_id if stored else None
        hydrated = bool(full_id) and Env(full_id, store.env_path(full_id)).is_complete()
        rows.append(
            {"step": s.name, "req_id": s.spec.req_id, "full_id": full_id, "hydrated": hydrated}
        )
    return rows

"""Envs: install (or reuse) them, find them by reference, tag, pull and remove them."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from amber import _hot
from amber._platform import host_platform
from amber._progress import Progress
from amber._python import find_interpreter
from amber.api.policy import enforce, policy_for
from amber.api.session import Session, using
from amber.errors import (
    AmberError,
    EnvNotFoundError,
    InterpreterNotFoundError,
    SpecError,
    TagConflictError,
)
from amber.lock import Lock, is_amber_lock
from amber.run import _hotpath
from amber.settings import Settings
from amber.spec import Spec
from amber.store import Store, inuse
from amber.store.env import Env
from amber.store.refs import parse_tag, split_ref

if TYPE_CHECKING:
    from amber.remote import Remote
    from amber.store.fetch import Package

# Looking envs up (find, tag, remove: most commands) must not load the solver stack:
# what resolves, hydrates or reaches a remote store is imported where it is used.

__all__ = [
    "install",
    "install_bundle",
    "env_for_file",
    "configured_remote",
    "fetch_hook",
    "lock_for_ref",
    "lock_for_name",
    "lock_of",
    "pull",
    "tag_env",
    "tag_lock",
    "author",
    "resolve_ref",
    "find_env",
    "remove_env",
    "mutable_tags",
]


def install(
    spec_or_lock: Spec | Lock | Path | str,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    session: Session | None = None,
    prefix: Path | None = None,
) -> Env:
    """Hydrate (or reuse) the env of a spec, a lock or a file holding either; with
    ``prefix`` (conda's ``-p``, environment.yml's ``prefix:``), at that path."""
    from amber.hydrate import hydrate  # noqa: PLC0415 - see the top

    s = using(session, store, progress)
    near = Path(spec_or_lock) if isinstance(spec_or_lock, (str, Path)) else None
    if isinstance(spec_or_lock, (str, Path)):
        spec_or_lock = _load(Path(spec_or_lock), s)
    if isinstance(spec_or_lock, Lock):
        the_lock = spec_or_lock  # nothing to resolve: the solver stack is never imported
    else:
        from amber.api.locking import ensure_lock  # noqa: PLC0415 - see the top

        if not spec_or_lock.is_conda and spec_or_lock.python:
            find_interpreter(spec_or_lock.python_version)  # say so before resolving anything
        the_lock = ensure_lock(spec_or_lock, session=s)
    if near is None and isinstance(spec_or_lock, Spec):
        near = spec_or_lock.source
    enforce(s, the_lock, near)  # a lock the policy forbids is refused, with every finding
    _check_interpreter(the_lock, spec_or_lock)
    _keep(the_lock, s.store)  # a committed lock: push, pack and gc need it in the store
    name = spec_or_lock.name if isinstance(spec_or_lock, Spec) else None
    return hydrate(
        the_lock,
        s.store,
        name=name,
        progress=s.progress,
        fetch=s.fetch_hook(s.progress),
        prefix=prefix,
    )


def _load(
    path: Path, session: Session, python: str | None = None, environment: str | None = None
) -> Spec | Lock:
    """``api.locking.load``, but an amber lock is read without importing the solver stack."""
    if os.path.isfile(path) and is_amber_lock(path):
        return Lock.read(path).located(path.parent)
    from amber.api.locking import load  # noqa: PLC0415 - see the top

    return load(path, python=python, session=session, environment=environment)


def _check_interpreter(lock: Lock, asked: Spec | Lock) -> None:
    """A PyPI-only lock runs on the interpreter it was made for: say clearly when this
    machine lacks it (the lock may come from a colleague's Amber on another Python)."""
    if lock.is_conda or not lock.spec.python:
        return
    try:
        find_interpreter(lock.spec.python)
    except InterpreterNotFoundError as exc:
        where = asked.source if isinstance(asked, Spec) and asked.source else None
        named = (
            f"the lock of {where} ({where.parent / _hotpath.LOCK_NAME})" if where else "the lock"
        )
        raise InterpreterNotFoundError(
            f"{named} was made for Python {lock.spec.python}: {exc} Or re-lock for another "
            f"version with `amber lock --python X.Y`.",
            version=lock.spec.python,
        ) from None


def install_bundle(
    path: Path,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    session: Session | None = None,
) -> list[Env]:
    """Hydrate every env of a bundle (``amber pack --packages``) from the archives in it:
    no channel, index or network needed."""
    from amber.hydrate import hydrate  # noqa: PLC0415 - see the top
    from amber.ship.bundle import read_bundle  # noqa: PLC0415 - see the top

    s = using(session, store, progress)
    bundle = read_bundle(Path(path), s.store, host_platform(), s.progress)
    envs = []
    for lock in bundle.locks:
        _keep(lock, s.store)
        envs.append(hydrate(lock, s.store, progress=s.progress))
    for name, tag, full_id in bundle.tags:
        current = s.store.tagged(name, tag)
        if current is None:
            s.store.tag(name, tag, full_id)
        elif current != full_id:
            s.progress.message(
                f"note: {name}:{tag} already names env {current[:12]} here; the bundle's "
                f"{name}:{tag} (env {full_id[:12]}) was not tagged: `amber env tag "
                f"{full_id[:12]} {name}:NEWTAG` names it"
            )
    return envs


def _keep(lock: Lock, store: Store) -> None:
    """The lock of an env in the store (once): every env's lock is there to be found."""
    if store.find_lock(lock.full_id) is None:
        store.save_lock(lock.dumps(), lock.req_id, lock.full_id)


# -- `amber run -f FILE`: remembered by the digest of its bytes ----------------------


def env_for_file(
    path: Path,
    store: Store | None = None,
    progress: Progress | None = None,
    *,
    python: str | None = None,
    session: Session | None = None,
    loaded: Spec | Lock | None = None,
    environment: str | None = None,
) -> Env:
    """The env for a spec or lock file. Seen before with the same bytes: a lookup, nothing else
    (``loaded``: the file, already read)."""
    path = Path(path)
    s = using(session, store, progress)
    seen = _hotpath.before_reading(path)  # for `amber run`'s next lookup (amber._hot)
    try:
        key = _hotpath.file_key(path, host_platform(), python, environment)
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", path) from None
    env = _hotpath.recall(s.store, key, seen)
    policy = policy_for(s, path) if env is not None else None
    if env is not None and policy is not None:
        enforce(s, Lock.read(env.lock_file), path)
    if env is not None:
        # amber._hot knows no --environment (only the default's), and can't watch a policy
        # at a URL: the full path reads it at every run.
        if environment is None and (policy is None or policy.local):
            _hotpath.remember_hot(s.store, path, python, env, seen)
        return env
    if _hotpath.is_bundle(path):
        envs = install_bundle(path, session=s)
        if len(envs) != 1:
            raise AmberError(
                f"{path} holds {len(envs)} envs: `amber install {path}` hydrates them all; "
                "then choose one with `amber run --env ID`"
            )
        s.store.remember_spec_file(key, Lock.read(envs[0].lock_file).req_id, envs[0].full_id, {})
        _hotpath.remember_hot(s.store, path, python, envs[0], seen)
        return envs[0]
    if loaded is None:
        loaded = _load(path, s, python, environment)
    if isinstance(loaded, Lock):
        enforce(s, loaded, path)
    includes = list(loaded.files[1:]) if isinstance(loaded, Spec) else []
    if path.name == "pyproject.toml":  # a uv project: its uv.lock decides what the env holds
        from amber.api.locking import uv_lock_beside  # noqa: PLC0415 - see the top

        uv_lock = uv_lock_beside(path)
        if uv_lock is not None:
            includes.append(uv_lock)
    seen += _hot.fingerprints([str(f) for f in includes])
    env = install(loaded, session=s)
    watched = {str(f): _hotpath.digest(f) for f in includes}
    # The policy it was checked against: its files are watched as the spec's own (a policy
    # at a URL can't be: its "digest" never matches, and the full path reads it each time).
    policy = policy_for(s, path)
    inputs = policy.inputs if policy is not None else ()
    watched.update((where, sha256) for where, _, sha256 in inputs)
    seen += [(where, fingerprint) for where, fingerprint, _ in inputs if fingerprint]
    s.store.remember_spec_file(key, loaded.req_id, env.full_id, watched)
    if environment is None and (policy is None or policy.local):  # see above
        _hotpath.remember_hot(s.store, path, python, env, seen)
    return env


# -- envs by reference --------------------------------------------------------


def configured_remote(url: str | None = None) -> Remote | None:
    """The remote store given (``--remote``) or configured (``$AMBER_REMOTE``), if any."""
    from amber.remote import Remote  # noqa: PLC0415 - see the top

    url = url or Settings.from_environ().remote_url
    return Remote.open(url) if url else None


def fetch_hook(
    store: Store, progress: Progress | None = None, url: str | None = None
) -> Callable[[list[Package]], None] | None:
    """hydrate's ``fetch``: packages from the configured remote store, if there is one."""
    remote = configured_remote(url)
    return remote.fetch_into(store, progress) if remote is not None else None


def mutable_tags() -> tuple[str, ...]:
    """Tags that may move: ``$AMBER_MUTABLE_TAGS`` (comma-separated) or the defaults."""
    return Settings.from_environ().mutable_tags


def lock_of(ref: str, store: Store | None = None, *, session: Session | None = None) -> Lock:
    """A lock from a lock file path, or the lock of an env (full_id, prefix, name, path)."""
    path = Path(ref)
    if os.path.isfile(path):
        return Lock.read(path)
    return Lock.read(find_env(ref, session=using(session, store)).lock_file)


def lock_for_ref(ref: str, store: Store | None = None, *, session: Session | None = None) -> Lock:
    """The lock an env reference names, without hydrating: a lock file, NAME[:TAG], a
    full_id or a unique prefix of an env's or a stored lock's id."""
    from amber.api.locking import ensure_lock, load  # noqa: PLC0415 - see the top

    s = using(session, store)
    path = Path(ref)
    if os.path.isfile(path):
        loaded = load(path, session=s)
        return loaded if isinstance(loaded, Lock) else ensure_lock(loaded, session=s)
    full_id = resolve_ref(ref, session=s)
    if full_id is None:
        full_id = find_env(ref, session=s).full_id
    found = s.store.find_lock(full_id)
    if found is None:
        unpacked = Env.at(path) if path.is_dir() else None
        if unpacked is not None and unpacked.full_id == full_id and unpacked.lock_file.is_file():
            return _own_lock(unpacked)  # an env dir `amber unpack` made: its lock is inside
        raise EnvNotFoundError(f"the lock of {ref} ({full_id[:12]}) is not in this store", ref=ref)
    return Lock.read(found)


def lock_for_name(ref: str, store: Store | None = None, *, session: Session | None = None) -> Lock:
    """The lock the tag ``NAME[:TAG]`` names: in this store, else fetched (the lock alone,
    and its tag) from the remote store; nothing is hydrated."""
    s = using(session, store)
    name, tag = parse_tag(ref)
    full_id = s.store.tagged(name, tag)
    if full_id is not None and (found := s.store.find_lock(full_id)) is not None:
        return Lock.read(found)
    if s.remote is None:
        raise EnvNotFoundError(
            f"no tag {name}:{tag} here, and no remote store to look in (set AMBER_REMOTE): "
            "`amber env tags` lists the tags here",
            ref=ref,
        )
    return s.remote.pull(full_id or ref, s.store, mutable_tags=s.settings.mutable_tags)


def _own_lock(env: Env) -> Lock:
    """The lock an env directory holds (``.amber/amber.lock``), if it is that env's."""
    lock = Lock.read(env.lock_file)
    if lock.full_id != env.full_id:
        raise EnvNotFoundError(
            f"{env.lock_file} is the lock of {lock.full_id[:12]}, not of the env "
            f"{env.full_id[:12]} in {env.path}",
            ref=str(env.path),
        )
    return lock


def pull(
    ref: str,
    store: Store | None = None,
    progress: Progress | None = None,
    url: str | None = None,
    *,
    session: Session | None = None,
) -> Env:
    """Fetch NAME:TAG (or a full_id) from the remote store and hydrate it from there."""
    from amber.hydrate import hydrate  # noqa: PLC0415 - see the top
    from amber.remote import Remote  # noqa: PLC0415 - see the top

    s = using(session, store, progress)
    remote = Remote.open(url or s.remote_url)
    lock = remote.pull(ref, s.store, mutable_tags=s.settings.mutable_tags)
    return hydrate(lock, s.store, progress=s.progress, fetch=remote.fetch_into(s.store, s.progress))


def tag_env(
    env: Env, ref: str, store: Store | None = None, *, session: Session | None = None
) -> tuple[str, str]:
    """Name an env ``NAME:TAG``. Tags other than the mutable ones never move."""
    s = using(session, store)
    name, tag = parse_tag(ref)
    _check_free(s, name, tag, env.full_id)
    s.store.tag(name, tag, env.full_id, author(s.settings))
    return name, tag


def tag_lock(
    lock: Lock, refs: Sequence[str], store: Store | None = None, *, session: Session | None = None
) -> list[tuple[str, str]]:
    """Name the env of ``lock`` by each of ``refs`` (``amber lock --tag``): its lock is kept
    in the store, so that `amber run --env NAME` hydrates it on first use. Every tag is
    checked before any is written."""
    s = using(session, store)
    wanted = [parse_tag(r) for r in refs]
    for name, tag in wanted:
        _check_free(s, name, tag, lock.full_id)
    _keep(lock, s.store)
    for name, tag in wanted:
        s.store.tag(name, tag, lock.full_id, author(s.settings))
    return wanted


def _check_free(s: Session, name: str, tag: str, full_id: str) -> None:
    """``TagConflictError`` when the immutable ``name:tag`` names another env."""
    mutable = s.settings.mutable_tags
    current = s.store.tagged(name, tag)
    if current and current != full_id and tag not in mutable:
        raise TagConflictError(
            f"{name}:{tag} already names env {current[:12]}; tags are immutable (except "
            f"{', '.join(sorted(mutable))}): choose another tag",
            ref=f"{name}:{tag}",
        )


def author(settings: Settings) -> str:
    """Who a tag records as having set it: ``$AMBER_USER``, else ``user@host`` (the host
    is what run records keep)."""
    if settings.user:
        return settings.user
    import getpass  # noqa: PLC0415 - tagging alone needs them
    import socket  # noqa: PLC0415

    try:
        user = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no $USER and no passwd entry
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def resolve_ref(
    ref: str, store: Store | None = None, *, session: Session | None = None
) -> str | None:
    """The full_id a ``NAME[:TAG]`` reference names in the local index, if any."""
    s = using(session, store)
    if ":" not in ref and not s.store.tags(ref):
        return None
    parsed = split_ref(ref)
    return s.store.tagged(*parsed) if parsed is not None else None


def find_env(ref: str, store: Store | None = None, *, session: Session | None = None) -> Env:
    """An existing env by NAME:TAG, NAME (= NAME:latest), full_id (or a unique prefix of
    one), spec name, or path. A tagged env that is not hydrated here is hydrated from its lock."""
    from amber.hydrate import hydrate  # noqa: PLC0415 - see the top

    s = using(session, store)
    store = s.store
    tagged = resolve_ref(ref, session=s)
    if tagged is None and s.remote is not None and _names_a_tag(ref):
        return pull(ref, session=s)  # a tag known only to the remote store
    if tagged is not None:
        env = Env(tagged, store.env_path(tagged))
        if env.is_complete():
            return env
        lock_path = store.find_lock(tagged)
        if lock_path is not None:
            return hydrate(Lock.read(lock_path), store, fetch=s.fetch_hook())
        if s.remote is not None:
            return pull(tagged, session=s)
        raise EnvNotFoundError(
            f"{ref} names env {tagged[:12]}, whose lock is not in this store", ref=ref
        )
    matches = store.envs_matching(ref)
    if not matches and os.path.isdir(Path(ref)):
        resolved = Path(ref).resolve()
        matches = [e for e in store.envs() if e.path.resolve() == resolved]
    complete = {m.full_id: m for m in matches if Env(m.full_id, m.path).is_complete()}
    if not complete and os.path.isdir(Path(ref)):
        unpacked = Env.at(Path(ref))  # an env directory outside the store
        if unpacked is not None:
            return unpacked
    if len(complete) == 1:
        record = next(iter(complete.values()))
        return Env(record.full_id, record.path)
    if not complete:
        raise EnvNotFoundError(
            f"no environment matches '{ref}': `amber env list` shows the ones that exist", ref=ref
        )
    listing = ", ".join(sorted(m[:12] for m in complete))
    raise EnvNotFoundError(
        f"'{ref}' matches several environments ({listing}): give more of the id", ref=ref
    )


def _names_a_tag(ref: str) -> bool:
    """Whether ``ref`` can only be a tag: ``NAME:TAG``, or a ``team/env`` name that is not a
    directory (a bare NAME may be an id prefix or a spec's name)."""
    return split_ref(ref) is not None and (":" in ref or ("/" in ref and not os.path.isdir(ref)))


def remove_env(env: Env, store: Store | None = None, *, session: Session | None = None) -> None:
    """Delete an env's directory and its index entry; refused while a process uses it."""
    inuse.remove_env(env, using(session, store).store)

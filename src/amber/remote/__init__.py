"""A remote store shared across machines and people, at any fsspec URL.

Layout under the URL (``s3://bucket/prefix``, ``gs://``, ``az://``, ``file:///path``)::

    pkgs/<sha256>               package archives, content-addressed (locks know file names)
    locks/<full_id>.lock        lock text
    tags/<name>/<tag>.json      {"full_id", "pushed_at", "host", "by"}  (name: team/project/env)
    runs/<run_id>.json          a run record: its step calls and the env each used

Every object is written whole (one PUT, or a temp file renamed), so a reader
never sees half of one. A push writes packages, then the lock, then its tags:
a lock in the store means its packages are there, and a tag only ever names a
lock that is. Immutable tags are created with a conditional write (S3
``If-None-Match: *``, GCS generation 0, ``link(2)`` on a filesystem): of
concurrent pushes of one tag, exactly one wins. Mutable tags move with a single
whole-object write. Nothing secret is written: credentials come from the usual
chains (for S3: environment, profiles, instance roles; the endpoint from
``AWS_ENDPOINT_URL``), never from or into the store.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import unquote, urlsplit

from amber._fs import umask
from amber._input import shorten
from amber._progress import Progress
from amber._units import human_bytes
from amber._urls import redact
from amber.errors import (
    AmberError,
    EnvNotFoundError,
    HydrateError,
    InvalidNameError,
    LockFileError,
    PackError,
    RemoteError,
    RemoteObjectAbsent,
    TagConflictError,
)
from amber.lock import Lock, LockedConda
from amber.settings import Settings
from amber.store import RunRecord, StepRecord, Store
from amber.store.fetch import Package, download_archives
from amber.store.refs import (
    DEFAULT_MUTABLE,
    NAME,
    TAGS_DIR,
    from_tag_key,
    name_problem,
    parse_prefix,
    parse_tag,
    split_ref,
    tag_key,
    tag_problem,
    under,
)

__all__ = [
    "Remote",
    "TagInfo",
    "PushResult",
    "GcResult",
    "RemoteError",
    "TagConflictError",
    "MUTABLE_TAGS",
]

MUTABLE_TAGS = DEFAULT_MUTABLE
_WORKERS = 8
# Locks, tags and run records are small: a larger object is not one (and is not read whole).
_MAX_DOCUMENT = 64 << 20
_NAME = NAME
_SHA256 = re.compile(r"[0-9a-f]{64}")
_HEX_PREFIX = re.compile(r"[0-9a-f]{6,63}")

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class TagInfo:
    """A tag in the remote store: ``name:tag`` names the env ``full_id``; pushed from
    ``host`` at ``pushed_at`` by ``author`` (None for tags pushed before Amber said who)."""

    name: str
    tag: str
    full_id: str
    pushed_at: float
    host: str
    author: str | None = None

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"


@dataclass(frozen=True)
class PushResult:
    """What a push did: packages uploaded and already there, the lock, the tags written."""

    full_id: str
    uploaded: int
    uploaded_bytes: int
    present: int
    lock_uploaded: bool
    tags: tuple[str, ...]


@dataclass(frozen=True)
class GcResult:
    """What a gc deleted (or, on a dry run, would delete)."""

    locks: tuple[str, ...]
    packages: tuple[str, ...]
    tags: tuple[str, ...]
    freed_bytes: int
    kept_locks: int
    dry_run: bool


def _url_or_environment(url: str | None) -> str:
    """``url``, else ``$AMBER_REMOTE``; an ``AmberError`` when neither is given."""
    url = url or Settings.from_environ().remote_url
    if not url:
        raise AmberError(
            "no remote store: give --remote URL (s3://bucket/prefix, gs://..., az://..., "
            "file:///path) or set AMBER_REMOTE"
        )
    return url


class Remote:
    """A remote store. Cheap to create and picklable: nothing is opened until used."""

    def __init__(self, url: str) -> None:
        self.url = _normalise(url)
        self._objects: _Objects | None = None

    @classmethod
    def open(cls, url: str | None = None) -> Remote:
        """The remote store at ``url`` (default: ``$AMBER_REMOTE``)."""
        return cls(_url_or_environment(url))

    def __repr__(self) -> str:
        return f"<amber remote {redact(self.url)}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.url = state["url"]
        self._objects = None

    @property
    def objects(self) -> _Objects:
        """The storage under the URL, opened on first use."""
        if self._objects is None:
            self._objects = _open_objects(self.url)
        return self._objects

    def where(self, key: str) -> str:
        """The URL of an object, for messages (credentials stripped)."""
        return f"{redact(self.url)}/{key}"

    # -- push ------------------------------------------------------------------------

    def push(
        self,
        lock: Lock,
        store: Store,
        *,
        tags: Sequence[tuple[str, str]] = (),
        progress: Progress | None = None,
        mutable_tags: Sequence[str] = MUTABLE_TAGS,
        verify: bool = False,
        author: str | None = None,
    ) -> PushResult:
        """Upload every package archive of every platform that the remote lacks, then the
        lock, then the tags (immutable ones first: they may refuse).

        Archives come from the store's archive store, downloaded there from their URLs
        when missing. With ``verify``, objects already in the remote are hashed, not only
        sized, and replaced when corrupt. ``author`` (who pushes) is recorded in the tags.
        """

        progress = progress or Progress(quiet=True)
        full_id = lock.full_id
        local = lock.local_projects()
        if local:
            raise PackError(
                f"{full_id[:12]} installs {local[0].name} from the local project "
                f"{local[0].path}{' (editable)' if local[0].editable else ''}, which is not a "
                "package archive the remote store can carry: whoever installs the lock would "
                "need that checkout. Lock a built wheel or a released version instead (a "
                "non-editable requirement), then push."
            )
        mutable = set(mutable_tags)
        for name, tag in tags:
            _check_tag(name, tag)
            # Refuse early rather than upload gigabytes for nothing; the conditional
            # create at the end still decides races.
            if tag not in mutable and (found := self._read_tag(name, tag)) is not None:
                if found.full_id != full_id:
                    raise self._conflict(found, mutable)
        packages = _packages(lock)
        where = redact(self.url)
        lock_key = _lock_key(full_id)
        with self._failing("check", lock_key):
            lock_there = self.objects.size(lock_key) is not None
        if lock_there and not verify:
            # The lock is written only after all its packages, and gc deletes locks before
            # packages: a lock in the store means its packages are there.
            ok = [True] * len(packages)
        else:
            with progress.task(f"Checking {len(packages)} packages in {where}"):
                ok = self._map(lambda p: self._has_package(p, store, verify), packages)
        missing = [p for p, there in zip(packages, ok, strict=True) if not there]
        absent = [p for p in missing if store.find_archive(p.sha256) is None]
        if absent:
            with progress.task(f"Downloading {len(absent)} packages from their channels"):
                download_archives(absent, store)
        sizes = [_archive(store, p).stat().st_size for p in missing]
        if missing:
            description = (
                f"Uploading {len(missing)} packages ({human_bytes(sum(sizes))}) to {where}"
            )
            with progress.task(description):
                self._map(lambda p: self._upload_package(p, store), missing)
        lock_uploaded = not lock_there
        if lock_uploaded:
            with self._failing("write", lock_key):
                self.objects.write(lock_key, lock.dumps().encode())
        ordered = sorted(set(tags), key=lambda t: (t[1] in mutable, t))
        for name, tag in ordered:
            self._write_tag(name, tag, full_id, mutable, author)
        return PushResult(
            full_id=full_id,
            uploaded=len(missing),
            uploaded_bytes=sum(sizes),
            present=len(packages) - len(missing),
            lock_uploaded=lock_uploaded,
            tags=tuple(f"{n}:{t}" for n, t in ordered),
        )

    def _has_package(self, package: Package, store: Store, verify: bool) -> bool:
        key = _package_key(package.sha256)
        with self._failing("check", key):
            size = self.objects.size(key)
        if size is None:
            return False
        if verify:
            return self._remote_digest(key) == package.sha256
        expected = package.size if isinstance(package, LockedConda) else None
        if expected is None and (local := store.find_archive(package.sha256)) is not None:
            expected = local.stat().st_size
        return expected is None or size == expected

    def _remote_digest(self, key: str) -> str:
        with self._failing("read", key):
            digest = hashlib.sha256()
            with self.objects.open_read(key) as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            return digest.hexdigest()

    def _upload_package(self, package: Package, store: Store) -> None:
        path = _archive(store, package)
        with open(path, "rb") as f:
            actual = hashlib.file_digest(f, "sha256").hexdigest()
        if actual != package.sha256:
            # Never publish bytes under a name they don't hash to.
            raise HydrateError(
                f"the archive {path} of {package.file_name} is corrupted (sha256 {actual}, "
                f"the lock expects {package.sha256}): delete it and push again",
                package=package.file_name,
            )
        key = _package_key(package.sha256)
        with self._failing("upload", key):
            self.objects.upload(path, key)

    def _write_tag(
        self, name: str, tag: str, full_id: str, mutable: set[str], author: str | None = None
    ) -> None:
        key = _tag_key(name, tag)
        body: dict[str, object] = {
            "full_id": full_id, "pushed_at": time.time(), "host": socket.gethostname()
        }  # fmt: skip
        if author:
            body["by"] = author
        data = json.dumps(body, sort_keys=True).encode()
        if tag in mutable:
            with self._failing("write", key):
                self.objects.write(key, data)
            return
        for _ in range(3):
            with self._failing("write", key):
                if self.objects.create(key, data):
                    return
            existing = self._read_tag(name, tag)
            if existing is None:
                continue  # deleted between our attempt and our read: try again
            if existing.full_id == full_id:
                return  # the same push again: nothing to do
            raise self._conflict(existing, mutable)
        raise RemoteError(
            f"cannot create the tag {self.where(key)}: it keeps changing", url=self.where(key)
        )

    def _conflict(self, existing: TagInfo, mutable: set[str]) -> TagConflictError:
        return TagConflictError(
            f"{existing} already names env {existing.full_id[:12]} in {redact(self.url)} "
            f"(pushed from {existing.host} at {_when(existing.pushed_at)}); tags never move "
            f"except {', '.join(sorted(mutable))}: push under another tag",
            ref=str(existing),
        )

    # -- pull --------------------------------------------------------------------------

    def resolve(self, ref: str) -> tuple[str, tuple[str, str] | None]:
        """(full_id, (name, tag) or None) for ``NAME:TAG``, ``NAME`` (= ``NAME:latest``),
        a full_id or a unique prefix of one."""
        if _SHA256.fullmatch(ref):
            return ref, None
        parsed = split_ref(ref)
        if parsed is None:
            name, _, tag = ref.partition(":")
            rule = name_problem(name) or tag_problem(tag or "latest")
            raise InvalidNameError(
                f"invalid reference {shorten(ref)!r}: {rule}; use NAME[:TAG] (team/project/env:v1),"
                " a full_id or a prefix of one",
                ref=ref,
                rule=rule,
            )
        name, tag = parsed
        found = self._read_tag(name, tag)
        if found is not None:
            return found.full_id, (name, tag)
        if ":" not in ref and _HEX_PREFIX.fullmatch(ref):
            with self._failing("list", "locks/"):
                ids = sorted(
                    e.key[len("locks/") : -len(".lock")]
                    for e in self.objects.list("locks/")
                    if e.key.endswith(".lock")
                )
            matching = [i for i in ids if i.startswith(ref)]
            if len(matching) == 1:
                return matching[0], None
            if matching:
                listing = ", ".join(m[:12] for m in matching[:5])
                raise EnvNotFoundError(
                    f"'{ref}' matches several envs in {redact(self.url)} ({listing}): "
                    "give more of the id",
                    ref=ref,
                )
        if not self.ls():
            raise EnvNotFoundError(
                f"no tag {name}:{tag} in {redact(self.url)}: it has no tags at all (is the "
                "URL right? push there first with `amber push`)",
                ref=f"{name}:{tag}",
            )
        raise EnvNotFoundError(
            f"no tag {name}:{tag} in {redact(self.url)}: `amber remote ls {name}` lists the "
            "tags there",
            ref=f"{name}:{tag}",
        )

    def fetch_lock(self, full_id: str) -> Lock:
        """The lock stored under ``full_id``, checked to be that env's."""
        key = _lock_key(full_id)
        with self._failing("read", key):
            data = self.objects.read(key)
        if data is None:
            raise EnvNotFoundError(
                f"no lock for env {full_id[:12]} in {redact(self.url)}: push it first "
                "(`amber push`)",
                ref=full_id,
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise LockFileError(
                f"{self.where(key)}: not a lock file (not UTF-8)", path=self.where(key)
            ) from None
        lock = Lock.loads(text, self.where(key))
        if lock.full_id != full_id:
            raise LockFileError(
                f"{self.where(key)} holds the lock of env {lock.full_id[:12]}, not "
                f"{full_id[:12]}: the remote store is corrupted; push the env again",
                path=self.where(key),
            )
        return lock

    def pull(self, ref: str, store: Store, *, mutable_tags: Sequence[str] = MUTABLE_TAGS) -> Lock:
        """Fetch the lock ``ref`` names into ``store`` and record its tag there.

        Packages come later, from ``fetch_into`` as hydrate needs them.
        """
        full_id, tagged = self.resolve(ref)
        lock = self.fetch_lock(full_id)
        if tagged is not None:
            name, tag = tagged
            local = store.tagged(name, tag)
            if local is not None and local != full_id and tag not in mutable_tags:
                raise TagConflictError(
                    f"{name}:{tag} names env {local[:12]} here but {full_id[:12]} in "
                    f"{redact(self.url)}; immutable tags never move: `amber env untag "
                    f"{name}:{tag}` first to take the remote's",
                    ref=f"{name}:{tag}",
                )
        store.save_lock(lock.dumps(), lock.req_id, full_id)
        if tagged is not None:
            found = self._read_tag(*tagged)  # who tagged it there is who tagged it here
            author = found.author if found is not None and found.full_id == full_id else None
            store.tag(*tagged, full_id, author)
        return lock

    def fetch_into(
        self, store: Store, progress: Progress | None = None
    ) -> Callable[[list[Package]], None]:
        """The hook for ``hydrate(fetch=...)``: put the archives the remote has into the
        store's archive store, each checked against its sha256."""
        progress = progress or Progress(quiet=True)

        def fetch(packages: list[Package]) -> None:
            todo = [p for p in _unique(packages) if store.find_archive(p.sha256) is None]
            if not todo:
                return
            with progress.task(f"Fetching {len(todo)} packages from {redact(self.url)}"):
                self._map(lambda p: self._download_package(p, store), todo)

        return fetch

    def _download_package(self, package: Package, store: Store) -> bool:
        key = _package_key(package.sha256)

        limit = package.size if isinstance(package, LockedConda) else None

        def download(tmp: Path) -> None:
            with self._failing("download", key):
                try:
                    source = self.objects.open_read(key)
                except FileNotFoundError:
                    raise RemoteObjectAbsent(key=key) from None
                # Never more bytes than the lock records: a crafted object cannot fill the disk.
                with source, open(tmp, "wb") as out:
                    copied = 0
                    while chunk := source.read(1 << 20):
                        copied += len(chunk)
                        if limit is not None and copied > limit:
                            raise HydrateError(
                                f"the remote object {self.where(key)} is larger than the "
                                f"{limit} bytes the lock records for {package.file_name}: it "
                                "is not that package. Nothing was installed from it. Replace it "
                                "with `amber push --verify` from a machine that has the package.",
                                package=package.file_name,
                            )
                        out.write(chunk)

        try:
            actual = store.add_archive(package.sha256, package.file_name, download)
        except RemoteObjectAbsent:
            return False  # hydrate takes it from its own URL
        if actual != package.sha256:
            raise HydrateError(
                f"the remote object {self.where(key)} is corrupted: it should be "
                f"{package.file_name} with sha256 {package.sha256}, its bytes hash to "
                f"{actual}. Nothing was installed from it. Replace it with `amber push "
                "--verify` from a machine that has the package.",
                package=package.file_name,
            )
        return True

    # -- listing and gc ----------------------------------------------------------------

    def ls(self, name: str | None = None) -> list[TagInfo]:
        """The tags in the remote, sorted by name and tag: all, those of ``name``, or with
        ``team/``, those of every name under it."""
        if name is not None:
            parse_prefix(name)
        # The listing narrows to the deepest folder the filter names; `under` decides.
        folder = name.rpartition("/")[0] if name and name.endswith("/") else name
        prefix = f"{TAGS_DIR}/{folder}/" if folder else f"{TAGS_DIR}/"
        with self._failing("list", prefix):
            keys = [e.key for e in self.objects.list(prefix) if e.key.endswith(".json")]
        pairs = [p for p in map(from_tag_key, keys) if p is not None and under(p[0], name)]
        found = self._map(lambda nt: self._read_tag(*nt), pairs)
        return sorted((t for t in found if t is not None), key=lambda t: (t.name, t.tag))

    def _read_tag(self, name: str, tag: str) -> TagInfo | None:
        key = _tag_key(name, tag)
        with self._failing("read", key):
            data = self.objects.read(key)
        if data is None:
            return None
        try:
            body = json.loads(data)
            full_id = body["full_id"]
            if not isinstance(full_id, str) or not _SHA256.fullmatch(full_id):
                raise ValueError(full_id)
            pushed_at, host = float(body.get("pushed_at", 0)), str(body.get("host", ""))
            author = body.get("by")
            if author is not None and not isinstance(author, str):
                raise ValueError(author)
            # Shown in tables: printable characters only, and not a page of them.
            author = "".join(c for c in author or "" if c.isprintable())[:200] or None
            return TagInfo(name, tag, full_id, pushed_at, host, author)
        except (ValueError, KeyError, TypeError):
            raise RemoteError(
                f"{self.where(key)} is not a tag (expected JSON with a full_id): the remote "
                "store is corrupted",
                url=self.where(key),
            ) from None

    def gc(
        self,
        *,
        keep_tagged: bool = True,
        keep_runs_days: float = 30,
        grace_seconds: float = 3600,
        dry_run: bool = False,
    ) -> GcResult:
        """Delete the locks and packages that no tag and no run of the last
        ``keep_runs_days`` references.

        Objects younger than ``grace_seconds`` stay (a push in progress has written its
        packages but not yet its lock and tags). Without ``keep_tagged`` only recent runs
        keep envs, and the tags of the envs deleted go too.
        """
        now = time.time()
        tags = self.ls()
        runs = self._runs()
        keep = {t.full_id for t in tags} if keep_tagged else set()
        keep |= {
            s.full_id for r in runs if r.started >= now - keep_runs_days * 86400 for s in r.steps
        }
        with self._failing("list", "locks/"):
            locks = self.objects.list("locks/")
        with self._failing("list", "pkgs/"):
            pkgs = self.objects.list("pkgs/")

        def young(entry: _Entry) -> bool:
            return entry.mtime is None or now - entry.mtime < grace_seconds

        kept: list[str] = []
        dead_locks: list[_Entry] = []
        for entry in locks:
            full_id = entry.key[len("locks/") : -len(".lock")]
            if not entry.key.endswith(".lock") or not _SHA256.fullmatch(full_id):
                if not young(entry):
                    dead_locks.append(entry)  # leftovers of interrupted writes
            elif full_id in keep or young(entry):
                kept.append(full_id)
            else:
                dead_locks.append(entry)
        # A kept lock that cannot be read stops gc: never guess which packages it needs.
        needed = {p.sha256 for lock in self._map(self.fetch_lock, kept) for p in _packages(lock)}
        dead_pkgs = [e for e in pkgs if e.key[len("pkgs/") :] not in needed and not young(e)]
        kept_ids = set(kept)
        dead_tags = [t for t in tags if t.full_id not in kept_ids]
        if not dry_run:
            # Tags, then locks, then packages: nothing ever names what is gone.
            for keys in (
                [_tag_key(t.name, t.tag) for t in dead_tags],
                [e.key for e in dead_locks],
                [e.key for e in dead_pkgs],
            ):
                if keys:
                    with self._failing("delete from", keys[0]):
                        self.objects.delete(keys)
        return GcResult(
            locks=tuple(sorted(e.key for e in dead_locks)),
            packages=tuple(sorted(e.key for e in dead_pkgs)),
            tags=tuple(sorted(str(t) for t in dead_tags)),
            freed_bytes=sum(e.size for e in (*dead_locks, *dead_pkgs)),
            kept_locks=len(kept),
            dry_run=dry_run,
        )

    # -- runs --------------------------------------------------------------------------

    def record_run(self, run: RunRecord) -> None:
        """Keep a run record (its step calls and their envs) in the remote; a later call
        with more steps replaces it."""
        if not _NAME.fullmatch(run.run_id):
            raise AmberError(f"invalid run id {run.run_id!r}")
        body = {
            "run_id": run.run_id,
            "started": run.started,
            "host": run.host,
            "command": run.command,
            "steps": [dataclasses.asdict(s) for s in run.steps],
        }
        key = _run_key(run.run_id)
        with self._failing("write", key):
            self.objects.write(key, json.dumps(body, sort_keys=True, indent=1).encode())

    def fetch_run(self, prefix: str) -> RunRecord | None:
        """The run whose id is or starts with ``prefix`` (None when there is none)."""
        if not _NAME.fullmatch(prefix):
            return None
        run = self._read_run(_run_key(prefix))
        if run is not None:
            return run
        with self._failing("list", "runs/"):
            keys = [e.key for e in self.objects.list("runs/") if e.key.endswith(".json")]
        matching = sorted(k for k in keys if k[len("runs/") :].startswith(prefix))
        if len(matching) > 1:
            listing = ", ".join(k[len("runs/") : -len(".json")] for k in matching[:5])
            raise AmberError(
                f"'{prefix}' matches several runs in {redact(self.url)} ({listing}): "
                "give more of the id"
            )
        return self._read_run(matching[0]) if matching else None

    def runs(self) -> list[RunRecord]:
        """Every run recorded in the remote store, newest first."""
        return sorted(self._runs(), key=lambda r: (-r.started, r.run_id))

    def _runs(self) -> list[RunRecord]:
        with self._failing("list", "runs/"):
            keys = [e.key for e in self.objects.list("runs/") if e.key.endswith(".json")]
        return [r for r in self._map(self._read_run, keys) if r is not None]

    def _read_run(self, key: str) -> RunRecord | None:
        with self._failing("read", key):
            data = self.objects.read(key)
        if data is None:
            return None
        try:
            body = json.loads(data)
            steps = tuple(StepRecord(**s) for s in body["steps"])
            return RunRecord(
                body["run_id"], float(body["started"]), body["host"], body["command"], steps
            )
        except (ValueError, KeyError, TypeError):
            raise RemoteError(
                f"{self.where(key)} is not a run record: it is corrupted", url=self.where(key)
            ) from None

    # -- plumbing ----------------------------------------------------------------------

    def _map(self, func: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
        """``func`` over ``items`` on a few threads; the first error cancels what is left."""
        if len(items) <= 1:
            return [func(item) for item in items]
        pool = ThreadPoolExecutor(max_workers=min(_WORKERS, len(items)))
        futures = [pool.submit(func, item) for item in items]
        try:
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @contextmanager
    def _failing(self, verb: str, key: str) -> Iterator[None]:
        """Turn whatever the storage library raises into one message naming the object."""
        try:
            yield
        except AmberError:
            raise
        except Exception as exc:  # noqa: BLE001 - botocore, aiohttp, OSError, ...
            raise RemoteError(
                f"cannot {verb} {self.where(key)}: {_describe(exc)}", url=self.where(key)
            ) from None


# -- keys ------------------------------------------------------------------------------


def _package_key(sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        raise LockFileError(f"not a sha256: {sha256!r}; the lock is corrupted")
    return f"pkgs/{sha256}"


def _lock_key(full_id: str) -> str:
    if not _SHA256.fullmatch(full_id):
        raise AmberError(f"not a full_id: {full_id!r}")
    return f"locks/{full_id}.lock"


def _tag_key(name: str, tag: str) -> str:
    return tag_key(name, tag)


def _run_key(run_id: str) -> str:
    return f"runs/{run_id}.json"


def _check_tag(name: str, tag: str) -> None:
    parse_tag(f"{name}:{tag}")


def _unique(packages: Sequence[Package]) -> list[Package]:
    seen: dict[str, Package] = {}
    for p in packages:
        seen.setdefault(p.sha256, p)
    return list(seen.values())


def _packages(lock: Lock) -> list[Package]:
    """Every package of every platform, once per sha256."""
    packages: list[Package] = []
    for body in lock.platforms.values():
        packages += body.conda
        # A git commit has no archive: whoever hydrates the lock fetches that commit.
        packages += [p for p in body.pypi if p.is_archive]
    return _unique(packages)


def _archive(store: Store, package: Package) -> Path:
    path = store.find_archive(package.sha256)
    if path is None:
        raise HydrateError(
            f"{package.file_name} is not in the store's archive store", package=package.file_name
        )
    return path


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc) or name
    if "Credentials" in name:
        return (
            f"{text}. Amber uses the usual credential chain (for S3: AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role)"
        )
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return f"access denied ({text}): check the credentials and the bucket's permissions"
    return text if name in text else f"{text} ({name})"


# -- storage backends ----------------------------------------------------------------------


def _normalise(url: str) -> str:
    url = url.strip()
    if "://" not in url:
        return Path(url).expanduser().resolve().as_uri()
    return url.rstrip("/")


@dataclass(frozen=True)
class _Entry:
    key: str
    size: int
    mtime: float | None


class _Objects:
    """Whole-object storage under one root: the few operations a remote store needs.

    ``read``/``size`` answer None for a missing object; ``open_read``
    raises ``FileNotFoundError``; ``create`` answers False when the object exists.
    """

    def read(self, key: str) -> bytes | None:
        raise NotImplementedError

    def size(self, key: str) -> int | None:
        raise NotImplementedError

    def write(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def create(self, key: str, data: bytes) -> bool:
        raise NotImplementedError

    def upload(self, path: Path, key: str) -> None:
        raise NotImplementedError

    def open_read(self, key: str) -> IO[bytes]:
        raise NotImplementedError

    def list(self, prefix: str) -> list[_Entry]:
        raise NotImplementedError

    def delete(self, keys: Sequence[str]) -> None:
        raise NotImplementedError


def _open_objects(url: str) -> _Objects:
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise AmberError(f"file:// remote stores must be local paths, not {url}")
        return _LocalObjects(Path(unquote(parts.path)))
    try:
        import fsspec  # noqa: PLC0415 - optional: amber-env[remote]
    except ImportError:
        raise AmberError(
            f"the remote store {redact(url)} needs fsspec: pip install 'amber-env[remote]'"
        ) from None
    try:
        # No instance cache (the endpoint and credentials come from the environment, which
        # tests and users change) and no listings cache (others write to the store).
        fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True, use_listings_cache=False)
    except (ImportError, ValueError) as exc:
        raise AmberError(f"cannot open the remote store {redact(url)}: {exc}") from None
    return _FsspecObjects(fs, root.rstrip("/"))


class _LocalObjects(_Objects):
    """A directory (a shared filesystem): temp files renamed into place, ``link(2)`` for
    create-if-absent, so readers never see half an object."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key

    def read(self, key: str) -> bytes | None:
        try:
            f = self.open_read(key)
        except FileNotFoundError:
            return None
        with f:
            data = f.read(_MAX_DOCUMENT + 1)
        if len(data) > _MAX_DOCUMENT:
            raise OSError(errno.EFBIG, f"larger than {_MAX_DOCUMENT} bytes: not an Amber object")
        return data

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def _temp(self, key: str) -> Path:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")

    def _publish(self, tmp: Path) -> None:
        # mkstemp-like modes would hide objects from the rest of a team sharing the directory.
        os.chmod(tmp, 0o666 & ~umask())

    def write(self, key: str, data: bytes) -> None:
        tmp = self._temp(key)
        try:
            tmp.write_bytes(data)
            self._publish(tmp)
            os.replace(tmp, self._path(key))
        finally:
            tmp.unlink(missing_ok=True)

    def create(self, key: str, data: bytes) -> bool:
        tmp = self._temp(key)
        try:
            tmp.write_bytes(data)
            self._publish(tmp)
            try:
                os.link(tmp, self._path(key))  # atomic, and fails when the name exists
            except FileExistsError:
                return False
            except OSError:
                # A filesystem without hard links: O_EXCL still lets exactly one win.
                try:
                    fd = os.open(self._path(key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                except FileExistsError:
                    return False
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def upload(self, path: Path, key: str) -> None:

        tmp = self._temp(key)
        try:
            shutil.copyfile(path, tmp)
            self._publish(tmp)
            os.replace(tmp, self._path(key))
        finally:
            tmp.unlink(missing_ok=True)

    def open_read(self, key: str) -> IO[bytes]:
        # Amber writes only regular files here: a symlink (to /etc/shadow) or a device
        # (/dev/zero) put in their place is refused, without blocking on a FIFO.
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self._path(key), flags | getattr(os, "O_NOCTTY", 0))
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OSError(errno.ELOOP, "a symbolic link, not an object Amber wrote") from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file, not an object Amber wrote")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def list(self, prefix: str) -> list[_Entry]:
        out = []
        base = self._path(prefix)
        for folder, _dirs, files in os.walk(base):
            for name in files:
                path = Path(folder) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                key = path.relative_to(self.root).as_posix()
                out.append(_Entry(key, stat.st_size, stat.st_mtime))
        return sorted(out, key=lambda e: e.key)

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)


class _FsspecObjects(_Objects):
    """An object store through fsspec (s3fs, gcsfs, adlfs): every write is one whole
    object, and ``create`` is the store's own conditional write (``mode="create"``)."""

    def __init__(self, fs: Any, root: str) -> None:
        self.fs = fs
        self.root = root

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def read(self, key: str) -> bytes | None:
        try:
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError:
            return None

    def size(self, key: str) -> int | None:
        try:
            info = self.fs.info(self._path(key))
        except FileNotFoundError:
            return None
        return int(info["size"]) if info.get("type") != "directory" else None

    def write(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self._path(key), data)

    def create(self, key: str, data: bytes) -> bool:
        try:
            self.fs.pipe_file(self._path(key), data, mode="create")
        except FileExistsError:
            return False
        return True

    def upload(self, path: Path, key: str) -> None:
        self.fs.put_file(str(path), self._path(key))

    def open_read(self, key: str) -> IO[bytes]:
        return self.fs.open(self._path(key), "rb")

    def list(self, prefix: str) -> list[_Entry]:
        found = self.fs.find(self._path(prefix), detail=True)
        out = []
        for path, info in found.items():
            if info.get("type") == "directory":
                continue
            key = path[len(self.root) + 1 :] if path.startswith(self.root + "/") else path
            out.append(_Entry(key, int(info.get("size") or 0), _mtime(info)))
        return sorted(out, key=lambda e: e.key)

    def delete(self, keys: Sequence[str]) -> None:
        self.fs.rm([self._path(k) for k in keys])


def _mtime(info: dict[str, Any]) -> float | None:
    """An object's modification time from whatever the fsspec backend reports."""

    for field in ("LastModified", "mtime", "updated", "last_modified", "created"):
        value = info.get(field)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None

"""Where Amber keeps things: package caches, locks, envs and the SQLite index.

Layout under ``$AMBER_HOME`` (all on one filesystem, so envs hardlink from caches)::

    index.db            SQLite: req_id -> locks, full_id -> env, spec-file digests
    pkgs/conda/         rattler's package cache
    pkgs/conda-state/   the stat fingerprint of each clean entry of it (store.pkgcache)
    pkgs/uv/            uv's cache (wheels)
    repodata/           repodata cache
    locks/<full_id>.lock
    envs/<full_id[:16]>/   hydrated prefixes (short: conda prefixes embed their path)
    envs/.locks/        one lock file per env (prefix-<digest>.lock for an env at a chosen path);
                        its mtime is when the env was last used (`amber run` touches it)
    run-memo/           what `amber run` looks up before anything else (amber._hot); its
                        `generation` changes whenever a tag or an env is added or removed
    lock-memo/          which uv calls `amber lock` of a spec file starts first (amber._early)
    edits/<digest>.lock one lock file per folder whose spec files `amber add` edits
    .reserve            1 MiB kept free for the index writes of `env rm` and `gc` on a full disk
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from amber import _hot
from amber._fs import remove_tree, temp_beside, write_atomic
from amber.errors import DiskFullError
from amber.settings import Network, default_home

__all__ = ["Store", "EnvRecord", "RunRecord", "StepRecord", "TagRecord", "ENV_ID_LENGTH"]

ENV_ID_LENGTH = 16
_RESERVE = 1 << 20
_SCHEMA_VERSION = 6  # 5: tag authors, step tracebacks (two branches named theirs 5: 6 has both)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS locks (
    full_id TEXT PRIMARY KEY, req_id TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS locks_req ON locks (req_id, created);
CREATE TABLE IF NOT EXISTS envs (
    full_id TEXT PRIMARY KEY, path TEXT NOT NULL, name TEXT, size INTEGER,
    created REAL NOT NULL, last_used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS prefixes (
    path TEXT PRIMARY KEY, full_id TEXT NOT NULL, name TEXT, size INTEGER,
    created REAL NOT NULL, last_used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS spec_files (
    key TEXT PRIMARY KEY, req_id TEXT NOT NULL, full_id TEXT NOT NULL, files TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS spec_files_req ON spec_files (req_id);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started REAL NOT NULL, host TEXT, command TEXT);
CREATE TABLE IF NOT EXISTS run_steps (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, step TEXT NOT NULL, full_id TEXT NOT NULL,
    started REAL NOT NULL, ended REAL NOT NULL, status TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS run_steps_run ON run_steps (run_id, id);
CREATE TABLE IF NOT EXISTS step_tracebacks (
    step_id INTEGER PRIMARY KEY, traceback TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
    name TEXT NOT NULL, tag TEXT NOT NULL, full_id TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (name, tag));
CREATE TABLE IF NOT EXISTS tag_authors (
    name TEXT NOT NULL, tag TEXT NOT NULL, full_id TEXT NOT NULL, author TEXT NOT NULL,
    PRIMARY KEY (name, tag));
"""
# Who tagged lives beside ``tags``, not in it: a tag an older Amber moved (or wrote before
# version 5) has no author row for its full_id, and shows as unknown.


@dataclass(frozen=True)
class StepRecord:
    """One step call of a run."""

    run_id: str
    step: str
    full_id: str
    started: float
    ended: float
    status: str
    traceback: str | None = None  # what a failed call raised, as the caller saw it


@dataclass(frozen=True)
class RunRecord:
    """A pipeline run: every step call made by one process."""

    run_id: str
    started: float
    host: str
    command: str
    steps: tuple[StepRecord, ...]


@dataclass(frozen=True)
class TagRecord:
    """A local tag: ``name:tag`` names ``full_id`` since ``created``, set by ``author``
    (None for tags written before Amber recorded it)."""

    name: str
    tag: str
    full_id: str
    created: float
    author: str | None

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"


@dataclass(frozen=True)
class EnvRecord:
    """An env known to the index."""

    full_id: str
    path: Path
    name: str | None
    size: int | None
    created: float
    last_used: float


class Store:
    """The local store. Cheap to create: nothing is opened until used."""

    def __init__(
        self,
        home: Path | None = None,
        link_mode: str = "hardlink",
        network: Network | Callable[[], Network] | None = None,
        link_scripts: str = "run",
    ) -> None:
        # Without a home: $AMBER_HOME as the settings read it (tests and the edge pass one).
        self.home = Path(home) if home else default_home()
        self.link_mode = link_mode  # how envs get files from the caches: Settings.link_mode
        # How downloads into this store reach the channels (mirrors, TLS, proxies): a
        # setting of the edge carried with the store, like link_mode. The session passes
        # how to get it, so that the settings files are read only when a download needs it.
        self._network = network if network is not None else Network()
        self.link_scripts = link_scripts  # run or refuse packages' link scripts: Settings'
        self.conda_pkgs = self.home / "pkgs" / "conda"
        self.archives = self.home / "pkgs" / "archives"
        self.uv_cache = self.home / "pkgs" / "uv"
        self.repodata = self.home / "repodata"
        self.locks_dir = self.home / "locks"
        self.envs_dir = self.home / "envs"
        self._db: sqlite3.Connection | None = None
        self._read_only = False  # the index read as it was, on a full disk
        self._freeing = False  # removing things: the reserve may be spent

    @property
    def network(self) -> Network:
        """The network settings downloads into this store use (``amber.condarc.network_of``)."""
        if not isinstance(self._network, Network):
            self._network = self._network()
        return self._network

    def again(self) -> Store:
        """A new Store of the same home and settings (its own sqlite connection)."""
        return Store(
            self.home, self.link_mode, lambda: self.network, link_scripts=self.link_scripts
        )

    # -- index -----------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        """The index, to read (writes go through ``_writable``)."""
        if self._db is None:
            self.home.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.home / "index.db", timeout=60, isolation_level=None)
            try:
                db.execute("PRAGMA synchronous=NORMAL")
                version = db.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.OperationalError as exc:
                db.close()
                if not _no_room(exc, self.home):
                    raise
                # A full disk: SQLite cannot make the -shm file every reader of a WAL index
                # needs. Read the file as it is (a closed index has no WAL to miss), so that
                # `du`, `env rm` and `gc` still work; a write opens it anew (_writable).
                uri = (self.home / "index.db").absolute().as_uri() + "?immutable=1"
                db = sqlite3.connect(uri, uri=True, isolation_level=None)
                if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                    db.close()
                    raise
                self._db, self._read_only = db, True
                return db
            if version != _SCHEMA_VERSION:
                self._initialise(db)
                self.keep_reserve()
            self._db = db
        return self._db

    def _writable(self) -> sqlite3.Connection:
        """The index, to write: opened anew if it was read as it was on a full disk (by then
        removing an env may have made room)."""
        if self._freeing and _room(self.home) < _RESERVE:
            self.release_reserve()
        if self._read_only:
            self.close()
        db = self.db
        if self._read_only:  # still no room
            raise DiskFullError(self.home / "index.db")
        return db

    def _initialise(self, db: sqlite3.Connection) -> None:
        # Switching a new database to WAL fails at once ("database is locked") when another
        # connection does the same, busy timeout or not: one process at a time sets it up.
        from amber.store.inuse import exclusive

        with exclusive(self.home / ".index.lock"):
            if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                db.execute("PRAGMA journal_mode=WAL")  # persistent: set once per database
                db.executescript(_SCHEMA + f"PRAGMA user_version={_SCHEMA_VERSION};")

    # -- room to free room --------------------------------------------------------

    def freeing(self) -> None:
        """This command removes envs (`env rm`, `gc`): on a full disk, the reserve may be
        spent on its index writes, so that it can free space (``keep_reserve`` after)."""
        self._freeing = True

    def release_reserve(self) -> None:
        (self.home / ".reserve").unlink(missing_ok=True)

    def keep_reserve(self) -> None:
        """Set the reserve aside again, when there is room for it and more."""
        reserve = self.home / ".reserve"
        if reserve.exists() or _room(self.home) < 4 * _RESERVE:
            return
        try:
            fd, tmp = temp_beside(reserve)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(bytes(_RESERVE))  # real blocks: a sparse file would reserve nothing
            os.replace(tmp, reserve)
        except OSError:
            Path(tmp).unlink(missing_ok=True)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db, self._read_only = None, False

    # -- package archives, content-addressed (what pushes upload and pulls fill) -------

    def archive_path(self, sha256: str, file_name: str) -> Path:
        return self.archives / sha256[:2] / sha256 / file_name

    def add_archive(self, sha256: str, file_name: str, write: Callable[[Path], None]) -> str:
        """Put a package archive into the archive store: ``write(tmp)`` fills a temporary
        file beside its place, kept only if its bytes hash to ``sha256``. Returns the sha256
        they had (the caller names the culprit when it differs)."""
        import hashlib

        target = self.archive_path(sha256, file_name)
        fd, name = temp_beside(target)  # a dot name: find_archive never takes a partial one
        os.close(fd)
        tmp = Path(name)
        try:
            write(tmp)
            with open(tmp, "rb") as f:
                actual = hashlib.file_digest(f, "sha256").hexdigest()
            if actual == sha256:
                os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
            try:
                target.parent.rmdir()  # only when nothing was kept there
            except OSError:
                pass
        return actual

    def find_archive(self, sha256: str) -> Path | None:
        folder = self.archives / sha256[:2] / sha256
        try:
            return next(p for p in folder.iterdir() if not p.name.startswith("."))
        except (FileNotFoundError, StopIteration):
            return None

    def edit_lock_path(self, spec_file: Path) -> Path:
        """The lock file that serialises edits of the spec files in ``spec_file``'s folder
        (they share the ``amber.lock`` beside them)."""
        import hashlib

        folder = os.path.realpath(Path(spec_file).parent)
        digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:32]
        return self.home / "edits" / f"{digest}.lock"

    # -- tags --------------------------------------------------------------------

    def changed(self) -> None:
        """A tag or an env was added or removed: what `amber run --env REF` remembered is void."""
        try:
            _hot.new_generation(str(self.home))
        except OSError:
            # A memo must never outlive what it names: with the generation unwritable, the
            # memos go instead (gone, every lookup takes the slow path).
            remove_tree(self.home / "run-memo")

    def tag(self, name: str, tag: str, full_id: str, author: str | None = None) -> None:
        """Point ``name:tag`` at ``full_id``, recording who (``author``) and when (now)."""
        db = self._writable()
        with db:
            db.execute(
                "INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)", (name, tag, full_id, time.time())
            )
            db.execute("DELETE FROM tag_authors WHERE name = ? AND tag = ?", (name, tag))
            if author:
                db.execute(
                    "INSERT INTO tag_authors VALUES (?, ?, ?, ?)", (name, tag, full_id, author)
                )
        self.changed()

    def untag(self, name: str, tag: str) -> bool:
        db = self._writable()
        with db:
            cursor = db.execute("DELETE FROM tags WHERE name = ? AND tag = ?", (name, tag))
            db.execute("DELETE FROM tag_authors WHERE name = ? AND tag = ?", (name, tag))
        self.changed()
        return cursor.rowcount > 0

    def tags(self, name: str | None = None) -> list[tuple[str, str, str, float]]:
        """(name, tag, full_id, created), sorted by name and tag: all, ``name``'s, or with
        ``team/``, those of every name under it."""
        return [(t.name, t.tag, t.full_id, t.created) for t in self.tag_records(name)]

    def tag_records(self, name: str | None = None) -> list[TagRecord]:
        """The tags (as ``tags``) with who set them."""
        query = (
            "SELECT t.name, t.tag, t.full_id, t.created, a.author FROM tags t "
            "LEFT JOIN tag_authors a ON a.name = t.name AND a.tag = t.tag "
            "AND a.full_id = t.full_id"
        )
        args: tuple[object, ...]
        if not name:
            where, args = "", ()
        elif name.endswith("/"):
            where, args = " WHERE substr(t.name, 1, ?) = ?", (len(name), name)
        else:
            where, args = " WHERE t.name = ?", (name,)
        rows = self.db.execute(query + where + " ORDER BY t.name, t.tag", args).fetchall()
        return [TagRecord(*r) for r in rows]

    def tagged(self, name: str, tag: str) -> str | None:
        row = self.db.execute(
            "SELECT full_id FROM tags WHERE name = ? AND tag = ?", (name, tag)
        ).fetchone()
        return row[0] if row else None

    # -- locks -----------------------------------------------------------------

    def lock_path(self, full_id: str) -> Path:
        return self.locks_dir / f"{full_id}.lock"

    def save_lock(self, text: str, req_id: str, full_id: str) -> Path:
        """Keep a lock (its text) in the store and make it the newest for its ``req_id``."""
        path = self.lock_path(full_id)
        if not path.is_file():
            write_atomic(path, text)
        db = self._writable()
        with db:
            db.execute(
                "INSERT OR REPLACE INTO locks VALUES (?, ?, ?)", (full_id, req_id, time.time())
            )
            # Spec files that named this req_id may now mean a newer lock.
            db.execute("DELETE FROM spec_files WHERE req_id = ?", (req_id,))
        return path

    def latest_lock(self, req_id: str) -> Path | None:
        row = self.db.execute(
            "SELECT full_id FROM locks WHERE req_id = ? ORDER BY created DESC LIMIT 1", (req_id,)
        ).fetchone()
        if row and self.lock_path(row[0]).is_file():
            return self.lock_path(row[0])
        return None

    def find_lock(self, full_id: str) -> Path | None:
        path = self.lock_path(full_id)
        return path if path.is_file() else None

    # -- spec-file digests (the hot path of `amber run -f`) ------------------------

    def remember_spec_file(
        self, key: str, req_id: str, full_id: str, files: dict[str, str]
    ) -> None:
        db = self._writable()
        with db:
            db.execute(
                "INSERT OR REPLACE INTO spec_files VALUES (?, ?, ?, ?)",
                (key, req_id, full_id, json.dumps(files, sort_keys=True)),
            )

    def recall_spec_file(self, key: str) -> tuple[str, dict[str, str]] | None:
        """(full_id, {included file: digest}) remembered for a spec file's digest."""
        row = self.db.execute(
            "SELECT full_id, files FROM spec_files WHERE key = ?", (key,)
        ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    # -- envs --------------------------------------------------------------------

    def env_path(self, full_id: str) -> Path:
        return self.envs_dir / full_id[:ENV_ID_LENGTH]

    def env_lock_path(self, full_id: str) -> Path:
        return self.envs_dir / ".locks" / f"{full_id[:ENV_ID_LENGTH]}.lock"

    def in_use_lock(self, env_path: Path, full_id: str) -> Path:
        """The in-use lock of the env at ``env_path``: the store env's, or one per prefix
        (an env at a chosen path, ``amber install --prefix``, or one ``amber unpack`` made)."""
        if Path(env_path) == self.env_path(full_id):
            return self.env_lock_path(full_id)
        digest = hashlib.sha256(os.fsencode(Path(env_path).absolute())).hexdigest()
        return self.envs_dir / ".locks" / f"prefix-{digest[:ENV_ID_LENGTH]}.lock"

    def record_prefix(self, path: Path, full_id: str, name: str | None, size: int | None) -> None:
        """An env at a chosen path (``prefix:``, ``--prefix``): tracked, never gc'd."""
        now = time.time()
        db = self._writable()
        with db:
            db.execute(
                "INSERT INTO prefixes VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                "full_id = excluded.full_id, name = coalesce(excluded.name, prefixes.name), "
                "size = excluded.size, last_used = excluded.last_used",
                (str(Path(path).absolute()), full_id, name, size, now, now),
            )
        self.changed()

    def forget_prefix(self, path: Path) -> None:
        db = self._writable()
        with db:
            db.execute("DELETE FROM prefixes WHERE path = ?", (str(Path(path).absolute()),))
        self.changed()

    def prefix_envs(self) -> list[EnvRecord]:
        """The envs at chosen paths that this store tracks, most recently used first."""
        rows = self.db.execute(
            "SELECT full_id, path, name, size, created, last_used FROM prefixes "
            "ORDER BY last_used DESC"
        ).fetchall()
        return [EnvRecord(r[0], Path(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def record_env(self, full_id: str, path: Path, name: str | None, size: int | None) -> None:
        now = time.time()
        db = self._writable()
        with db:
            db.execute(
                "INSERT INTO envs VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(full_id) DO UPDATE SET "
                "path = excluded.path, name = coalesce(excluded.name, envs.name), "
                "size = excluded.size, last_used = excluded.last_used",
                (full_id, str(path), name, size, now, now),
            )
        self.changed()
        self.keep_reserve()  # stores made before there was one get it here

    def touch_env(self, full_id: str) -> None:
        """``full_id`` is used now: its in-use lock file's mtime says so (no index write, as
        on the hot path of `amber run`; ``envs`` reads it)."""
        lock = self.env_lock_path(full_id)
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            lock.touch()
        except OSError:
            pass  # bookkeeping only (gc never removes an env in use anyway)

    def _last_used(self, full_id: str, recorded: float) -> float:
        try:
            return max(recorded, self.env_lock_path(full_id).stat().st_mtime)
        except OSError:
            return recorded

    def forget_env(self, full_id: str) -> None:
        db = self._writable()
        with db:
            db.execute("DELETE FROM envs WHERE full_id = ?", (full_id,))
            db.execute("DELETE FROM spec_files WHERE full_id = ?", (full_id,))
        self.changed()

    def envs(self) -> list[EnvRecord]:
        rows = self.db.execute(
            "SELECT full_id, path, name, size, created, last_used FROM envs"
        ).fetchall()
        records = [
            EnvRecord(r[0], Path(r[1]), r[2], r[3], r[4], self._last_used(r[0], r[5])) for r in rows
        ]
        return sorted(records, key=lambda e: e.last_used, reverse=True)

    def envs_matching(self, prefix: str) -> list[EnvRecord]:
        """Envs whose full_id starts with ``prefix`` or whose name is ``prefix``."""
        return [e for e in self.envs() if e.full_id.startswith(prefix) or e.name == prefix]

    # -- runs --------------------------------------------------------------------

    def record_run(self, run_id: str, started: float, host: str, command: str) -> None:
        db = self._writable()
        with db:
            db.execute(
                "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?)", (run_id, started, host, command)
            )

    def record_step(
        self,
        run_id: str,
        step: str,
        full_id: str,
        started: float,
        ended: float,
        status: str,
        traceback: str | None = None,
    ) -> None:
        db = self._writable()
        with db:
            row = db.execute(
                "INSERT INTO run_steps (run_id, step, full_id, started, ended, status) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, step, full_id, started, ended, status),
            )
            if traceback:
                db.execute("INSERT INTO step_tracebacks VALUES (?, ?)", (row.lastrowid, traceback))

    def runs(self, prefix: str = "") -> list[RunRecord]:
        """Runs (newest first) whose id starts with ``prefix``, with their step calls."""
        rows = self.db.execute(
            "SELECT run_id, started, host, command FROM runs WHERE run_id LIKE ? "
            "ORDER BY started DESC",
            (prefix + "%",),
        ).fetchall()
        out = []
        for run_id, started, host, command in rows:
            steps = self.db.execute(
                "SELECT run_id, step, full_id, started, ended, status, traceback FROM run_steps "
                "LEFT JOIN step_tracebacks ON step_id = id WHERE run_id = ? ORDER BY id",
                (run_id,),
            ).fetchall()
            out.append(
                RunRecord(run_id, started, host, command, tuple(StepRecord(*s) for s in steps))
            )
        return out


def _room(path: Path) -> int:
    """Bytes free for this user on ``path``'s filesystem (plenty where that is unknown)."""
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return 1 << 62
    return st.f_bavail * st.f_frsize


def _no_room(exc: sqlite3.OperationalError, home: Path) -> bool:
    """Whether SQLite failed for want of disk space ("disk I/O error" when it cannot grow
    its -shm file; "database or disk is full" when a write cannot)."""
    said = str(exc)
    if "database or disk is full" in said:
        return True
    return "disk I/O error" in said and _room(home) == 0

"""The dashboard's answers: the same questions the CLI asks, the same JSON it prints
(``amber.api.views``), plus what only a page needs (packages with their licenses and the
requested spec that pulled each in, which envs are in use)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from amber.api import views
from amber.api.audit import license_facts, load_osv
from amber.api.runs import list_runs, show_run
from amber.api.session import Session, using
from amber.api.show import EnvDetails, list_envs, verify
from amber.errors import EnvNotFoundError
from amber.inspect.audit import AuditReport, OsvDatabase, audit
from amber.inspect.diff import diff_locks
from amber.inspect.tree import Graph, graph, platform_of, tree
from amber.lock import Lock
from amber.remote import Remote
from amber.store import EnvRecord, Store
from amber.store.du import disk_usage
from amber.store.env import Env
from amber.store.gc import collect
from amber.store.inuse import in_use

__all__ = ["Dashboard", "NO_ADVISORIES", "audit_report", "env_page", "packages"]

NO_ADVISORIES = "no advisories checked (pass --osv DIR|ZIP|URL)"


class Dashboard:
    """What ``amber ui`` shows, over one session; envs are looked up by full_id (or a unique
    prefix) among the complete envs of the store only: a page never hydrates, pulls or reads
    a path it is handed."""

    def __init__(self, session: Session, *, osv: str | None = None) -> None:
        self._session = session
        self._local = threading.local()
        self.osv = osv
        self._audits: dict[str, AuditReport] = {}  # full_id -> its audit: an env never changes
        self._lock = threading.Lock()

    @property
    def session(self) -> Session:
        """This thread's session: the server answers each request in a thread, and a
        store's sqlite connection serves the thread that opened it only."""
        mine: Session | None = getattr(self._local, "session", None)
        if mine is None:
            mine = using(self._session, store=self._session.store.again())
            self._local.session = mine
        return mine

    @property
    def store(self) -> Store:
        return self.session.store

    # -- the store ------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {
            "home": str(self.store.home),
            "remote": self.session.remote_url,
            "advisories": self.osv or NO_ADVISORIES,
        }

    def envs(self) -> list[dict[str, Any]]:
        """``amber env list --json``."""
        return [views.env_record(e) for e in list_envs(self.store)]

    def du(self) -> dict[str, Any]:
        """``amber du --json``."""
        return disk_usage(self.store).to_json()

    def gc(self) -> dict[str, object]:
        """``amber gc --dry-run --json``: what gc would remove (nothing is removed)."""
        return collect(self.store, dry_run=True).to_json()

    def tags(self) -> list[dict[str, Any]]:
        """``amber env tags --json``."""
        sizes = {e.full_id: e.size for e in self.store.envs() if e.size is not None}
        return views.local_tags(self.store.tag_records(), sizes)

    def in_use(self) -> list[str]:
        """The full_ids of the envs a process holds right now."""
        return [
            e.full_id
            for e in list_envs(self.store)
            if in_use(self.store.in_use_lock(e.path, e.full_id))
        ]

    def record(self, ref: str) -> EnvRecord:
        """The complete env whose full_id is (or starts with) ``ref``."""
        found = {e.full_id: e for e in list_envs(self.store) if e.full_id.startswith(ref)}
        if not ref or len(found) != 1:
            what = "no" if not found else "more than one"
            raise EnvNotFoundError(f"{what} env of this store has the id {ref!r}", ref=ref)
        return next(iter(found.values()))

    def lock(self, ref: str) -> Lock:
        """The lock of an env of this store, or a lock the store keeps, by full_id."""
        try:
            record = self.record(ref)
            return Lock.read(Env(record.full_id, record.path).lock_file)
        except EnvNotFoundError:
            path = self.store.find_lock(ref) if len(ref) == 64 else None
            if path is None:
                raise
            return Lock.read(path)

    # -- one env ----------------------------------------------------------------------

    def details(self, ref: str) -> EnvDetails:
        record = self.record(ref)
        env = Env(record.full_id, record.path)
        return EnvDetails(env, Lock.read(env.lock_file), env.activation(), record)

    def env(self, ref: str) -> dict[str, Any]:
        """``amber env show --json``."""
        return views.env_details(self.details(ref))

    def tree(self, ref: str) -> dict[str, Any]:
        """``amber tree --json``."""
        lock = self.lock(ref)
        g = graph(lock, platform_of(lock, None))
        return views.dependency_tree(g, tree(g), False)

    def audit(self, ref: str) -> dict[str, Any]:
        """``amber audit --format json --osv SOURCE`` (without ``--osv``: licenses only)."""
        return self._audit(self.lock(ref)).to_json()

    def _audit(self, lock: Lock) -> AuditReport:
        with self._lock:
            done = self._audits.get(lock.full_id)
        if done is None:
            done = audit_report(lock, self.session, self.osv)
            with self._lock:
                self._audits[lock.full_id] = done
        return done

    def packages(self, ref: str) -> dict[str, Any]:
        lock = self.lock(ref)
        return packages(lock, self._audit(lock))

    def verify(self, ref: str) -> dict[str, Any]:
        """``amber verify --json`` (never ``--repair``)."""
        record = self.record(ref)
        done = verify(Env(record.full_id, record.path), self.store)
        return {**done.result.to_json(), "repaired": None}

    def env_runs(self, ref: str) -> list[dict[str, Any]]:
        """The runs with a step call in this env, as ``amber runs list --json`` shows them."""
        full_id = self.record(ref).full_id
        return [r for r in self.runs() if any(s["full_id"] == full_id for s in r["steps"])]

    # -- runs, diff, remote -------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        """``amber runs list --json``."""
        found = list_runs(session=self.session)
        return [views.run_record(r, r.run_id in found.remote) for r in found.records]

    def run(self, ref: str) -> dict[str, Any]:
        """``amber runs show --json``."""
        record, remote = show_run(ref, session=self.session)
        return views.run_record(record, remote)

    def diff(self, a: str, b: str) -> list[dict[str, Any]]:
        """``amber diff A B --json``."""
        return views.changes(diff_locks(self.lock(a), self.lock(b)))

    def remote_tags(self) -> list[dict[str, Any]]:
        """``amber remote ls --json``."""
        return views.remote_tags(Remote.open(self.session.remote_url).ls())

    def remote_runs(self) -> list[dict[str, Any]]:
        return [r for r in self.runs() if r["remote"]]

    def routes(self) -> dict[str, Callable[..., Any]]:
        """Endpoint name -> the answer (``/api/NAME[/ARG]``)."""
        return {
            "info": self.info, "envs": self.envs, "du": self.du, "gc": self.gc,
            "tags": self.tags, "inuse": self.in_use, "env": self.env, "tree": self.tree,
            "audit": self.audit, "packages": self.packages, "verify": self.verify,
            "env-runs": self.env_runs, "runs": self.runs, "run": self.run,
            "remote": self.remote_tags,
        }  # fmt: skip


def audit_report(lock: Lock, session: Session, osv: str | None) -> AuditReport:
    """The audit of ``lock``: against ``osv`` when given, else its licenses only."""
    db = load_osv(osv, [lock]) if osv else OsvDatabase(NO_ADVISORIES, ())
    return audit(lock, db, target=lock.full_id, licenses=license_facts(lock, session.store))


def _pulled_in_by(g: Graph) -> dict[str, list[str]]:
    """key -> the requested specs whose dependencies reach it (itself, when requested)."""
    found: dict[str, list[str]] = {}
    for root, spec in g.requested:
        seen, todo = {root}, [root]
        while todo:
            key = todo.pop()
            found.setdefault(key, []).append(spec)
            for child in g.edges.get(key, ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
    return found


def _origin(url: str) -> str:
    """Where a PyPI package came from: the index's host (the lock holds no credentials)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" if parts.hostname else url


def packages(lock: Lock, report: AuditReport) -> dict[str, Any]:
    """Every package of the lock's platform shown (this machine's, else its only one): kind,
    name, version, channel or index, license, and which requested specs pulled it in."""
    platform = platform_of(lock, None)
    body = lock.platforms[platform]
    g = graph(lock, platform)
    pulled = _pulled_in_by(g)
    licenses = {(p.kind, p.name, p.version): p.license for p in report.packages}
    rows: list[dict[str, Any]] = []
    for c in body.conda:
        rows.append({
            "kind": "conda", "name": c.name, "version": c.version, "build": c.build,
            "source": c.channel, "license": licenses.get(("conda", c.name, c.version)),
            "pulled_in_by": pulled.get(f"conda:{c.name}", []),
        })  # fmt: skip
    for w in body.pypi:
        key = next((k for k in g.named(w.name) if k.startswith("pypi:")), f"pypi:{w.name}")
        rows.append({
            "kind": "pypi", "name": w.name, "version": w.version, "build": "",
            "source": w.path or (w.url and _origin(w.url)) or "",
            "license": licenses.get(("pypi", w.name, w.version)),
            "pulled_in_by": pulled.get(key, []),
        })  # fmt: skip
    return {"platform": platform, "full_id": lock.full_id, "packages": rows}


def env_page(lock: Lock, session: Session, osv: str | None, env: Env | None) -> dict[str, Any]:
    """Everything the env page shows, in one value: what ``amber report`` inlines."""
    report = audit_report(lock, session, osv)
    g = graph(lock, platform_of(lock, None))
    activation = env.activation() if env is not None else None
    return {
        "full_id": lock.full_id,
        "req_id": lock.req_id,
        "path": str(env.path) if env is not None else None,
        "platforms": sorted(lock.platforms),
        "spec": lock.spec.canonical(),
        "activation": None if activation is None else {
            "set": dict(activation.set),
            "path_prepend": list(activation.path_prepend),
            "scripts": list(activation.scripts),
        },
        "packages": packages(lock, report),
        "tree": views.dependency_tree(g, tree(g), False),
        "audit": report.to_json(),
    }  # fmt: skip

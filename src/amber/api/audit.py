"""``amber audit``: load the advisories (an OSV directory, zip or API), find the lock and
the license facts it lacks, and match (``amber.inspect.audit``)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from amber._urls import redact
from amber.api.envs import lock_of
from amber.api.session import Session, using
from amber.api.wheels import metadata_dirs
from amber.errors import AuditError
from amber.formats.identity import wheel_license_texts, wheel_metadata
from amber.inspect.audit import AuditReport, LicenseCheck, OsvDatabase, audit
from amber.lock import Lock
from amber.run._hotpath import is_bundle
from amber.ship.bundle import bundle_locks
from amber.store import Store
from amber.store.env import Env

__all__ = ["OSV_API", "audit_lock", "load_osv", "license_facts"]

OSV_API = "https://api.osv.dev"
_BATCH = 1000  # the API's limit of queries per querybatch request
_TIMEOUT = 30


def audit_lock(
    ref: str,
    *,
    osv: str = OSV_API,
    fail_on: str = "low",
    ignored: Mapping[str, str] | None = None,
    license_check: LicenseCheck | None = None,
    session: Session | None = None,
) -> AuditReport:
    """Audit the lock ``ref`` names (a lock file, an env: full_id, prefix, name) or the
    locks of a bundle (``amber pack --packages``)."""
    s = using(session)
    path = Path(ref)
    locks = bundle_locks(path) if path.is_file() and is_bundle(path) else (lock_of(ref, s.store),)
    db = load_osv(osv, locks)
    licenses = {k: v for lock in locks for k, v in license_facts(lock, s.store).items()}
    return audit(
        locks, db, target=ref, fail_on=fail_on, ignored=ignored, licenses=licenses,
        license_check=license_check,
    )  # fmt: skip


def load_osv(source: str, locks: Sequence[Lock] = ()) -> OsvDatabase:
    """A local directory or zip of OSV records, or the OSV API at an ``http(s)`` URL (asked
    only about the locks' PyPI packages and the distributions their conda packages provide)."""
    if source.startswith(("http://", "https://")):
        return _from_api(source.rstrip("/"), sorted({q for lock in locks for q in _queries(lock)}))
    return OsvDatabase.load(Path(source))


def _queries(lock: Lock) -> list[tuple[str, str]]:
    wanted: set[tuple[str, str]] = set()
    for p in lock.platforms.values():
        wanted |= {(str(canonicalize_name(w.name)), w.version) for w in p.pypi}
        versions = {c.name: c.version for c in p.conda}
        wanted |= {
            (str(canonicalize_name(dist)), versions[conda])
            for dist, conda in p.provided.items()
            if conda in versions
        }
    return sorted(wanted)


def _from_api(base: str, queries: list[tuple[str, str]]) -> OsvDatabase:
    ids: set[str] = set()
    for start in range(0, len(queries), _BATCH):
        chunk = queries[start : start + _BATCH]
        body = {"queries": [{"package": {"name": n, "ecosystem": "PyPI"}, "version": v}
                            for n, v in chunk]}  # fmt: skip
        answer = _post(f"{base}/v1/querybatch", body)
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise AuditError(f"{redact(base)}: the OSV API answered without 'results'", path=base)
        for result in results:
            for vuln in (result or {}).get("vulns") or []:
                if isinstance(vuln, dict) and isinstance(vuln.get("id"), str):
                    ids.add(vuln["id"])
    records = ((f"{redact(base)}/v1/vulns/{i}", _get(f"{base}/v1/vulns/{i}")) for i in sorted(ids))
    return OsvDatabase.from_records(redact(base), records)


def _post(url: str, body: object) -> object:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    return _open(request, url)


def _get(url: str) -> object:
    return _open(urllib.request.Request(url), url)


def _open(request: urllib.request.Request, url: str) -> object:
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            return json.loads(response.read(64 * 1024 * 1024))
    except urllib.error.HTTPError as exc:
        raise AuditError(
            f"{redact(url)}: the OSV API answered {exc.code}", path=redact(url)
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AuditError(
            f"{redact(url)}: the OSV API cannot be read ({reason}); offline, pass a directory "
            "or zip of OSV records: --osv DIR|ZIP",
            path=redact(url),
        ) from None


def license_facts(lock: Lock, store: Store) -> dict[tuple[str, str, str], tuple[str | None, str]]:
    """Licenses the lock does not record: conda ones from the env's ``conda-meta``, PyPI
    ones from the wheels' ``METADATA`` in the env or uv's cache."""
    facts: dict[tuple[str, str, str], tuple[str | None, str]] = {}
    env = Env(lock.full_id, store.env_path(lock.full_id))
    if env.is_complete():
        for record in _conda_meta(env.path):
            license = record.get("license")
            if isinstance(license, str) and license.strip():
                key = ("conda", str(record.get("name")), str(record.get("version")))
                facts[key] = (license, "conda-meta")
    metadata = wheel_metadata(metadata_dirs(lock, store))
    for p in lock.platforms.values():
        for w in p.pypi:
            text = metadata.get((str(canonicalize_name(w.name)), w.version))
            if text is None:
                continue
            found = wheel_license_texts(text)
            if found:
                facts[("pypi", w.name, w.version)] = (" AND ".join(found), "metadata")
    return facts


def _conda_meta(prefix: Path) -> Iterator[dict[str, object]]:
    meta = prefix / "conda-meta"
    for name in sorted(os.listdir(meta)) if meta.is_dir() else ():
        if name.endswith(".json"):
            try:
                data = json.loads((meta / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # `amber verify` reports a damaged record; a license is not worth it
            if isinstance(data, dict):
                yield data

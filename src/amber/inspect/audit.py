"""``amber audit``: the packages of a lock matched against OSV advisories, with their licenses.

Advisories come in the OSV format (https://ossf.github.io/osv-schema/), JSON or YAML, read
by ``OsvDatabase``. PyPI packages match by canonical name and version against an advisory's
``affected[]`` entries of ecosystem ``PyPI``: its explicit ``versions`` and its ``ECOSYSTEM``
(and ``SEMVER``) ranges, whose ``introduced`` / ``fixed`` / ``last_affected`` events are
compared with ``packaging.version`` as the OSV spec's evaluation does. A conda package that
provides a PyPI distribution (the lock's ``provided`` map) matches through that
distribution; any conda package also matches advisories of ecosystem ``conda`` keyed by its
conda name (a curated file, as the OSV database has no conda ecosystem).

A record with ``withdrawn`` set is read (and checked) but matches nothing, as the OSV spec
says and pip-audit does.

Severity: the highest CVSS v3/v4 base score of ``severity[]`` (``cvss``), else
``database_specific.severity``; an advisory with neither is of ``unknown`` severity and
counts as meeting any ``fail_on`` level (nothing proves it lower).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from cvss import CVSS3, CVSS4, CVSSError
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from amber._input import shorten
from amber.errors import AuditError
from amber.formats.identity import license_text, purl_of
from amber.lock import Lock, LockedConda, LockedPypi
from amber.policy import Finding

__all__ = [
    "LEVELS",
    "Advisory",
    "AuditedPackage",
    "AuditReport",
    "OsvDatabase",
    "audit",
    "level_of",
    "license_of",
]

LEVELS = ("low", "medium", "high", "critical")
_SUFFIXES = (".json", ".yaml", ".yml")
_RECORD_LIMIT = 16 * 1024 * 1024  # one advisory file: larger is not an OSV record
_GHSA_LEVELS = {"low": "low", "moderate": "medium", "medium": "medium", "high": "high",
                "critical": "critical"}  # fmt: skip

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: 9x faster on OSV files

LicenseCheck = Callable[["AuditedPackage"], Iterable[Finding]]


def level_of(score: float) -> str:
    """The CVSS qualitative rating of a base score (v3.1 and v4.0 share it)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "none"


@dataclass(frozen=True)
class _Range:
    events: tuple[tuple[str, Version | None], ...]  # (kind, version); None is "0"

    def covers(self, version: Version) -> bool:
        # The OSV spec's evaluation: events in version order, "0" first.
        affected = False
        for kind, at in sorted(self.events, key=_event_order):
            if kind == "introduced" and (at is None or version >= at):
                affected = True
            elif kind == "fixed" and at is not None and version >= at:
                affected = False
            elif kind == "last_affected" and at is not None and version > at:
                affected = False
        return affected

    @property
    def fixed(self) -> tuple[str, ...]:
        return tuple(str(at) for kind, at in self.events if kind == "fixed" and at is not None)


def _event_order(event: tuple[str, Version | None]) -> tuple[int, Version]:
    kind, at = event
    return (0, Version("0")) if at is None else (1, at)


@dataclass(frozen=True)
class _Affected:
    ecosystem: str
    name: str
    ranges: tuple[_Range, ...]
    versions: frozenset[str]

    def covers(self, version: str) -> bool:
        if version in self.versions:
            return True
        try:
            parsed = Version(version)
        except InvalidVersion:
            return False
        return any(r.covers(parsed) for r in self.ranges)

    @property
    def fixed(self) -> tuple[str, ...]:
        return tuple(sorted({f for r in self.ranges for f in r.fixed}, key=_sort_key))


@dataclass(frozen=True)
class Advisory:
    """One OSV record, as much of it as an audit reports."""

    id: str
    summary: str
    aliases: tuple[str, ...]
    score: float | None
    level: str  # one of LEVELS, "none" or "unknown"
    url: str
    origin: str  # the file (or URL) it was read from
    affected: tuple[_Affected, ...] = field(repr=False)
    withdrawn: bool = False


@dataclass(frozen=True)
class OsvDatabase:
    """Advisories indexed by (ecosystem, package name)."""

    source: str
    advisories: tuple[Advisory, ...]

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[tuple[Advisory, _Affected]]] = {}
        for advisory in self.advisories:
            if advisory.withdrawn:
                continue  # the OSV spec: a withdrawn record is no advisory (pip-audit agrees)
            for entry in advisory.affected:
                index.setdefault((entry.ecosystem, entry.name), []).append((advisory, entry))
        object.__setattr__(self, "_index", index)

    def matching(self, ecosystem: str, name: str, version: str) -> list[tuple[Advisory, str]]:
        """Every advisory covering ``name`` at ``version``, with the first fixed version."""
        index: dict[tuple[str, str], list[tuple[Advisory, _Affected]]] = self._index  # type: ignore[attr-defined]
        found: dict[str, tuple[Advisory, str]] = {}
        for advisory, entry in index.get((ecosystem, _key(ecosystem, name)), ()):
            if advisory.id not in found and entry.covers(version):
                later = [f for f in entry.fixed if _sort_key(f) > _sort_key(version)]
                found[advisory.id] = (advisory, later[0] if later else "")
        return [found[k] for k in sorted(found)]

    @classmethod
    def from_records(cls, source: str, records: Iterable[tuple[str, object]]) -> OsvDatabase:
        """Parse ``(origin, record)`` pairs; a record that is not OSV raises ``AuditError``
        naming its origin."""
        return cls(source, tuple(parse_record(data, origin) for origin, data in records))

    @classmethod
    def load(cls, path: Path) -> OsvDatabase:
        """Every ``*.json`` / ``*.yaml`` / ``*.yml`` record under a directory or in a zip."""
        if path.is_dir():
            records = _dir_records(path)
        elif path.is_file() and zipfile.is_zipfile(path):
            records = _zip_records(path)
        else:
            raise AuditError(
                f"{path}: not a directory or zip of OSV records (JSON or YAML)", path=path
            )
        return cls.from_records(str(path), records)


def _dir_records(root: Path) -> Iterator[tuple[str, object]]:
    for file in sorted(root.rglob("*")):
        if file.suffix.lower() in _SUFFIXES and file.is_file() and not file.is_symlink():
            if file.stat().st_size > _RECORD_LIMIT:
                raise AuditError(f"{file}: too large for an OSV record", path=file)
            yield str(file), _decode(file.read_bytes(), str(file))


def _zip_records(path: Path) -> Iterator[tuple[str, object]]:
    try:
        with zipfile.ZipFile(path) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                suffix = PurePosixPath(info.filename).suffix.lower()
                if info.is_dir() or suffix not in _SUFFIXES:
                    continue
                origin = f"{path}!{info.filename}"
                if info.file_size > _RECORD_LIMIT:
                    raise AuditError(f"{origin}: too large for an OSV record", path=path)
                yield origin, _decode(archive.read(info), origin)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        raise AuditError(f"{path}: unreadable zip of OSV records ({exc})", path=path) from None


def _decode(data: bytes, origin: str) -> object:
    try:
        text = data.decode("utf-8")
        if origin.lower().endswith(".json"):
            return json.loads(text)
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, in C when built
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AuditError(f"{origin}: not an OSV record: {reason}", path=origin) from None


def parse_record(data: object, origin: str) -> Advisory:
    """One OSV record (a mapping); ``AuditError`` naming ``origin`` and the field otherwise."""
    record = _mapping(data, origin, "the record")
    ident = record.get("id")
    if not isinstance(ident, str) or not ident.strip():
        raise AuditError(f"{shorten(origin)}: an OSV record needs a string 'id'", path=origin)
    where = f"{shorten(origin)} ({shorten(ident)})"
    affected = tuple(
        _affected(entry, f"{where} affected[{i}]")
        for i, entry in enumerate(_list(record.get("affected"), where, "affected"))
    )
    summary = record.get("summary") or record.get("details") or ""
    aliases = _list(record.get("aliases"), where, "aliases")
    score, level = _severity(record, where)
    refs = [r for r in _list(record.get("references"), where, "references") if isinstance(r, dict)]
    advisory_urls = [r.get("url") for r in refs if r.get("type") == "ADVISORY"]
    url = next(
        (u for u in [*advisory_urls, *(r.get("url") for r in refs)] if isinstance(u, str)), ""
    )
    return Advisory(
        id=ident.strip(),
        summary=" ".join(str(summary).split())[:300],
        aliases=tuple(sorted(str(a) for a in aliases)),
        score=score,
        level=level,
        url=url or f"https://osv.dev/vulnerability/{ident.strip()}",
        origin=origin,
        affected=affected,
        withdrawn=bool(record.get("withdrawn")),
    )


def _affected(data: object, where: str) -> _Affected:
    entry = _mapping(data, where, "the entry")
    package = _mapping(entry.get("package") or {}, where, "package")
    ecosystem, name = package.get("ecosystem", ""), package.get("name", "")
    if not isinstance(ecosystem, str) or not isinstance(name, str):
        raise AuditError(f"{where}: package 'ecosystem' and 'name' must be strings", path=where)
    ecosystem = ecosystem.split(":", 1)[0]  # "Debian:11" and the like: the ecosystem alone
    ranges = []
    for i, body in enumerate(_list(entry.get("ranges"), where, "ranges")):
        kind = _mapping(body, f"{where} ranges[{i}]", "the range").get("type")
        if kind in ("ECOSYSTEM", "SEMVER"):  # GIT ranges name commits, not releases
            ranges.append(_range(body, f"{where} ranges[{i}]"))
    versions = frozenset(str(v) for v in _list(entry.get("versions"), where, "versions"))
    return _Affected(ecosystem, _key(ecosystem, name), tuple(ranges), versions)


def _range(body: dict[str, Any], where: str) -> _Range:
    events: list[tuple[str, Version | None]] = []
    for event in _list(body.get("events"), where, "events"):
        for kind, value in _mapping(event, where, "an event").items():
            if kind not in ("introduced", "fixed", "last_affected"):
                continue  # "limit" bounds GIT ranges only
            if str(value) == "0" and kind == "introduced":
                events.append((kind, None))
                continue
            try:
                events.append((kind, Version(str(value))))
            except InvalidVersion:
                raise AuditError(
                    f"{where}: {kind} {str(value)[:80]!r} is not a version this audit can "
                    "compare (PEP 440)",
                    path=where,
                ) from None
    return _Range(tuple(events))


def _severity(record: dict[str, Any], where: str) -> tuple[float | None, str]:
    scores = []
    for entry in _list(record.get("severity"), where, "severity"):
        if not isinstance(entry, dict) or not isinstance(entry.get("score"), str):
            continue
        kind, vector = entry.get("type"), entry["score"]
        try:
            if kind == "CVSS_V3":
                scores.append(float(CVSS3(vector).base_score))
            elif kind == "CVSS_V4":
                scores.append(float(CVSS4(vector).base_score))
        except (CVSSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise AuditError(f"{where}: {kind} {vector[:120]!r} is not a CVSS vector",
                             path=where) from None  # fmt: skip
    if scores:
        return max(scores), level_of(max(scores))
    specific = record.get("database_specific")
    named = specific.get("severity") if isinstance(specific, dict) else None
    level = _GHSA_LEVELS.get(str(named).lower()) if named is not None else None
    return None, level or "unknown"


def _mapping(value: object, where: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AuditError(f"{where}: {what} must be a mapping", path=where)
    return value


def _list(value: object, where: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise AuditError(f"{where}: '{what}' must be a list", path=where)
    return value


def _key(ecosystem: str, name: str) -> str:
    return str(canonicalize_name(name)) if ecosystem == "PyPI" else name.strip().lower()


def _sort_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


@dataclass(frozen=True)
class AuditedPackage:
    """One package of the lock (across its platforms), with its license facts."""

    name: str
    version: str
    kind: str  # "conda" or "pypi"
    purl: str
    platforms: tuple[str, ...]
    license: str | None  # SPDX when it normalises, else the text as written; None: unknown
    license_source: str = ""  # "lock", "conda-meta", "metadata" or ""
    provides: str = ""  # the PyPI distribution a conda package provides, if any

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "kind": self.kind, "purl": self.purl,
            "platforms": list(self.platforms), "license": self.license or "unknown",
            "license_source": self.license_source, "provides": self.provides,
        }  # fmt: skip


@dataclass(frozen=True)
class AuditReport:
    """What ``audit`` found: every package, and the findings about them."""

    target: str
    source: str
    fail_on: str
    packages: tuple[AuditedPackage, ...]
    findings: tuple[Finding, ...]

    @property
    def blocking(self) -> bool:
        return any(f.blocking for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "osv": self.source,
            "fail_on": self.fail_on,
            "packages": [p.to_json() for p in self.packages],
            "findings": [f.to_json() for f in self.findings],
        }


def license_of(text: str | None) -> str | None:
    """``text`` as an SPDX expression when it is one, else as written; None when absent."""
    if text is None or not text.strip() or text.strip().upper() in ("UNKNOWN", "NONE"):
        return None
    return license_text(text)


def audit(
    lock: Lock | Sequence[Lock],
    db: OsvDatabase,
    *,
    target: str = "",
    fail_on: str = "low",
    ignored: Mapping[str, str] | None = None,
    licenses: Mapping[tuple[str, str, str], tuple[str | None, str]] | None = None,
    license_check: LicenseCheck | None = None,
) -> AuditReport:
    """Match every package of ``lock`` (or of several, a bundle's) against ``db``.

    A vulnerability at or above ``fail_on`` (or of unknown severity) is an error, else a
    warning; ``ignored`` maps advisory ids or aliases to the reason they are ignored (the
    finding stays, waived). ``licenses`` maps (kind, name, version) to (license, source)
    for packages whose lock entry has none; ``license_check`` turns a package's license
    into findings (the policy's license rules).
    """
    if fail_on not in LEVELS:
        raise AuditError(f"--fail-on {fail_on!r}: use one of {', '.join(LEVELS)}")
    packages = _packages((lock,) if isinstance(lock, Lock) else tuple(lock), licenses or {})
    findings: list[Finding] = []
    for package in packages:
        findings += _vulnerabilities(package, db, fail_on, ignored or {})
        if license_check is not None:
            findings += license_check(package)
    findings.sort(key=lambda f: (f.package, f.kind, f.version, f.rule))
    return AuditReport(target, db.source, fail_on, tuple(packages), tuple(findings))


def _packages(
    locks: tuple[Lock, ...], licenses: Mapping[tuple[str, str, str], tuple[str | None, str]]
) -> list[AuditedPackage]:
    seen: dict[tuple[str, str, str], AuditedPackage] = {}
    bodies = [p for lock in locks for p in lock.platforms.values()]
    for p in sorted(bodies, key=lambda b: b.platform):
        platform = p.platform
        provides = {conda: dist for dist, conda in p.provided.items()}
        entries: list[LockedConda | LockedPypi] = [*p.conda, *p.pypi]
        for entry in entries:
            kind = "conda" if isinstance(entry, LockedConda) else "pypi"
            key = (kind, entry.name, entry.version)
            if key in seen:
                found = seen[key]
                if platform not in found.platforms:
                    seen[key] = replace(found, platforms=(*found.platforms, platform))
                continue
            purl = purl_of(entry)  # as the policy's findings name it
            if isinstance(entry, LockedConda):
                known = (license_of(entry.license), "lock") if entry.license else None
            else:
                known = None
            if known is None:
                text, source = licenses.get(key, (None, ""))
                known = (license_of(text), source if text else "")
            seen[key] = AuditedPackage(
                name=entry.name, version=entry.version, kind=kind, purl=purl,
                platforms=(platform,), license=known[0], license_source=known[1],
                provides=provides.get(entry.name, "") if kind == "conda" else "",
            )  # fmt: skip
    return sorted(seen.values(), key=lambda a: (a.name, a.kind, a.version))


def _vulnerabilities(
    package: AuditedPackage, db: OsvDatabase, fail_on: str, ignored: Mapping[str, str]
) -> list[Finding]:
    matches: list[tuple[Advisory, str, str]] = []  # advisory, fixed in, through
    if package.kind == "pypi":
        matches += [(a, f, "") for a, f in db.matching("PyPI", package.name, package.version)]
    else:
        if package.provides:
            through = f"PyPI {package.provides}"
            found = db.matching("PyPI", package.provides, package.version)
            matches += [(a, f, through) for a, f in found]
        matches += [(a, f, "") for a, f in db.matching("conda", package.name, package.version)]
    out = []
    for advisory, fixed, through in matches:
        blocking = advisory.level == "unknown" or (
            advisory.level in LEVELS and LEVELS.index(advisory.level) >= LEVELS.index(fail_on)
        )
        waiver = next((ignored[i] for i in (advisory.id, *advisory.aliases) if i in ignored), None)
        score = f"{advisory.score:.1f}" if advisory.score is not None else ""
        details = [("level", advisory.level), ("cvss", score), ("fixed", fixed),
                   ("aliases", " ".join(advisory.aliases)), ("url", advisory.url),
                   ("through", through), ("advisory", advisory.origin)]  # fmt: skip
        via = f" (through {through})" if through else ""
        fix = f"; fixed in {fixed}" if fixed else "; no fixed version"
        out.append(
            Finding(
                rule=f"vulnerability:{advisory.id}",
                severity="error" if blocking else "warning",
                message=(
                    f"{package.name} {package.version}{via}: {advisory.id} "
                    f"({advisory.level}{' ' + score if score else ''}){fix}: {advisory.summary}"
                ),
                package=package.name,
                version=package.version,
                kind="conda" if package.kind == "conda" else "pypi",
                platform=",".join(package.platforms),
                purl=package.purl,
                reason=advisory.summary or None,
                waived_by=waiver,
                details=tuple((k, v) for k, v in details if v),
            )
        )
    return out

"""The policy file, ``amber-policy.toml``: its rules as frozen values, read from TOML text.

Reading takes text (and, for ``extends``, a callable that hands back the text of another
policy): this package opens no file and no network of its own choosing; the API does.
Every error names the file and the line of the entry (``PolicyError``).
"""

from __future__ import annotations

import datetime
import fnmatch
import functools
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NoReturn

from packaging.utils import canonicalize_name

from amber.errors import PolicyError

__all__ = [
    "Ban",
    "Cooldown",
    "Licenses",
    "Policy",
    "SourceRule",
    "Vulnerabilities",
    "VulnerabilityIgnore",
    "Waiver",
    "read_policy",
    "merged",
    "POLICY_NAME",
]

POLICY_NAME = "amber-policy.toml"
Kind = Literal["conda", "pypi", ""]
_SEVERITIES = ("low", "medium", "high", "critical")
_KINDS = ("conda", "pypi")


@functools.lru_cache(maxsize=1 << 16)
def normal(name: str) -> str:
    """A package name as rules compare it (PEP 503, which conda names also satisfy); cached:
    the solver asks about every record a request reaches (thousands on a real channel)."""
    return str(canonicalize_name(name))


@dataclass(frozen=True)
class SourceRule:
    """Channels and PyPI indexes (URL glob patterns, ``*`` any text) allowed or denied:
    conda's ``allowlist_channels`` / ``denylist_channels``, for both kinds."""

    id: str
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    kind: Kind = ""
    reason: str = ""
    line: int | None = None

    def applies(self, kind: str) -> bool:
        return not self.kind or self.kind == kind


@dataclass(frozen=True)
class Ban:
    """A package (optionally a version range and build) that may not be in an env."""

    id: str
    name: str
    reason: str
    version: str = ""  # a conda version spec (kind conda) or a PEP 440 specifier (pypi)
    build: str = ""  # a glob over the build string (conda)
    kind: Kind = ""
    use_instead: str = ""
    line: int | None = None

    def matches(self, kind: str, name: str, version: str, build: str = "") -> bool:
        if self.kind and self.kind != kind or normal(name) != normal(self.name):
            return False
        if self.build and not fnmatch.fnmatchcase(build, self.build):
            return False
        return not self.version or _version_in(kind, version, self.version)

    def describe(self) -> str:
        what = " ".join(x for x in (self.name, self.version, self.build) if x)
        instead = f"; use {self.use_instead} instead" if self.use_instead else ""
        return f"ban `{self.id}` ({what}; reason: {self.reason}{instead})"


@dataclass(frozen=True)
class Licenses:
    """SPDX license ids or glob patterns (``GPL-*``): allowed, to be reviewed, denied."""

    allow: tuple[str, ...] = ()
    review: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    unknown: Literal["allow", "warn", "error"] = "warn"
    reason: str = ""
    line: int | None = None


@dataclass(frozen=True)
class VulnerabilityIgnore:
    id: str
    reason: str
    expires: datetime.date | None = None
    line: int | None = None


@dataclass(frozen=True)
class Vulnerabilities:
    """``fail-on``: the lowest CVSS severity that blocks; ``ignore``: advisories let pass."""

    fail_on: Literal["low", "medium", "high", "critical"] | None = None
    ignore: tuple[VulnerabilityIgnore, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Cooldown:
    """Nothing published in the last ``days`` days, except the exempt packages (``name``,
    ``conda:name`` or ``pypi:name``) and channels/indexes (URL globs)."""

    days: int = 0
    exempt_packages: tuple[str, ...] = ()
    exempt_sources: tuple[str, ...] = ()
    reason: str = ""
    line: int | None = None

    def exempt(self, kind: str, name: str, source: str = "") -> bool:
        name = normal(name)
        for entry in self.exempt_packages:
            k, _, n = entry.rpartition(":")
            if normal(n) == name and (not k or k == kind):
                return True
        return bool(source) and any(_url_match(source, p) for p in self.exempt_sources)

    def cutoff(self, today: datetime.datetime) -> datetime.datetime | None:
        return today - datetime.timedelta(days=self.days) if self.days else None


@dataclass(frozen=True)
class Waiver:
    """Lets one finding pass until ``expires``: ``rule`` as findings name it (``ban:ID``,
    ``license``, ``source``, ``cooldown``, ``vulnerability:ID``; ``ban`` for any ban)."""

    rule: str
    package: str
    reason: str
    expires: datetime.date
    line: int | None = None

    def covers(self, rule: str, package: str) -> bool:
        head = rule.split(":", 1)[0]
        return (self.rule == rule or self.rule == head) and normal(self.package) == normal(package)


@dataclass(frozen=True)
class Policy:
    """An organisation's rules; ``digest`` names the text they were read from (extends too)."""

    source: str = ""
    digest: str = ""
    sources: tuple[SourceRule, ...] = ()
    bans: tuple[Ban, ...] = ()
    licenses: Licenses = field(default_factory=Licenses)
    vulnerabilities: Vulnerabilities = field(default_factory=Vulnerabilities)
    cooldown: Cooldown = field(default_factory=Cooldown)
    waivers: tuple[Waiver, ...] = ()
    max_waiver_days: int | None = None
    # What it was read from, for the memos of `amber run`: (local path, its stat fingerprint
    # before it was read, the sha256 of what was read); a URL or remote object: (ref, "", "").
    inputs: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)

    @property
    def local(self) -> bool:
        """Whether every file it was read from is local (a memo can watch it)."""
        return all(fingerprint for _, fingerprint, _ in self.inputs)

    def source_refusal(self, kind: str, url: str) -> SourceRule | None:
        """The rule that refuses ``url`` as a ``kind`` source, or ``None``."""
        for rule in self.sources:
            if rule.applies(kind) and any(_url_match(url, p) for p in rule.deny):
                return rule
        for rule in self.sources:
            if (
                rule.applies(kind)
                and rule.allow
                and not any(_url_match(url, p) for p in rule.allow)
            ):
                return rule
        return None

    def ban_of(self, kind: str, name: str, version: str, build: str = "") -> Ban | None:
        return next((b for b in self.bans if b.matches(kind, name, version, build)), None)


def _url_match(url: str, pattern: str) -> bool:
    url, pattern = url.rstrip("/"), pattern.rstrip("/")
    return fnmatch.fnmatchcase(url, pattern) or fnmatch.fnmatchcase(url, pattern + "/*")


def _version_in(kind: str, version: str, spec: str) -> bool:
    if kind == "pypi":
        # Imported on use: `amber lock` of a conda spec parses no PEP 440 specifier.
        from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415

        try:
            return SpecifierSet(spec).contains(version, prereleases=True)
        except InvalidSpecifier:
            return False
    import rattler  # noqa: PLC0415 - only conda bans need it; the policy reader stays light

    try:
        return bool(rattler.VersionSpec(spec).matches(rattler.Version(version)))
    except Exception:  # rattler raises its own for an unparsable version
        return False


# -- reading ----------------------------------------------------------------------------

Fetch = Callable[[str, str], tuple[str, str]]  # (reference, from source) -> (text, source)


def read_policy(
    text: str,
    source: str,
    *,
    fetch: Fetch | None = None,
    today: datetime.date | None = None,
) -> Policy:
    """The policy in ``text`` (read from ``source``, a path or URL named in messages), over
    the policies it ``extends`` (their text from ``fetch``); ``PolicyError`` otherwise."""
    return _read(text, source, fetch, today or datetime.date.today(), ())


def _read(
    text: str, source: str, fetch: Fetch | None, today: datetime.date, seen: tuple[str, ...]
) -> Policy:
    if source in seen:
        raise PolicyError(f"extends itself through {' -> '.join((*seen, source))}", path=source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_of_message(str(exc))
        raise PolicyError(f"not valid TOML: {exc}", path=source, line=line) from None
    reader = _Reader(text, source)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        reader.fail(
            f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})", unknown[0]
        )
    base = Policy()
    for ref in reader.strings(data, "extends", "extends"):
        if fetch is None:
            reader.fail(f"extends {ref!r}, but nothing here can fetch it", "extends")
        try:
            parent_text, parent_source = fetch(ref, source)
        except PolicyError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to get it is the user's to fix
            reader.fail(f"extends {ref!r}, which cannot be read: {exc}", "extends")
        base = _merge(base, _read(parent_text, parent_source, fetch, today, (*seen, source)))
    own = reader.policy(data, today)
    merged = _merge(base, own)
    digest = hashlib.sha256(f"{base.digest}\n{text}".encode()).hexdigest()
    return replace(merged, source=source, digest=digest)


_TOP_KEYS = {
    "extends", "sources", "bans", "licenses", "vulnerabilities", "cooldown", "waivers",
    "max-waiver-days", "reason",
}  # fmt: skip


def merged(base: Policy, own: Policy) -> Policy:
    """``own`` over ``base`` (an organisation's policy under a project's), as ``extends``."""
    digest = hashlib.sha256(f"{base.digest}\n{own.digest}".encode()).hexdigest()
    return replace(_merge(base, own), source=own.source, digest=digest)


def _merge(base: Policy, own: Policy) -> Policy:
    """A project's policy over its organisation's: rules add up (a project can narrow,
    never widen, what its organisation allows), scalar settings of the project win."""
    licenses = Licenses(
        allow=own.licenses.allow or base.licenses.allow,
        review=(*base.licenses.review, *own.licenses.review),
        deny=(*base.licenses.deny, *own.licenses.deny),
        unknown=own.licenses.unknown if own.licenses.line else base.licenses.unknown,
        reason=own.licenses.reason or base.licenses.reason,
        line=own.licenses.line or base.licenses.line,
    )
    vulns = Vulnerabilities(
        fail_on=own.vulnerabilities.fail_on or base.vulnerabilities.fail_on,
        ignore=(*base.vulnerabilities.ignore, *own.vulnerabilities.ignore),
        reason=own.vulnerabilities.reason or base.vulnerabilities.reason,
    )
    cooldown = Cooldown(
        days=max(own.cooldown.days, base.cooldown.days),
        exempt_packages=(*base.cooldown.exempt_packages, *own.cooldown.exempt_packages),
        exempt_sources=(*base.cooldown.exempt_sources, *own.cooldown.exempt_sources),
        reason=own.cooldown.reason or base.cooldown.reason,
        line=own.cooldown.line or base.cooldown.line,
    )
    limits = [d for d in (base.max_waiver_days, own.max_waiver_days) if d is not None]
    return Policy(
        sources=(*base.sources, *own.sources),
        bans=(*base.bans, *own.bans),
        licenses=licenses,
        vulnerabilities=vulns,
        cooldown=cooldown,
        waivers=(*base.waivers, *own.waivers),
        max_waiver_days=min(limits) if limits else None,
    )


def _line_of_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


class _Reader:
    """Checks the parsed TOML, naming the line of each entry (tomllib gives none after
    parsing: the n-th ``[[bans]]`` header, or the line a key is on, is found in the text)."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def line_of(self, key: str, nth: int = 0) -> int | None:
        header = re.compile(rf"^\s*\[\[\s*{re.escape(key)}\s*\]\]")
        plain = re.compile(rf'^\s*(\[\s*)?"?{re.escape(key)}"?\s*[=\]]')
        found = [i + 1 for i, line in enumerate(self.lines) if header.match(line)]
        if len(found) > nth:
            return found[nth]
        found = [i + 1 for i, line in enumerate(self.lines) if plain.match(line)]
        return found[0] if found else None

    def fail(self, message: str, key: str, nth: int = 0) -> NoReturn:
        raise PolicyError(message, path=self.source, line=self.line_of(key, nth))

    # typed getters -------------------------------------------------------------------
    def strings(
        self, table: Mapping[str, Any], key: str, where: str, nth: int = 0
    ) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(f"{where}: {key!r} must be a list of non-empty strings", key, nth)
        return tuple(value)

    def string(self, table: Mapping[str, Any], key: str, where: str, *, required: bool = False,
               nth: int = 0, line_key: str | None = None) -> str:  # fmt: skip
        value = table.get(key)
        if value is None:
            if required:
                self.fail(f"{where}: {key!r} is required", line_key or key, nth)
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{where}: {key!r} must be a non-empty string", line_key or key, nth)
        return str(value)

    def entries(self, data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(f"{key!r} must be an array of tables ([[{key}]])", key)
        return list(value)

    def table(self, data: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(f"{key!r} must be a table ([{key}])", key)
        return dict(value)

    def known(
        self, table: Mapping[str, Any], keys: set[str], where: str, key: str, nth: int = 0
    ) -> None:
        extra = sorted(set(table) - keys)
        if extra:
            self.fail(
                f"{where}: unknown key {extra[0]!r} (known: {', '.join(sorted(keys))})", key, nth
            )

    def kind(self, table: Mapping[str, Any], where: str, key: str, nth: int) -> Kind:
        kind = self.string(table, "kind", where, nth=nth, line_key=key)
        if kind and kind not in _KINDS:
            self.fail(f"{where}: kind {kind!r} is neither 'conda' nor 'pypi'", key, nth)
        return kind  # type: ignore[return-value]

    def date(
        self, table: Mapping[str, Any], key: str, where: str, line_key: str, nth: int
    ) -> datetime.date | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        return self.fail(
            f"{where}: {key!r} must be a date (2026-12-31), not {value!r}", line_key, nth
        )

    def days(self, table: Mapping[str, Any], key: str, where: str, line_key: str) -> int | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, str) and re.fullmatch(r"\d+d", value.strip()):
            value = int(value.strip()[:-1])
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(
                f'{where}: {key!r} must be a number of days (7 or "7d"), not {value!r}', line_key
            )
        return int(value)

    # sections --------------------------------------------------------------------------
    def policy(self, data: Mapping[str, Any], today: datetime.date) -> Policy:
        max_days = self.days(data, "max-waiver-days", "max-waiver-days", "max-waiver-days")
        return Policy(
            sources=tuple(
                self.source_rule(e, i) for i, e in enumerate(self.entries(data, "sources"))
            ),
            bans=tuple(self.ban(e, i) for i, e in enumerate(self.entries(data, "bans"))),
            licenses=self.licenses(self.table(data, "licenses")),
            vulnerabilities=self.vulnerabilities(self.table(data, "vulnerabilities")),
            cooldown=self.cooldown(self.table(data, "cooldown")),
            waivers=tuple(
                self.waiver(e, i, today, max_days)
                for i, e in enumerate(self.entries(data, "waivers"))
            ),
            max_waiver_days=max_days,
        )

    def source_rule(self, entry: Mapping[str, Any], nth: int) -> SourceRule:
        where = f"[[sources]] #{nth + 1}"
        self.known(entry, {"id", "allow", "deny", "kind", "reason"}, where, "sources", nth)
        rule = SourceRule(
            id=self.string(entry, "id", where, nth=nth, line_key="sources") or f"sources-{nth + 1}",
            allow=self.strings(entry, "allow", where, nth),
            deny=self.strings(entry, "deny", where, nth),
            kind=self.kind(entry, where, "sources", nth),
            reason=self.string(entry, "reason", where, required=True, nth=nth, line_key="sources"),
            line=self.line_of("sources", nth),
        )
        if not rule.allow and not rule.deny:
            self.fail(f"{where}: give 'allow' or 'deny' URL patterns", "sources", nth)
        return rule

    def ban(self, entry: Mapping[str, Any], nth: int) -> Ban:
        where = f"[[bans]] #{nth + 1}"
        keys = {"id", "name", "version", "build", "kind", "reason", "use-instead"}
        self.known(entry, keys, where, "bans", nth)
        name = self.string(entry, "name", where, required=True, nth=nth, line_key="bans")
        kind = self.kind(entry, where, "bans", nth)
        version = self.string(entry, "version", where, nth=nth, line_key="bans")
        if version:
            self.check_version(kind, version, where, nth)
        return Ban(
            id=self.string(entry, "id", where, nth=nth, line_key="bans") or name,
            name=name,
            reason=self.string(entry, "reason", where, required=True, nth=nth, line_key="bans"),
            version=version,
            build=self.string(entry, "build", where, nth=nth, line_key="bans"),
            kind=kind,
            use_instead=self.string(entry, "use-instead", where, nth=nth, line_key="bans"),
            line=self.line_of("bans", nth),
        )

    def check_version(self, kind: str, version: str, where: str, nth: int) -> None:
        kinds = [kind] if kind else ["conda", "pypi"]
        for k in kinds:
            try:
                if k == "pypi":
                    from packaging.specifiers import SpecifierSet  # noqa: PLC0415 - see above

                    SpecifierSet(version)
                else:
                    import rattler  # noqa: PLC0415 - see _version_in

                    rattler.VersionSpec(version)
                return
            except Exception:  # noqa: BLE001,S112 - try the other kind's syntax
                continue
        self.fail(
            f"{where}: version {version!r} is not a version spec ({' or '.join(kinds)})",
            "bans",
            nth,
        )

    def licenses(self, table: Mapping[str, Any]) -> Licenses:
        if not table:
            return Licenses()
        where = "[licenses]"
        self.known(table, {"allow", "review", "deny", "unknown", "reason"}, where, "licenses")
        unknown = self.string(table, "unknown", where, line_key="licenses") or "warn"
        if unknown not in ("allow", "warn", "error"):
            self.fail(f"{where}: unknown = {unknown!r}: use 'allow', 'warn' or 'error'", "licenses")
        return Licenses(
            allow=self.strings(table, "allow", where),
            review=self.strings(table, "review", where),
            deny=self.strings(table, "deny", where),
            unknown=unknown,  # type: ignore[arg-type]
            reason=self.string(table, "reason", where, line_key="licenses"),
            line=self.line_of("licenses"),
        )

    def vulnerabilities(self, table: Mapping[str, Any]) -> Vulnerabilities:
        where = "[vulnerabilities]"
        self.known(table, {"fail-on", "ignore", "reason"}, where, "vulnerabilities")
        fail_on = self.string(table, "fail-on", where, line_key="fail-on").lower() or None
        if fail_on is not None and fail_on not in _SEVERITIES:
            self.fail(
                f"{where}: fail-on = {fail_on!r}: use one of {', '.join(_SEVERITIES)}", "fail-on"
            )
        ignores = []
        for i, entry in enumerate(self.entries(table, "ignore")):
            w = f"{where} ignore #{i + 1}"
            self.known(entry, {"id", "reason", "expires"}, w, "ignore")
            ignores.append(
                VulnerabilityIgnore(
                    id=self.string(entry, "id", w, required=True, line_key="ignore"),
                    reason=self.string(entry, "reason", w, required=True, line_key="ignore"),
                    expires=self.date(entry, "expires", w, "ignore", 0),
                    line=self.line_of("ignore"),
                )
            )
        return Vulnerabilities(
            fail_on=fail_on,  # type: ignore[arg-type]
            ignore=tuple(ignores),
            reason=self.string(table, "reason", where, line_key="vulnerabilities"),
        )

    def cooldown(self, table: Mapping[str, Any]) -> Cooldown:
        if not table:
            return Cooldown()
        where = "[cooldown]"
        keys = {"days", "exempt-packages", "exempt-channels", "reason"}
        self.known(table, keys, where, "cooldown")
        return Cooldown(
            days=self.days(table, "days", where, "cooldown") or 0,
            exempt_packages=self.strings(table, "exempt-packages", where),
            exempt_sources=self.strings(table, "exempt-channels", where),
            reason=self.string(table, "reason", where, line_key="cooldown"),
            line=self.line_of("cooldown"),
        )

    def waiver(
        self, entry: Mapping[str, Any], nth: int, today: datetime.date, max_days: int | None
    ) -> Waiver:
        where = f"[[waivers]] #{nth + 1}"
        self.known(entry, {"rule", "package", "reason", "expires"}, where, "waivers", nth)
        expires = self.date(entry, "expires", where, "waivers", nth)
        if expires is None:
            self.fail(f"{where}: 'expires' is required (a waiver is temporary)", "waivers", nth)
        assert expires is not None
        package = self.string(entry, "package", where, required=True, nth=nth, line_key="waivers")
        if max_days is not None and (expires - today).days > max_days:
            self.fail(
                f"{where}: the waiver for {package} expires {expires}, "
                f"{(expires - today).days} days from today, more than max-waiver-days = "
                f"{max_days}: choose an earlier date",
                "waivers",
                nth,
            )
        return Waiver(
            rule=self.string(entry, "rule", where, required=True, nth=nth, line_key="waivers"),
            package=package,
            reason=self.string(entry, "reason", where, required=True, nth=nth, line_key="waivers"),
            expires=expires,
            line=self.line_of("waivers", nth),
        )

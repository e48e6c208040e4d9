"""The ``Spec`` value: what a user asked for, canonicalised, and its ``req_id``.

A ``Spec`` is parsed once at the edge (environment.yml, requirements.txt, the
Python API), canonicalised, and immutable afterwards. Two specs that mean the
same thing have the same canonical form and so the same ``req_id``.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from amber._auth import git_repository, remember
from amber._input import MAX_ENTRIES, shorten
from amber._names import canonical_name
from amber._platform import host_platform
from amber._python import installed_interpreters, version_key
from amber._urls import channel_url, redact, redact_text
from amber.channels import VARIABLE, CondaConfig
from amber.errors import ConfigError, InterpreterNotFoundError, SpecError

__all__ = [
    "Spec", "SCHEMA", "PLATFORMS", "SYSTEM_REQUIREMENTS", "canonical_conda_spec",
    "canonical_pypi_requirement", "checked_channel", "from_file", "is_unnamed",
    "local_directory",
]  # fmt: skip

SCHEMA = 1
# Every platform rattler knows (``rattler.Platform.all()`` but noarch), spelled out here so
# that reading a lock's spec loads no native module; a test keeps the two equal.
PLATFORMS = (
    "linux-32", "linux-64", "linux-aarch64", "linux-armv6l", "linux-armv7l",
    "linux-loongarch64", "linux-ppc64le", "linux-ppc64", "linux-ppc", "linux-s390x",
    "linux-riscv32", "linux-riscv64", "freebsd-32", "freebsd-64", "freebsd-arm64",
    "freebsd-ppc64le", "freebsd-ppc64", "osx-64", "osx-arm64", "ios-arm64",
    "iossimulator-arm64", "iossimulator-64", "android-aarch64", "android-armv7a", "android-64",
    "android-32", "win-32", "win-64", "win-arm64", "emscripten-wasm32", "emscripten-wasm64",
    "wasi-wasm32", "zos-z",
)  # fmt: skip
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SYSTEM_REQUIREMENTS = ("archspec", "cuda", "libc", "linux", "macos")
PYPI_DEFAULT_INDEX = "https://pypi.org/simple"
_PYTHON_VERSION = re.compile(r"^\d{1,3}\.\d{1,4}(\.\d{1,4})?$")
_MAX_SPEC_CHARS = 1000
_DIGITS = re.compile(r"\d+")
_HASH_VALUE = re.compile(r"(?:md5|sha256)\s*=\s*[\"']?[0-9A-Fa-f]+")
_CHANNEL_NAME = re.compile(r"[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*")


def canonical_conda_spec(text: str) -> str:
    """A conda match spec in rattler's canonical spelling; ``SpecError`` if invalid: if
    rattler cannot parse it, or could not parse it the strict way its solver does. A
    channel URL's credentials (``https://user:pw@host/chan::pkg``) are kept in memory only
    (``amber._auth``), never in the spec."""
    # rattler's native module loads only when a conda spec is read, not a lock's spec.
    from rattler import MatchSpec  # noqa: PLC0415 - see above

    text = text.strip()
    channel, sep, rest = text.rpartition("::")
    if sep and "://" in channel:
        text = f"{remember(channel)}{sep}{rest}"
    quoted = repr(shorten(redact_text(text)))
    if len(text) > _MAX_SPEC_CHARS:
        raise SpecError(f"invalid conda match spec {quoted}: longer than {_MAX_SPEC_CHARS}")
    # rattler panics (a Rust panic, with its backtrace on stderr) on a number that does not
    # fit 64 bits: refuse those before it sees them. Hashes are hex, not numbers.
    numbers = _HASH_VALUE.sub("", text)
    if any(int(n) >= 2**63 for n in _DIGITS.findall(numbers)):
        raise SpecError(f"invalid conda match spec {quoted}: a number in it is too large")
    try:
        canonical = str(MatchSpec(text))
        # The solver reads specs strictly: `six *.*.*` is parsed, then refused at lock time.
        MatchSpec(canonical, strict=True)
    except Exception as exc:  # rattler raises its own InvalidMatchSpecError
        raise SpecError(f"invalid conda match spec {quoted}: {shorten(_first_line(exc))}") from None
    return canonical


def checked_channel(channel: str, base: Path | None = None) -> str:
    """``channel_url`` of what a user wrote, refused (``SpecError``) when it can never be
    read: a malformed URL (``http://[::1``, port 99999), an unknown ``~user``."""
    quoted = repr(shorten(redact(str(channel).strip())))
    try:
        url = channel_url(channel, base)
    except (OSError, RuntimeError, ValueError):  # expanduser of an unknown user, a NUL
        raise SpecError(f"invalid channel {quoted}: not a name, URL or readable path") from None
    if "://" in url:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as exc:
            raise SpecError(f"invalid channel URL {quoted}: {shorten(exc)}") from None
        if parts.scheme not in ("file",) and not parts.hostname:
            raise SpecError(f"invalid channel URL {quoted}: no host")
    elif not _CHANNEL_NAME.fullmatch(url):
        raise SpecError(f"invalid channel {quoted}: not a name, URL or path")
    return url


_UNNAMED = re.compile(r"^(?:git\+[a-z][a-z0-9+.-]*|https?|file)://\S+$", re.IGNORECASE)


def is_unnamed(requirement: str) -> bool:
    """Whether a PyPI requirement is an unnamed direct reference (a git URL without
    ``#egg=``, a bare URL to a wheel or an sdist): uv names it when it resolves."""
    return bool(_UNNAMED.match(requirement))


_LOCAL = re.compile(r"^(?:-e )?(?:\.|\.\.|\./\S*|\.\./\S*)$")


def local_directory(requirement: str) -> tuple[str, bool] | None:
    """(the path as written, relative to the spec file's folder; editable) of a local
    project (``-e ./path``, ``./path``), else None."""
    if not _LOCAL.match(requirement):
        return None
    editable = requirement.startswith("-e ")
    return requirement.removeprefix("-e "), editable


def canonical_pypi_requirement(text: str) -> str:
    """A PEP 508 requirement with a normalised name, sorted extras, an unnamed direct
    reference (its URL, credentials out), or a local project (``-e ./path``, ``./path``,
    relative to the spec file's folder, as the spec readers write it); ``SpecError`` if
    invalid."""
    # Imported here: PEP 508 parsing is for PyPI requirements, and `amber lock` of a conda
    # spec does without it (about 20 ms of imports; docs/ARCHITECTURE.md, the hot paths).
    from packaging.requirements import InvalidRequirement, Requirement

    if local_directory(text.strip()) is not None:
        return text.strip()
    if is_unnamed(text.strip()):
        url = text.strip()
        if url.lower().startswith("git+"):
            repo, revision = git_repository(url)
            return f"git+{remember(repo)}{revision}"
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as exc:
            raise SpecError(f"invalid URL {shorten(redact(url))!r}: {shorten(exc)}") from None
        if parts.scheme.lower() != "file" and not parts.hostname:
            raise SpecError(f"invalid URL {shorten(redact(url))!r}: no host")
        return remember(url)
    try:
        req = Requirement(text.strip())
    except InvalidRequirement as exc:
        said = f"invalid requirement {shorten(text.strip())!r}: {shorten(_first_line(exc))}"
        raise SpecError(redact_text(said)) from None
    out: str = canonical_name(req.name)
    if req.extras:
        out += "[" + ",".join(sorted(canonical_name(e) for e in req.extras)) + "]"
    if req.url and req.url.startswith("git+"):
        # Credentials are the repository's, whatever revision a lock later pins.
        repo, revision = git_repository(req.url)
        out += f" @ git+{remember(repo)}{revision}"
    elif req.url:
        out += f" @ {remember(req.url)}"
    elif req.specifier:
        out += ",".join(sorted(str(s) for s in req.specifier))
    if req.marker:
        out += f" ; {req.marker}"
    return out


def _platform(platform: str) -> str:
    if platform not in PLATFORMS:
        raise SpecError(
            f"unsupported platform {shorten(platform)!r} (supported: {', '.join(PLATFORMS)})"
        )
    return platform


def _variables(values: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """environment.yml's ``variables:``: names a shell can export, values as text (as conda
    writes them into ``conda-meta/state``)."""
    out = {}
    for key, value in values.items():
        name = str(key)
        if not _VARIABLE_NAME.match(name):
            raise SpecError(f"invalid variable name {name!r}: expected letters, digits and _")
        if value is None or isinstance(value, Mapping | list | tuple):
            raise SpecError(f"variable {name!r} needs a text value, got {value!r}")
        out[name] = str(value)
    return tuple(sorted(out.items()))


def _hashes(values: Mapping[str, object]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """pip's ``--hash=sha256:HEX`` per requirement: {name: sha256s}, canonical and sorted."""
    out = {}
    for name, hashes in values.items():
        if isinstance(hashes, str) or not isinstance(hashes, Iterable):
            raise SpecError(f"hashes of {name!r} must be a list, got {hashes!r}")
        clean = set()
        for text in hashes:
            value = str(text).strip().lower().removeprefix("sha256:")
            if not re.fullmatch(r"[0-9a-f]{64}", value):
                raise SpecError(f"invalid hash {text!r} for {name!r}: expected sha256:<64 hex>")
            clean.add(value)
        out[canonical_name(str(name))] = tuple(sorted(clean))
    return tuple(sorted(out.items()))


def _mapping(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{key!r} must be a mapping, got {value!r}")
    return value


def _system_requirements(values: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    out = {}
    for key, value in values.items():
        key = {"glibc": "libc", "osx": "macos", "kernel": "linux"}.get(str(key), str(key))
        if key not in SYSTEM_REQUIREMENTS:
            raise SpecError(
                f"unknown system requirement {shorten(key)!r} "
                f"(known: {', '.join(SYSTEM_REQUIREMENTS)})"
            )
        if isinstance(value, dict):  # pixi's long form: libc = { family = "glibc", version = }
            value = value.get("version")
        text = str(value).strip()
        # archspec names a microarchitecture; the others are versions rattler compares:
        # glibc and macOS have a major and a minor (2.28, 13.0), linux and cuda may not.
        pattern = {"archspec": r"[0-9A-Za-z_]+", "libc": r"\d+(\.\d+)*", "macos": r"\d+(\.\d+)*"}
        if not re.fullmatch(pattern.get(key, r"\d+(\.\d+)*"), text) or len(text) > 40:
            example = {"archspec": "x86_64", "libc": "2.28", "macos": "13.0"}.get(key, "12.4")
            raise SpecError(
                f"invalid version {shorten(value)!r} for system requirement {key!r} "
                f"(e.g. {key}: '{example}')"
            )
        out[key] = text
    return tuple(sorted(out.items()))


def _as_of(value: object) -> str | None:
    """An instant as canonical ISO 8601 UTC text; a date means its very start (00:00 UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().lower() == "now":
        moment = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    elif isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SpecError(
                f"invalid as-of date {shorten(value)!r}: "
                "expected YYYY-MM-DD, an ISO 8601 time or now"
            ) from None
    else:
        raise SpecError(
            f"invalid as-of date {shorten(value)!r}: expected YYYY-MM-DD, an ISO 8601 time or now"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    try:
        utc = moment.astimezone(datetime.UTC)
        utc.timestamp()  # what the solver takes: must be a time it can hold
    except (OverflowError, ValueError, OSError):
        raise SpecError(f"invalid as-of date {shorten(value)!r}: out of range") from None
    return utc.isoformat()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _interpreter_in(request: str) -> str:
    """The X.Y of an installed interpreter inside the range ``request`` (PEP 440): the
    running one when it is (a step's function pickles by value for it), else the newest."""
    from packaging.specifiers import SpecifierSet  # noqa: PLC0415 - on use, as PEP 508

    allowed = SpecifierSet(request)
    inside = [v for v in installed_interpreters() if allowed.contains(v, prereleases=True)]
    if not inside:
        listing = ", ".join(sorted(installed_interpreters(), key=version_key)) or "none"
        raise InterpreterNotFoundError(
            f"no installed Python {request} interpreter on this machine (found: {listing}). "
            "Install one (`uv python install`, `pyenv install` or your OS packages), or widen "
            "the range.",
            version=request,
        )
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if any(v == running or v.startswith(running + ".") for v in inside):
        return running
    return ".".join(max(inside, key=version_key).split(".")[:2])


def _python_request(python: str) -> str:
    """A Python version (X.Y, X.Y.Z) or range (PEP 440: ``>=3.10,<3.12``) as written;
    ``SpecError`` for anything else."""
    python = python.strip()
    if _PYTHON_VERSION.match(python):
        return python
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415 - on use

    try:
        ranged = SpecifierSet(python) if python[:1] in "<>=!~" else None
    except InvalidSpecifier:
        ranged = None
    if not ranged or len(python) > 200:
        raise SpecError(
            f"invalid python version {shorten(python)!r}: expected X.Y, X.Y.Z or a range "
            "such as '>=3.10,<3.12'"
        )
    return ",".join(sorted(str(s) for s in ranged))


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@(]", requirement, maxsplit=1)[0]


def _conda_name(spec: str) -> str:
    name = spec.split("::")[-1]
    return re.split(r"[\s<>=!~\[]", name, maxsplit=1)[0]


@dataclass(frozen=True)
class Spec:
    """What a user asked for. Build with ``Spec.create`` or ``read_spec``."""

    conda: tuple[str, ...] = ()
    pypi: tuple[str, ...] = ()
    pypi_constraints: tuple[str, ...] = ()
    # pip's --hash: {canonical name: the sha256s allowed} as ((name, (sha256, ...)), ...).
    pypi_hashes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    channels: tuple[str, ...] = ()
    python: str | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    # Virtual-package requirements of the target machines: (("cuda", "12"), ("libc", "2.31")).
    system_requirements: tuple[tuple[str, str], ...] = ()
    as_of: str | None = None  # ignore anything published after this instant (ISO 8601, UTC)
    # conda's channel_priority: "strict" or "disabled"; None is conda's default, flexible.
    channel_priority: str | None = None
    # environment.yml's ``variables:``, set in the env at run time: (("NAME", "value"), ...).
    variables: tuple[tuple[str, str], ...] = ()
    # Requirements Amber added itself (e.g. cloudpickle for steps), shown by `amber env show`.
    added: tuple[str, ...] = ()
    name: str | None = field(default=None, compare=False)
    # environment.yml's ``prefix:``: where conda would create the env (a path, not content).
    prefix: Path | None = field(default=None, compare=False)
    source: Path | None = field(default=None, compare=False)
    # Files whose bytes this spec was read from (the spec file and its includes).
    files: tuple[Path, ...] = field(default=(), compare=False)

    @classmethod
    def create(
        cls,
        *,
        conda: Iterable[str] = (),
        pypi: Iterable[str] = (),
        pypi_constraints: Iterable[str] = (),
        pypi_hashes: Mapping[str, Iterable[str]] | None = None,
        channels: Iterable[str] = (),
        python: str | None = None,
        index_url: str | None = None,
        extra_index_urls: Iterable[str] = (),
        platforms: Iterable[str] = (),
        system_requirements: Mapping[str, object] | None = None,
        as_of: object = None,
        variables: Mapping[str, object] | None = None,
        added: Iterable[str] = (),
        name: str | None = None,
        prefix: Path | None = None,
        source: Path | None = None,
        files: Iterable[Path] = (),
    ) -> Spec:
        """Validate and canonicalise; ``SpecError`` quotes the first bad entry."""
        conda, pypi, channels = list(conda), list(pypi), list(channels)
        for what, entries in (("conda", conda), ("pypi", pypi), ("channels", channels)):
            if len(entries) > MAX_ENTRIES:
                raise SpecError(f"{len(entries):,} {what} entries: at most {MAX_ENTRIES:,}")
        conda = [canonical_conda_spec(s) for s in conda]
        # Credentials written into a URL go to memory; a ``${VAR}`` stays as written, to
        # be expanded (and its credentials taken out) only where a channel is fetched.
        channels = [
            url if VARIABLE.search(url) else remember(url) for url in map(checked_channel, channels)
        ]
        if python is not None:
            python = _python_request(str(python))
        if conda or channels:
            # A conda environment gets its interpreter from conda.
            if python is not None and not any(_conda_name(s) == "python" for s in conda):
                ranged = not _PYTHON_VERSION.match(python)
                conda.append(canonical_conda_spec(f"python {python}{'' if ranged else '.*'}"))
            python = None
            if pypi and not any(_conda_name(s) == "python" for s in conda):
                conda.append("python")  # PyPI packages need an interpreter from conda
        if index_url is not None:
            index_url = remember(index_url.rstrip("/"))
            if index_url == PYPI_DEFAULT_INDEX:
                index_url = None
        return cls(
            conda=tuple(sorted(set(conda), key=lambda s: (_conda_name(s), s))),
            pypi=tuple(sorted({canonical_pypi_requirement(r) for r in pypi})),
            pypi_constraints=tuple(
                sorted({canonical_pypi_requirement(r) for r in pypi_constraints})
            ),
            pypi_hashes=_hashes(pypi_hashes or {}),
            channels=tuple(dict.fromkeys(channels)),
            python=python,
            index_url=index_url,
            extra_index_urls=tuple(
                dict.fromkeys(remember(u.rstrip("/")) for u in extra_index_urls)
            ),
            platforms=tuple(sorted(set(_platform(p) for p in platforms))),
            system_requirements=_system_requirements(system_requirements or {}),
            as_of=_as_of(as_of),
            variables=_variables(variables or {}),
            added=tuple(sorted(set(added))),
            name=name,
            prefix=prefix,
            source=source,
            files=tuple(files),
        )

    @property
    def is_conda(self) -> bool:
        """True when conda provides the interpreter (any conda package or channel)."""
        return bool(self.conda or self.channels)

    @property
    def target_platforms(self) -> tuple[str, ...]:
        return self.platforms or (host_platform(),)

    @functools.cached_property
    def python_version(self) -> str:
        """The interpreter version of a PyPI-only env (default: the one running Amber); for
        a range, the running one when it lies inside, else the newest installed that does."""
        if self.python is not None and not _PYTHON_VERSION.match(self.python):
            return _interpreter_in(self.python)
        return self.python or f"{sys.version_info.major}.{sys.version_info.minor}"

    def canonical(self) -> dict[str, object]:
        """The canonical form hashed into ``req_id``: sorted, normalised, no secrets."""
        return {
            "schema": SCHEMA,
            "channels": [redact(c) for c in self.channels],
            "conda": list(self.conda),
            "pypi": list(self.pypi),
            "pypi_constraints": list(self.pypi_constraints),
            "python": None if self.is_conda else self.python_version,
            "index_url": redact(self.index_url) if self.index_url else None,
            "extra_index_urls": [redact(u) for u in self.extra_index_urls],
            "platforms": list(self.target_platforms),
            **({"added": list(self.added)} if self.added else {}),
            **({"as_of": self.as_of} if self.as_of else {}),
            **({"channel_priority": self.channel_priority} if self.channel_priority else {}),
            **(
                {"system_requirements": dict(self.system_requirements)}
                if self.system_requirements
                else {}
            ),
            **({"variables": dict(self.variables)} if self.variables else {}),
            **(
                {"pypi_hashes": {name: list(h) for name, h in self.pypi_hashes}}
                if self.pypi_hashes
                else {}
            ),
        }

    @classmethod
    def from_canonical(cls, data: object) -> Spec:
        """The spec whose ``canonical()`` is ``data`` (a lock's spec table), taken as written:
        no re-canonicalisation, so the lock's bytes and ids stay what they were."""
        if not isinstance(data, Mapping):
            raise SpecError(f"expected a mapping, got {shorten(repr(data), 40)}")
        unknown = sorted(set(data) - _CANONICAL_KEYS)
        if unknown:
            raise SpecError(f"unknown key {shorten(repr(unknown[0]), 40)}")
        if data.get("schema") != SCHEMA:
            raise SpecError(f"spec schema {shorten(repr(data.get('schema')), 40)} is not {SCHEMA}")
        system = data.get("system_requirements") or {}
        if not isinstance(system, Mapping):
            raise SpecError(
                f"'system_requirements' must be a mapping, got {shorten(repr(system), 40)}"
            )
        variables = data.get("variables") or {}
        if not isinstance(variables, Mapping) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise SpecError(
                f"'variables' must be a mapping of strings, got {shorten(repr(variables), 40)}"
            )
        return cls(
            conda=_strings(data, "conda"),
            pypi=_strings(data, "pypi"),
            pypi_constraints=_strings(data, "pypi_constraints"),
            pypi_hashes=_hashes(_mapping(data, "pypi_hashes")),
            channels=_strings(data, "channels"),
            python=_optional_string(data, "python"),
            index_url=_optional_string(data, "index_url"),
            extra_index_urls=_strings(data, "extra_index_urls"),
            platforms=_strings(data, "platforms"),
            system_requirements=tuple(sorted((str(k), str(v)) for k, v in system.items())),
            as_of=_optional_string(data, "as_of"),
            channel_priority=_channel_priority(_optional_string(data, "channel_priority")),
            variables=tuple(sorted((str(k), v) for k, v in variables.items())),
            added=_strings(data, "added"),
        )

    def locked(self) -> Spec:
        """The form a lock records: secrets out, platforms and interpreter made explicit."""
        return Spec.from_canonical(self.canonical())

    @functools.cached_property
    def req_id(self) -> str:
        """The sha256 of the canonical form: equal for specs that mean the same thing."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def merge(self, override: Spec) -> Spec:
        """``override`` over ``self``: the same package name takes ``override``'s entry, other
        lists add up; ``override``'s python and index win when it sets them."""

        def by_name(
            base: Iterable[str], top: Iterable[str], name: Callable[[str], str]
        ) -> list[str]:
            top = list(top)
            names = {name(t) for t in top}
            return [b for b in base if name(b) not in names] + top

        def pypi_name(requirement: str) -> str:
            if local_directory(requirement) is not None or is_unnamed(requirement):
                return requirement  # named by uv only: the entry is its own key
            return canonical_name(_requirement_name(requirement))

        return Spec.create(
            conda=by_name(self.conda, override.conda, _conda_name),
            pypi=by_name(self.pypi, override.pypi, pypi_name),
            pypi_constraints=by_name(self.pypi_constraints, override.pypi_constraints, pypi_name),
            pypi_hashes={**dict(self.pypi_hashes), **dict(override.pypi_hashes)},
            channels=[*self.channels, *override.channels],
            python=override.python or self.python,
            index_url=override.index_url or self.index_url,
            extra_index_urls=[*self.extra_index_urls, *override.extra_index_urls],
            platforms=override.platforms or self.platforms,
            system_requirements={
                **dict(self.system_requirements),
                **dict(override.system_requirements),
            },
            as_of=override.as_of or self.as_of,
            variables={**dict(self.variables), **dict(override.variables)},
            name=override.name or self.name,
            prefix=override.prefix or self.prefix,
            source=override.source or self.source,
            added=sorted({*self.added, *override.added}),
        ).with_channel_priority(override.channel_priority or self.channel_priority)

    def with_default_indexes(
        self, index_url: str | None, extra_index_urls: Sequence[str] = ()
    ) -> Spec:
        """The indexes set outside the spec file (uv's environment variables) recorded in it:
        the file's own default index wins over ``index_url``; the other indexes add up."""
        if index_url is None and not extra_index_urls:
            return self
        made = Spec.create(index_url=index_url, extra_index_urls=extra_index_urls)
        return replace(
            self,
            index_url=self.index_url or made.index_url,
            extra_index_urls=tuple(dict.fromkeys([*self.extra_index_urls, *made.extra_index_urls])),
        )

    def with_platforms(self, platforms: Sequence[str]) -> Spec:
        return replace(self, platforms=tuple(sorted(set(_platform(p) for p in platforms))))

    def with_overrides(self, overrides: Mapping[str, tuple[str, str]]) -> Spec:
        """The system requirements with conda's ``CONDA_OVERRIDE_*`` over them, as conda puts
        them over what it detects: {requirement: (variable, value)}; "" removes one."""
        if not overrides:
            return self
        merged: dict[str, object] = dict(self.system_requirements)
        for requirement, (variable, value) in overrides.items():
            if not value:
                merged.pop(requirement, None)
                continue
            try:
                _system_requirements({requirement: value})
            except SpecError as exc:
                raise SpecError(f"{variable}={value!r}: {exc}", self.source) from None
            merged[requirement] = value
        return replace(self, system_requirements=_system_requirements(merged))

    def with_as_of(self, as_of: object) -> Spec:
        return replace(self, as_of=_as_of(as_of))

    def with_channel_priority(self, priority: str | None) -> Spec:
        """The spec solved with conda's ``channel_priority`` (strict, flexible, disabled)."""
        return replace(self, channel_priority=_channel_priority(priority))

    @property
    def priority(self) -> str:
        """The channel priority this spec is solved with: flexible unless it says otherwise."""
        return self.channel_priority or "flexible"

    @property
    def as_of_datetime(self) -> datetime.datetime | None:
        return datetime.datetime.fromisoformat(self.as_of) if self.as_of else None

    def __str__(self) -> str:
        return str(self.source) if self.source else (self.name or f"spec {self.req_id[:12]}")


_CANONICAL_KEYS = {
    "schema", "channels", "conda", "pypi", "pypi_constraints", "python", "index_url",
    "extra_index_urls", "platforms", "added", "as_of", "system_requirements",
    "channel_priority", "variables", "pypi_hashes",
}  # fmt: skip
_PRIORITIES = ("strict", "flexible", "disabled")


def _channel_priority(value: str | None) -> str | None:
    """conda's ``channel_priority``, flexible (its default) as ``None`` so that a spec that
    says it and one that does not have one ``req_id``."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text not in _PRIORITIES:
        raise SpecError(
            f"channel priority {value!r} is not one of {', '.join(_PRIORITIES)} (conda's values)"
        )
    return None if text == "flexible" else text


def _strings(data: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key) or ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{key!r} must be a list of strings, got {shorten(repr(value), 40)}")
    return tuple(value)


def _optional_string(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise SpecError(f"{key!r} must be a string, got {shorten(repr(value), 40)}")
    return value


def from_file(
    path: Path, name: str | None, *, channel_config: CondaConfig | None = None, **fields: Any
) -> Spec:
    """``Spec.create`` for what a reader found in ``path``; its ``SpecError`` names the file.

    The channels, as written, are resolved here as conda resolves them (``defaults``,
    ``nodefaults``, the configured ``channels``, ``channel_alias``...), relative to the file.
    """
    written = list(fields.pop("channels", ()))
    config = channel_config or CondaConfig()
    fields["channels"] = config.channel_urls(
        written,
        base=path.parent,
        platforms=list(fields.get("platforms") or ()),
        add_configured=bool(written or fields.get("conda")),
    )
    for url in fields["channels"]:
        if VARIABLE.search(url):
            # The credentials a ``${VAR}`` brings, in memory for this process's downloads
            # (an install of the lock); an unset variable is the solver's error to give.
            with contextlib.suppress(ConfigError):
                remember(config.expand_vars(url))
    try:
        return Spec.create(name=name, source=path.resolve(), **fields)
    except SpecError as exc:
        raise SpecError(str(exc), path) from None

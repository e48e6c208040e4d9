"""The ``Spec`` value: what a user asked for, canonicalised, and its ``req_id``.

A ``Spec`` is parsed once at the edge (environment.yml, requirements.txt, the
Python API), canonicalised, and immutable afterwards. Two specs that mean the
same thing have the same canonical form and so the same ``req_id``.
"""

from __future__ import annotations

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

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from amber._platform import host_platform
from amber._urls import channel_url, redact
from amber.channels import CondaConfig
from amber.errors import SpecError

__all__ = [
    "Spec", "SCHEMA", "PLATFORMS", "SYSTEM_REQUIREMENTS", "canonical_conda_spec",
    "canonical_pypi_requirement", "from_file",
]  # fmt: skip

SCHEMA = 1
PLATFORMS = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64")
SYSTEM_REQUIREMENTS = ("archspec", "cuda", "libc", "linux", "macos")
PYPI_DEFAULT_INDEX = "https://pypi.org/simple"
_PYTHON_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")


def canonical_conda_spec(text: str) -> str:
    """A conda match spec in rattler's canonical spelling; ``SpecError`` if invalid."""
    # rattler's native module loads only when a conda spec is read, not a lock's spec.
    from rattler import MatchSpec  # noqa: PLC0415 - see above

    try:
        return str(MatchSpec(text.strip()))
    except Exception as exc:  # rattler raises its own InvalidMatchSpecError
        raise SpecError(f"invalid conda match spec {text.strip()!r}: {_first_line(exc)}") from None


def canonical_pypi_requirement(text: str) -> str:
    """A PEP 508 requirement with a normalised name, sorted extras; ``SpecError`` if invalid."""
    try:
        req = Requirement(text.strip())
    except InvalidRequirement as exc:
        raise SpecError(f"invalid requirement {text.strip()!r}: {exc}") from None
    out: str = canonicalize_name(req.name)
    if req.extras:
        out += "[" + ",".join(sorted(canonicalize_name(e) for e in req.extras)) + "]"
    if req.url:
        out += f" @ {req.url}"
    elif req.specifier:
        out += ",".join(sorted(str(s) for s in req.specifier))
    if req.marker:
        out += f" ; {req.marker}"
    return out


def _platform(platform: str) -> str:
    if platform not in PLATFORMS:
        raise SpecError(f"unsupported platform {platform!r} (supported: {', '.join(PLATFORMS)})")
    return platform


def _system_requirements(values: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    out = {}
    for key, value in values.items():
        key = {"glibc": "libc", "osx": "macos", "kernel": "linux"}.get(str(key), str(key))
        if key not in SYSTEM_REQUIREMENTS:
            raise SpecError(
                f"unknown system requirement {key!r} (known: {', '.join(SYSTEM_REQUIREMENTS)})"
            )
        if isinstance(value, dict):  # pixi's long form: libc = { family = "glibc", version = }
            value = value.get("version")
        text = str(value).strip()
        if not re.fullmatch(r"[0-9A-Za-z_.]+", text):
            raise SpecError(f"invalid version {value!r} for system requirement {key!r}")
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
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise SpecError(
                f"invalid as-of date {value!r}: expected YYYY-MM-DD, an ISO 8601 time or now"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).isoformat()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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
    channels: tuple[str, ...] = ()
    python: str | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    # Virtual-package requirements of the target machines: (("cuda", "12"), ("libc", "2.31")).
    system_requirements: tuple[tuple[str, str], ...] = ()
    as_of: str | None = None  # ignore anything published after this instant (ISO 8601, UTC)
    # Requirements Amber added itself (e.g. cloudpickle for steps), shown by `amber env show`.
    added: tuple[str, ...] = ()
    name: str | None = field(default=None, compare=False)
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
        channels: Iterable[str] = (),
        python: str | None = None,
        index_url: str | None = None,
        extra_index_urls: Iterable[str] = (),
        platforms: Iterable[str] = (),
        system_requirements: Mapping[str, object] | None = None,
        as_of: object = None,
        added: Iterable[str] = (),
        name: str | None = None,
        source: Path | None = None,
        files: Iterable[Path] = (),
    ) -> Spec:
        """Validate and canonicalise; ``SpecError`` quotes the first bad entry."""
        conda = [canonical_conda_spec(s) for s in conda]
        pypi = list(pypi)
        channels = [channel_url(c) for c in channels]
        if python is not None:
            python = str(python).strip()
            if not _PYTHON_VERSION.match(python):
                raise SpecError(f"invalid python version {python!r}: expected X.Y or X.Y.Z")
        if conda or channels:
            # A conda environment gets its interpreter from conda.
            if python is not None and not any(_conda_name(s) == "python" for s in conda):
                conda.append(canonical_conda_spec(f"python {python}.*"))
            python = None
            if pypi and not any(_conda_name(s) == "python" for s in conda):
                conda.append("python")  # PyPI packages need an interpreter from conda
        if index_url is not None:
            index_url = index_url.rstrip("/")
            if index_url == PYPI_DEFAULT_INDEX:
                index_url = None
        return cls(
            conda=tuple(sorted(set(conda), key=lambda s: (_conda_name(s), s))),
            pypi=tuple(sorted({canonical_pypi_requirement(r) for r in pypi})),
            pypi_constraints=tuple(
                sorted({canonical_pypi_requirement(r) for r in pypi_constraints})
            ),
            channels=tuple(dict.fromkeys(channels)),
            python=python,
            index_url=index_url,
            extra_index_urls=tuple(dict.fromkeys(u.rstrip("/") for u in extra_index_urls)),
            platforms=tuple(sorted(set(_platform(p) for p in platforms))),
            system_requirements=_system_requirements(system_requirements or {}),
            as_of=_as_of(as_of),
            added=tuple(sorted(set(added))),
            name=name,
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

    @property
    def python_version(self) -> str:
        """The interpreter version of a PyPI-only env (default: the one running Amber)."""
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
            **(
                {"system_requirements": dict(self.system_requirements)}
                if self.system_requirements
                else {}
            ),
        }

    @classmethod
    def from_canonical(cls, data: object) -> Spec:
        """The spec whose ``canonical()`` is ``data`` (a lock's spec table), taken as written:
        no re-canonicalisation, so the lock's bytes and ids stay what they were."""
        if not isinstance(data, Mapping):
            raise SpecError(f"expected a mapping, got {data!r}")
        unknown = sorted(set(data) - _CANONICAL_KEYS)
        if unknown:
            raise SpecError(f"unknown key {unknown[0]!r} in {dict(data)!r}")
        if data.get("schema") != SCHEMA:
            raise SpecError(f"spec schema {data.get('schema')!r} is not {SCHEMA}")
        system = data.get("system_requirements") or {}
        if not isinstance(system, Mapping):
            raise SpecError(f"'system_requirements' must be a mapping, got {system!r}")
        return cls(
            conda=_strings(data, "conda"),
            pypi=_strings(data, "pypi"),
            pypi_constraints=_strings(data, "pypi_constraints"),
            channels=_strings(data, "channels"),
            python=_optional_string(data, "python"),
            index_url=_optional_string(data, "index_url"),
            extra_index_urls=_strings(data, "extra_index_urls"),
            platforms=_strings(data, "platforms"),
            system_requirements=tuple(sorted((str(k), str(v)) for k, v in system.items())),
            as_of=_optional_string(data, "as_of"),
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
            return str(canonicalize_name(_requirement_name(requirement)))

        return Spec.create(
            conda=by_name(self.conda, override.conda, _conda_name),
            pypi=by_name(self.pypi, override.pypi, pypi_name),
            pypi_constraints=by_name(self.pypi_constraints, override.pypi_constraints, pypi_name),
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
            name=override.name or self.name,
            source=override.source or self.source,
            added=sorted({*self.added, *override.added}),
        )

    def with_platforms(self, platforms: Sequence[str]) -> Spec:
        return replace(self, platforms=tuple(sorted(set(_platform(p) for p in platforms))))

    def with_as_of(self, as_of: object) -> Spec:
        return replace(self, as_of=_as_of(as_of))

    @property
    def as_of_datetime(self) -> datetime.datetime | None:
        return datetime.datetime.fromisoformat(self.as_of) if self.as_of else None

    def __str__(self) -> str:
        return str(self.source) if self.source else (self.name or f"spec {self.req_id[:12]}")


_CANONICAL_KEYS = {
    "schema", "channels", "conda", "pypi", "pypi_constraints", "python", "index_url",
    "extra_index_urls", "platforms", "added", "as_of", "system_requirements",
}  # fmt: skip


def _strings(data: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key) or ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{key!r} must be a list of strings, got {value!r}")
    return tuple(value)


def _optional_string(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise SpecError(f"{key!r} must be a string, got {value!r}")
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
    try:
        return Spec.create(name=name, source=path.resolve(), **fields)
    except SpecError as exc:
        raise SpecError(str(exc), path) from None

"""User intent: what an environment should contain, and its ``req_id``.

A ``Spec`` is parsed once at the edge (environment.yml, requirements.txt, the
Python API), canonicalised, and immutable afterwards. Two specs that mean the
same thing have the same canonical form and so the same ``req_id``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from amber._platform import host_platform
from amber._urls import channel_url, redact
from amber.errors import SpecError

__all__ = [
    "Spec",
    "read_spec",
    "host_platform",
    "canonical_conda_spec",
    "canonical_pypi_requirement",
    "is_spec_file",
    "logical_lines",
    "split_option",
    "SCHEMA",
]

SCHEMA = 1
PLATFORMS = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64")
SYSTEM_REQUIREMENTS = ("archspec", "cuda", "libc", "linux", "macos")
PYPI_DEFAULT_INDEX = "https://pypi.org/simple"
_PYTHON_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_YML_KEYS = {
    "name", "channels", "dependencies", "prefix", "variables",
    "platforms", "system-requirements", "as-of",
}  # fmt: skip


def canonical_conda_spec(text: str) -> str:
    """A conda match spec in rattler's canonical spelling; ``ValueError`` if invalid."""
    from rattler import MatchSpec

    try:
        return str(MatchSpec(text.strip()))
    except Exception as exc:  # rattler raises its own InvalidMatchSpecError
        raise ValueError(f"invalid conda match spec {text.strip()!r}: {_first_line(exc)}") from None


def canonical_pypi_requirement(text: str) -> str:
    """A PEP 508 requirement with a normalised name, sorted extras; ``ValueError`` if invalid."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(text.strip())
    except InvalidRequirement as exc:
        raise ValueError(f"invalid requirement {text.strip()!r}: {exc}") from None
    out = canonicalize_name(req.name)
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
        raise ValueError(f"unsupported platform {platform!r} (supported: {', '.join(PLATFORMS)})")
    return platform


def _system_requirements(values: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    out = {}
    for key, value in values.items():
        key = {"glibc": "libc", "osx": "macos", "kernel": "linux"}.get(str(key), str(key))
        if key not in SYSTEM_REQUIREMENTS:
            raise ValueError(
                f"unknown system requirement {key!r} (known: {', '.join(SYSTEM_REQUIREMENTS)})"
            )
        if isinstance(value, dict):  # pixi's long form: libc = { family = "glibc", version = }
            value = value.get("version")
        text = str(value).strip()
        if not re.fullmatch(r"[0-9A-Za-z_.]+", text):
            raise ValueError(f"invalid version {value!r} for system requirement {key!r}")
        out[key] = text
    return tuple(sorted(out.items()))


def _as_of(value: object) -> str | None:
    """An instant as canonical ISO 8601 UTC text; a date means its very start (00:00 UTC)."""
    import datetime

    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"invalid as-of date {value!r}: expected YYYY-MM-DD or an ISO 8601 time"
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
        """Validate and canonicalise; ``ValueError`` names the first bad entry."""
        conda = [canonical_conda_spec(s) for s in conda]
        pypi = list(pypi)
        channels = [channel_url(c) for c in channels]
        if python is not None:
            python = str(python).strip()
            if not _PYTHON_VERSION.match(python):
                raise ValueError(f"invalid python version {python!r}: expected X.Y or X.Y.Z")
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

    @property
    def req_id(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def merge(self, override: Spec) -> Spec:
        """``override`` over ``self``: the same package name takes ``override``'s entry, other
        lists add up; ``override``'s python and index win when it sets them."""
        from packaging.utils import canonicalize_name

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
    def as_of_datetime(self):  # -> datetime.datetime | None
        import datetime

        return datetime.datetime.fromisoformat(self.as_of) if self.as_of else None

    def __str__(self) -> str:
        return str(self.source) if self.source else (self.name or f"spec {self.req_id[:12]}")


# -- readers -----------------------------------------------------------------


def is_spec_file(path: Path) -> bool:
    """True for the file kinds ``read_spec`` understands (lock files are not specs)."""
    return _kind(path) in ("environment", "requirements", "pyproject")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".yml", ".yaml")):
        return "environment"
    if name.endswith((".txt", ".in")) or name.startswith("requirements"):
        return "requirements"
    if name.endswith(".lock"):
        return "lock"
    if name.endswith(".toml"):
        return "pyproject"
    return "unknown"


def read_spec(path: Path | str, *, python: str | None = None) -> Spec:
    """Read environment.yml, requirements.txt or pyproject.toml into a ``Spec``; ``SpecError``
    on bad input."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("no such file", path)
    kind = _kind(path)
    if kind == "environment":
        return _read_environment_yml(path, python=python)
    if kind == "requirements":
        reqs = _RequirementsReader()
        reqs.read(path)
        return _make(path, None, python=python, **reqs.spec_fields())
    if kind == "pyproject":
        return _read_pyproject(path, python)
    raise SpecError(
        "unknown spec format: expected environment.yml (.yml/.yaml), "
        "requirements.txt (.txt), pyproject.toml or an amber lock (.lock)",
        path,
    )


def _make(path: Path, name: str | None, **kwargs: object) -> Spec:
    try:
        return Spec.create(name=name, source=path.resolve(), **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SpecError(str(exc), path) from None


class _RequirementsReader:
    """pip's requirements-file syntax: comments, continuations, -r/-c, index options."""

    def __init__(self) -> None:
        self.requirements: list[str] = []
        self.constraints: list[str] = []
        self.index_url: str | None = None
        self.extra_index_urls: list[str] = []
        self.files: list[Path] = []

    def spec_fields(self) -> dict[str, object]:
        """What was read, as ``Spec.create`` keyword arguments."""
        return {
            "pypi": self.requirements,
            "pypi_constraints": self.constraints,
            "index_url": self.index_url,
            "extra_index_urls": self.extra_index_urls,
            "files": self.files,
        }

    def read(self, path: Path, *, constraint: bool = False) -> None:
        path = path.resolve()
        if path in self.files:
            return
        self.files.append(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read: {exc}", path) from None
        for lineno, line in logical_lines(text):
            self.line(line, path, lineno, constraint=constraint)

    def line(self, line: str, path: Path, lineno: int, *, constraint: bool = False) -> None:
        line = _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)
        if not line.startswith("-"):
            requirement, _, options = line.partition(" --")
            if options and not options.startswith("hash"):
                raise SpecError(f"unsupported per-requirement option '--{options}'", path, lineno)
            try:
                canonical_pypi_requirement(requirement)
            except ValueError as exc:
                raise SpecError(str(exc), path, lineno) from None
            (self.constraints if constraint else self.requirements).append(requirement.strip())
            return
        option, value = split_option(line)
        if option in ("-r", "--requirement", "-c", "--constraint"):
            if not value:
                raise SpecError(f"{option} needs a file name", path, lineno)
            target = (path.parent / value).resolve()
            if not target.is_file():
                raise SpecError(f"{option} {value}: no such file", path, lineno)
            self.read(target, constraint=constraint or option in ("-c", "--constraint"))
        elif option in ("-i", "--index-url"):
            self.index_url = value
        elif option == "--extra-index-url":
            self.extra_index_urls.append(value)
        elif option in ("-e", "--editable"):
            raise SpecError(
                f"editable requirement '{value}' cannot be locked: "
                "install the project into the env with `amber run ... -- pip install -e .`",
                path,
                lineno,
            )
        elif option in ("--pre", "--prefer-binary", "--only-binary", "--no-binary"):
            pass  # resolver hints; uv's defaults apply
        else:
            raise SpecError(f"unsupported option '{option}'", path, lineno)


def split_option(line: str) -> tuple[str, str]:
    """pip's option syntax: ``--opt=value``, ``--opt value``, ``-rvalue`` -> (option, value)."""
    if line.startswith("--") and "=" in line.split()[0]:
        option, _, value = line.partition("=")
        return option, value.strip()
    parts = line.split(None, 1)
    option = parts[0]
    if len(option) > 2 and option[1] != "-":  # -rfile
        return option[:2], option[2:].strip()
    return option, parts[1].strip() if len(parts) > 1 else ""


def logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, line) with comments removed and continuations joined."""
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            yield start, buffer.strip()
        buffer = ""
    if buffer.strip():
        yield start, buffer.strip()


def _yaml_load(path: Path):  # -> yaml.Node | None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError(f"malformed YAML: {exc.problem or exc.context}", path, line) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", path) from None


def _read_environment_yml(path: Path, *, python: str | None) -> Spec:
    import yaml

    root = _yaml_load(path)
    if root is None:
        raise SpecError("empty file: expected a mapping with 'dependencies'", path)
    if not isinstance(root, yaml.MappingNode):
        raise SpecError("expected a mapping with 'dependencies'", path, root.start_mark.line + 1)

    def line(node: yaml.Node) -> int:
        return node.start_mark.line + 1

    def strings(node: yaml.Node, what: str) -> list[tuple[str, int]]:
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise SpecError(f"'{what}' must be a list", path, line(node))
        out = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                raise SpecError(f"'{what}' entries must be strings", path, line(item))
            out.append((item.value, line(item)))
        return out

    name: str | None = None
    channels: list[str] = []
    conda: list[str] = []
    pip_lines: list[tuple[str, int]] = []
    extra: dict[str, object] = {}
    for key_node, value in root.value:
        key = key_node.value
        if key not in _ENV_YML_KEYS:
            raise SpecError(
                f"unknown key '{key}' (expected one of: {', '.join(sorted(_ENV_YML_KEYS))})",
                path,
                line(key_node),
            )
        if key == "name":
            name = value.value if isinstance(value, yaml.ScalarNode) else None
        elif key == "channels":
            channels = [channel_url(c, path.parent) for c, _ in strings(value, "channels")]
        elif key == "platforms":
            extra["platforms"] = [p for p, _ in strings(value, "platforms")]
        elif key == "as-of":
            extra["as_of"] = value.value if isinstance(value, yaml.ScalarNode) else None
        elif key == "system-requirements":
            if not isinstance(value, yaml.MappingNode):
                raise SpecError("'system-requirements' must be a mapping", path, line(value))
            extra["system_requirements"] = {k.value: v.value for k, v in value.value}
        elif key == "dependencies":
            if not isinstance(value, yaml.SequenceNode):
                raise SpecError("'dependencies' must be a list", path, line(value))
            for item in value.value:
                if isinstance(item, yaml.MappingNode):
                    for sub_key, sub_value in item.value:
                        if sub_key.value != "pip":
                            raise SpecError(
                                f"unknown dependency section '{sub_key.value}' (only 'pip')",
                                path,
                                line(sub_key),
                            )
                        pip_lines.extend(strings(sub_value, "pip"))
                    continue
                if not isinstance(item, yaml.ScalarNode):
                    raise SpecError(
                        "dependencies must be strings or a 'pip:' list", path, line(item)
                    )
                try:
                    conda.append(canonical_conda_spec(item.value))
                except ValueError as exc:
                    raise SpecError(str(exc), path, line(item)) from None
    reqs = _RequirementsReader()
    reqs.files.append(path.resolve())
    for text, lineno in pip_lines:
        reqs.line(text.strip(), path, lineno)
    return _make(
        path, name, conda=conda, channels=channels, python=python, **extra, **reqs.spec_fields()
    )


# -- pyproject.toml ------------------------------------------------------------------

_TOOL_KEYS = (
    "as-of", "channels", "conda", "extra-index-urls", "index-url", "platforms", "pypi",
    "python", "system-requirements",
)  # fmt: skip


def _toml_load(path: Path) -> tuple[str, dict[str, object]]:
    """The text and data of a TOML file; ``SpecError`` with file:line when malformed."""
    import tomllib

    try:
        text = path.read_bytes().decode("utf-8")
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
        line = int(where.group(1)) if where else None
        message = message[: where.start()] if where else message
        raise SpecError(f"malformed TOML: {message}", path, line) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", path) from None


def _key_line(text: str, key: str, table: str) -> int | None:
    """Where ``key`` is set under ``[table]`` (a cheap text search, for error messages)."""

    def dotted(name: str) -> str:
        return r"\s*\.\s*".join(re.escape(part) for part in name.split("."))

    k = re.escape(key)
    quoted = rf"(?:{k}|\"{k}\"|'{k}')"
    header = re.compile(rf"^\s*\[\s*{dotted(table)}\s*\]") if table else None
    prefix = dotted(table) + r"\s*\.\s*" if table else ""
    subtable = re.compile(rf"^\s*\[\[?\s*{prefix}{quoted}\s*\]")
    assignment = re.compile(rf"^\s*{quoted}\s*[=.]")
    inside = header is None
    for number, line in enumerate(text.splitlines(), start=1):
        if subtable.match(line) or (inside and assignment.match(line)):
            return number
        if line.lstrip().startswith("["):
            inside = bool(header and header.match(line))
    return None


def _entry_line(text: str, entry: str) -> int | None:
    """The line of the first string literal holding ``entry`` (for error messages)."""
    for quote in ('"', "'"):
        at = text.find(f"{quote}{entry}{quote}")
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return None


def _read_pyproject(path: Path, python: str | None) -> Spec:
    """``[project].dependencies`` plus Amber's own ``[tool.amber]`` table."""
    text, data = _toml_load(path)

    def table(value: object, where: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise SpecError(f"'{where}' must be a table", path, _key_line(text, where, ""))
        return value

    def strings(value: object, key: str, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SpecError(
                f"'{key}' in [{where}] must be a list of strings", path, _key_line(text, key, where)
            )
        return value

    def string(value: object, key: str) -> str:
        if not isinstance(value, str):
            raise SpecError(
                f"'{key}' in [tool.amber] must be a string (quote it: {key} = \"{value}\")",
                path,
                _key_line(text, key, "tool.amber"),
            )
        return value

    project = table(data.get("project", {}), "project")
    tool = table(table(data.get("tool", {}), "tool").get("amber", {}), "tool.amber")
    for key in tool:
        if key not in _TOOL_KEYS:
            raise SpecError(
                f"unknown key '{key}' in [tool.amber] (expected one of: {', '.join(_TOOL_KEYS)})",
                path,
                _key_line(text, key, "tool.amber"),
            )
    if "dependencies" in (project.get("dynamic") or []) and "pypi" not in tool:
        raise SpecError(
            "[project].dependencies is dynamic, so Amber cannot read it: "
            "list the requirements in [tool.amber].pypi",
            path,
            _key_line(text, "dynamic", "project"),
        )

    pypi = [
        *strings(project.get("dependencies", []), "dependencies", "project"),
        *strings(tool.get("pypi", []), "pypi", "tool.amber"),
    ]
    for requirement in pypi:
        try:
            canonical_pypi_requirement(requirement)
        except ValueError as exc:
            raise SpecError(str(exc), path, _entry_line(text, requirement)) from None
    conda = strings(tool.get("conda", []), "conda", "tool.amber")
    for match_spec in conda:
        try:
            canonical_conda_spec(match_spec)
        except ValueError as exc:
            raise SpecError(str(exc), path, _entry_line(text, match_spec)) from None

    if python is None and "python" in tool:
        python = string(tool["python"], "python")
    if python is None:
        python = _exact_python(project.get("requires-python"))
    system = tool.get("system-requirements", {})
    if not isinstance(system, dict):
        raise SpecError(
            "'system-requirements' in [tool.amber] must be a table",
            path,
            _key_line(text, "system-requirements", "tool.amber"),
        )
    index_url = tool.get("index-url")
    name = project.get("name")
    return _make(
        path,
        name if isinstance(name, str) else None,
        conda=conda,
        pypi=pypi,
        channels=[
            channel_url(c, path.parent)
            for c in strings(tool.get("channels", []), "channels", "tool.amber")
        ],
        python=python,
        platforms=strings(tool.get("platforms", []), "platforms", "tool.amber"),
        system_requirements=system,
        as_of=tool.get("as-of"),
        index_url=None if index_url is None else string(index_url, "index-url"),
        extra_index_urls=strings(
            tool.get("extra-index-urls", []), "extra-index-urls", "tool.amber"
        ),
        files=[path.resolve()],
    )


def _exact_python(requires: object) -> str | None:
    """``requires-python`` is a range the project supports, not a pin: only ``==X.Y`` counts."""
    match = re.fullmatch(r"\s*==\s*(\d+\.\d+(?:\.\d+)?)(?:\.\*)?\s*", str(requires or ""))
    return match.group(1) if match else None

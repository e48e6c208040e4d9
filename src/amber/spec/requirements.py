"""requirements.txt: pip's requirements-file syntax read into a ``Spec``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from amber._input import MAX_ENTRIES, ErrorFactory, read_input, regular_stat, shorten
from amber._urls import redact_text
from amber.errors import SpecError
from amber.spec.model import Spec, canonical_pypi_requirement, from_file

__all__ = ["RequirementsReader", "read_requirements", "logical_lines", "split_option"]

_VCS = re.compile(r"^(?:[A-Za-z0-9._-]+\s*(?:\[[^\]]*\])?\s*@\s*)?(?:git|hg|svn|bzr)\+")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
# A bare URL to a wheel or an sdist (pip's unnamed direct reference): uv names it.
_BARE_URL = re.compile(r"^(?:https?|file)://\S+$", re.IGNORECASE)
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def read_requirements(path: Path, *, python: str | None = None) -> Spec:
    """A requirements file (and the files it includes with ``-r``/``-c``) as a ``Spec``."""
    reqs = RequirementsReader()
    reqs.read(path)
    return from_file(path, None, python=python, **reqs.spec_fields())


class RequirementsReader:
    """pip's requirements-file syntax: comments, continuations, -r/-c, index options."""

    def __init__(self) -> None:
        self.requirements: list[str] = []
        self.constraints: list[str] = []
        self.index_url: str | None = None
        self.extra_index_urls: list[str] = []
        self.hashes: dict[str, list[str]] = {}
        self.files: list[Path] = []

    def spec_fields(self) -> dict[str, Any]:
        """What was read, as ``Spec.create`` keyword arguments."""
        return {
            "pypi": self.requirements,
            "pypi_constraints": self.constraints,
            "index_url": self.index_url,
            "extra_index_urls": self.extra_index_urls,
            "pypi_hashes": self.hashes,
            "files": self.files,
        }

    def _hashed(self, canonical: str, hashes: list[str]) -> None:
        name = re.split(r"[\s\[<>=!~;@(]", canonical, maxsplit=1)[0]
        self.hashes.setdefault(name, []).extend(hashes)

    def _local(self, value: str, path: Path, lineno: int, *, editable: bool) -> str:
        """A local project as the spec keeps it: its path relative to the spec file's folder
        (as conda's ``pip install -e ./path`` runs there), never an absolute home path."""
        where = f"{'editable ' if editable else ''}requirement {shorten(value)!r}"
        given = Path(os.path.expanduser(value.strip()))
        directory = given if given.is_absolute() else path.parent / given
        if not (directory / "pyproject.toml").is_file() and not (directory / "setup.py").is_file():
            raise SpecError(
                f"{where}: not a Python project (no pyproject.toml or setup.py there; a "
                "relative path is read from the spec file's folder, as conda's `pip install "
                "-e ./path` runs there)",
                path,
                lineno,
            )
        base = self.files[0].parent if self.files else path.parent
        rel = Path(os.path.relpath(directory.resolve(), base.resolve())).as_posix()
        if rel != "." and not rel.startswith("../"):
            rel = f"./{rel}"
        return f"-e {rel}" if editable else rel

    def read(self, path: Path, *, constraint: bool = False) -> None:
        path = _resolved(path, lambda message: SpecError(message, path))
        if path in self.files:
            return
        self.files.append(path)
        text = read_input(path, lambda message: SpecError(message, path))
        for lineno, line in logical_lines(text):
            self.line(line, path, lineno, constraint=constraint)

    def line(self, line: str, path: Path, lineno: int, *, constraint: bool = False) -> None:
        values = {
            value: f"${{{name}}}"
            for name in _ENV_VAR.findall(line)
            if len(value := os.environ.get(name, "")) >= 3
        }
        try:
            self._line(_ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line),
                       path, lineno, constraint)  # fmt: skip
        except SpecError as exc:
            # A message quotes the line as written: ${VAR}, never the value it expands to.
            message = str(exc.args[0]) if exc.args else str(exc)
            for value in sorted(values, key=len, reverse=True):
                message = message.replace(value, values[value])
            quiet = SpecError(redact_text(message))
            quiet.path, quiet.line = exc.path, exc.line
            raise quiet from None

    def _line(self, line: str, path: Path, lineno: int, constraint: bool) -> None:
        if not line.startswith("-"):
            requirement, _, options = line.partition(" --")
            if _VCS.match(requirement):
                requirement = _vcs_requirement(requirement.strip(), path, lineno)
            elif _is_path(requirement.strip()):
                requirement = self._local(requirement.strip(), path, lineno, editable=False)
            elif _BARE_URL.match(requirement.strip()):
                requirement = requirement.strip()
            elif (directory := _file_directory(requirement)) is not None:
                requirement = self._local(directory, path, lineno, editable=False)
            hashes = []
            for option in filter(None, (o.strip() for o in options.split("--"))):
                name, _, value = option.replace(" ", "=", 1).partition("=")
                if name != "hash":
                    raise SpecError(
                        f"unsupported per-requirement option {shorten('--' + option)!r}",
                        path,
                        lineno,
                    )
                if not value.startswith("sha256:"):
                    raise SpecError(
                        f"--hash={shorten(value)}: Amber checks sha256 hashes only (sha256:<hex>)",
                        path,
                        lineno,
                    )
                hashes.append(value.strip())
            try:
                canonical = canonical_pypi_requirement(requirement)
            except SpecError as exc:
                raise SpecError(str(exc), path, lineno) from None
            if hashes:
                self._hashed(canonical, hashes)
            entries = self.constraints if constraint else self.requirements
            if len(entries) >= MAX_ENTRIES:
                raise SpecError(f"more than {MAX_ENTRIES:,} requirements", path, lineno)
            entries.append(requirement.strip())
            return
        option, value = split_option(line)
        if option in ("-r", "--requirement", "-c", "--constraint"):
            if not value:
                raise SpecError(f"{option} needs a file name", path, lineno)
            where = f"{option} {shorten(value)!r}"
            target = _resolved(
                path.parent / value, lambda m: SpecError(f"{where}: {m}", path, lineno)
            )
            regular_stat(target, lambda m: SpecError(f"{where}: {m}", path, lineno))
            self.read(target, constraint=constraint or option in ("-c", "--constraint"))
        elif option in ("-i", "--index-url"):
            self.index_url = value
        elif option == "--extra-index-url":
            self.extra_index_urls.append(value)
        elif option in ("-e", "--editable"):
            if "://" in value or _VCS.match(value):
                raise SpecError(
                    f"editable requirement {shorten(value)!r}: only a local project can be "
                    "installed editable here; drop the `-e` (a git reference is locked to a "
                    "commit), or check the project out and write `-e ./path`",
                    path,
                    lineno,
                )
            self.requirements.append(self._local(value, path, lineno, editable=True))
        elif option in ("--pre", "--prefer-binary", "--only-binary", "--no-binary"):
            pass  # resolver hints; uv's defaults apply
        else:
            raise SpecError(f"unsupported option {shorten(option)!r}", path, lineno)


def _is_path(requirement: str) -> bool:
    """pip's local project: a path (``.``, ``./x``, ``../x``, ``/abs``, ``~/x``)."""
    return requirement in (".", "..") or requirement.startswith(("./", "../", "/", "~"))


def _file_directory(requirement: str) -> str | None:
    """The directory of ``name @ file:///dir`` (a local project named by URL), else None."""
    _, at, url = requirement.partition("@")
    url = url.strip()
    if not at or not url.startswith("file:"):
        return None
    local = unquote(urlsplit(url).path)
    return local if os.path.isdir(local) else None


def _vcs_requirement(requirement: str, path: Path, lineno: int) -> str:
    """A VCS reference as PEP 508 (``name @ git+URL@REV``): pip's bare ``git+URL#egg=name``
    named by its egg, and one without an egg kept unnamed (uv names it from the metadata it
    builds, as pip does); ``SpecError`` for a VCS uv cannot lock (hg, svn, bzr)."""
    bare = requirement.startswith(("git+", "hg+", "svn+", "bzr+"))
    url = requirement if bare else requirement.split("@", 1)[1].strip()
    if not url.startswith("git+"):
        raise SpecError(
            f"VCS requirement {shorten(requirement)!r}: only git references can be locked "
            "(uv resolves git to a commit; hg, svn and bzr it cannot)",
            path,
            lineno,
        )
    if not bare:
        return requirement
    egg = _EGG.search(url)
    if egg is None:
        return url
    return f"{egg.group(1)} @ {url}"


def _resolved(path: Path, error: ErrorFactory) -> Path:
    """``path`` made absolute, symlinks resolved; ``error`` for a loop, a NUL, a long name."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        if isinstance(exc, RuntimeError):
            reason = "a symlink loop"
        elif isinstance(exc, OSError):
            reason = exc.strerror or "a bad name"
        else:
            reason = "the name holds a NUL character"
        raise error(f"cannot read: {reason}") from None


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

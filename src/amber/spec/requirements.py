"""requirements.txt: pip's requirements-file syntax read into a ``Spec``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from amber.errors import SpecError
from amber.spec.model import Spec, canonical_pypi_requirement, from_file

__all__ = ["RequirementsReader", "read_requirements", "logical_lines", "split_option"]

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
        self.files: list[Path] = []

    def spec_fields(self) -> dict[str, Any]:
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
            except SpecError as exc:
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

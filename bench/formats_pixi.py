"""The pixi.lock part of the corpus table in docs/formats.md: every real pixi.lock of
``../shared/data/real/pixi-lock``, every environment, read by Amber (``amber.formats.pixi``).

``pixi_corpus_rows()`` returns ``(file, environment, outcome, packages, note)`` rows:
outcome ``imported`` (``packages``: conda + PyPI entries over all platforms) or
``refused`` (``note``: the first entries Amber names and why). The corpus table generator
calls it; ``python bench/formats_pixi.py`` prints the rows as a Markdown table.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

from amber.errors import AmberError
from amber.formats import pixi

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "pixi-lock"

Row = tuple[str, str, str, int, str]


def pixi_corpus_rows(data: Path = DATA) -> list[Row]:
    """One row per (file, environment) of the real pixi.lock files."""
    rows: list[Row] = []
    for path in sorted(data.glob("*")):
        for environment in pixi.environments(path):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    lock = pixi.read(path, environment)
                except AmberError as exc:
                    note = str(exc).split("silently: ", 1)[-1]
                    rows.append((path.name, environment, "refused", 0, _short(note)))
                    continue
            count = sum(len(b.conda) + len(b.pypi) for b in lock.platforms.values())
            rows.append((path.name, environment, "imported", count, ""))
    return rows


def _short(note: str, limit: int = 160) -> str:
    note = re.sub(r"\s+", " ", note).replace("|", "\\|")
    return note if len(note) <= limit else note[: limit - 1] + "…"


def markdown(rows: list[Row]) -> str:
    lines = [
        "| pixi.lock | environment | outcome | packages | why refused |",
        "| --- | --- | --- | ---: | --- |",
    ]
    lines += [f"| `{f}` | {e} | {o} | {n} | {note} |" for f, e, o, n, note in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown(pixi_corpus_rows()))

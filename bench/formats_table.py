"""The corpus table of docs/formats.md: every real conda-lock, explicit and pyproject.toml
file of ../shared/data/real, what the file lists (read as its own tool reads it) and what
Amber makes of it: imported N packages, or refused naming the entry and the reason.

The listing is restated here from the tools' own rules, without Amber: conda-lock's
(``conda_lock/lockfile``: ``version: 1``, the categories ``conda-lock install`` takes,
virtual packages left out) and conda's for explicit files (``conda/misc.py``'s ``url_pat``
after ``@EXPLICIT``). Amber's import is ``amber.formats.read_resolved``; pyproject.toml
files are specs (``amber.spec.read_spec``): nothing is solved. No conda channel is reachable
from here, so a package whose metadata needs its channel is refused by name. The pixi.lock
rows come from ``bench/formats_pixi.py`` when it is there.

    python bench/formats_table.py            # rewrite the table in docs/formats.md
    python bench/formats_table.py --check    # exit 1 when it is not current
"""

from __future__ import annotations

import importlib.util
import re
import sys
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml
from envyml_table import REAL, ROOT, markdown_table, sources

from amber.errors import AmberError
from amber.formats import detect, read_resolved
from amber.lock import Lock
from amber.spec import read_spec

DOC = ROOT / "docs" / "formats.md"
BEGIN, END = "<!-- corpus table: bench/formats_table.py -->", "<!-- end of corpus table -->"
FOLDERS = ("conda-lock", "explicit", "pyproject")
CONDA_LOCK_CATEGORIES = ("main", "dev")  # what `conda-lock install` installs by default

# conda's explicit line (conda/misc.py url_pat).
_URL = re.compile(
    r"^(?:(?P<url_p>.+)[/\\])?(?P<fn>[^/\\#]+(?:\.tar\.bz2|\.conda))"
    r"(?:#(?P<checksum>[0-9a-fA-F]{32}|(?:sha256:)?[0-9a-fA-F]{64}))?$"
)

Package = tuple[str, str, str]  # (manager, name, platform)


@dataclass(frozen=True)
class Listing:
    """What a file lists as its own tool reads it, or why that tool refuses it."""

    packages: frozenset[Package] = frozenset()
    refused: str | None = None
    left_out: int = 0  # entries of categories not installed by default


def conda_lock_listing(path: Path, categories: Iterable[str] = CONDA_LOCK_CATEGORIES) -> Listing:
    """conda-lock's reading of a lock file: the packages of ``categories`` (main always)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe
    version = data.get("version") if isinstance(data, dict) else None
    if version not in (1, 2, 3):
        return Listing(refused=f"version {version!r}")
    chosen = {"main", *categories}
    packages, left = set(), 0
    for entry in data.get("package") or []:
        name = str(entry["name"])
        if entry["manager"] == "conda" and name.startswith("__"):
            continue
        if entry["manager"] == "pip":
            name = re.sub(r"[-_.]+", "-", name).lower()
        if str(entry.get("category", "main")) not in chosen:
            left += 1
            continue
        packages.add((str(entry["manager"]), name, str(entry["platform"])))
    return Listing(frozenset(packages), left_out=left)


def explicit_listing(path: Path) -> Listing:
    """conda's reading (``conda create --file``): the archives after ``@EXPLICIT``."""
    platform = ""
    packages, marked = set(), False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("# platform:"):
            platform = line.split(":", 1)[1].strip()
        if not line or line.startswith("#"):
            continue
        if line == "@EXPLICIT":
            marked = True
            continue
        found = _URL.match(line)
        if not marked or found is None:
            return Listing(refused=f"line {number}: {line[:40]!r}")
        name = found["fn"].removesuffix(".conda").removesuffix(".tar.bz2").rsplit("-", 2)[0]
        packages.add(("conda", name, platform))
    if not marked:
        return Listing(refused="no @EXPLICIT")
    return Listing(frozenset(packages))


def listing(path: Path) -> Listing | None:
    """The file's own tool's reading (None for pyproject.toml: a spec, not a lock)."""
    folder = path.parent.name
    if folder == "conda-lock":
        return conda_lock_listing(path)
    if folder == "explicit":
        return explicit_listing(path)
    return None


def imported(lock: Lock) -> frozenset[Package]:
    """The (manager, name, platform) of every package of an imported lock."""
    return frozenset(
        {("conda", c.name, p) for p, body in lock.platforms.items() for c in body.conda}
        | {("pip", w.name, p) for p, body in lock.platforms.items() for w in body.pypi}
    )


@dataclass(frozen=True)
class Outcome:
    """Amber's reading of one file."""

    lock: Lock | None = None
    spec: str | None = None  # a spec's summary (pyproject.toml)
    refused: str | None = None


def amber_outcome(path: Path, uv_cache: Path) -> Outcome:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if path.parent.name == "pyproject":
                spec = read_spec(path)
                return Outcome(spec=f"a spec: {len(spec.conda)} conda, {len(spec.pypi)} PyPI")
            return Outcome(lock=read_resolved(path, detect(path), uv_cache=uv_cache))
        except AmberError as exc:
            message = re.sub(rf"{re.escape(str(path))}:(\d+):", r"line \1:", str(exc))
            return Outcome(refused=message.replace(f"{path}: ", "").replace(f"{path}", "the file"))


def outcomes(paths: list[Path], uv_cache: Path) -> list[Outcome]:
    """Amber's outcome per file, read at once (the waits are for unreachable channels)."""
    with ThreadPoolExecutor(max_workers=max(1, len(paths))) as pool:
        return list(pool.map(lambda p: amber_outcome(p, uv_cache), paths))


def corpus() -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((REAL / folder).iterdir())]


def _short(text: str, limit: int = 220) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listed(found: Listing | None) -> str:
    if found is None:
        return "a spec (nothing locked)"
    if found.refused:
        return f"refuses: {found.refused}"
    text = f"{len(found.packages)} packages"
    if found.left_out:
        text += f" (+{found.left_out} entries of other categories)"
    return text


def _outcome(result: Outcome) -> str:
    if result.refused is not None:
        return "refused: " + _short(result.refused)
    if result.spec is not None:
        return result.spec
    assert result.lock is not None
    count = len(imported(result.lock))
    return f"imported {count} packages ({', '.join(sorted(result.lock.platforms))})"


def render(paths: list[Path], results: list[Outcome]) -> str:
    """The corpus table of ``paths`` given Amber's outcome for each."""
    origin = sources()
    rows = [
        [f"`{p.parent.name}/{p.name}`", origin.get(f"{p.parent.name}/{p.name}", "?"),
         _listed(listing(p)), _outcome(r)]
        for p, r in zip(paths, results, strict=True)
    ]  # fmt: skip
    lines = [
        BEGIN,
        "",
        "## Real files, imported",
        "",
        "Generated by `python bench/formats_table.py` (checked by",
        "`tests/formats/test_real_resolved_files.py`, which also checks, file by file, that",
        "Amber's packages are those the file's own tool lists, or that the refusal names the",
        'entry). "The file lists" is conda-lock\'s reading (categories main and dev, as',
        "`conda-lock install`) or conda's (`conda create --file`). No conda channel is",
        "reachable from the machine that made it: a package whose metadata needs the channel",
        "(md5-only entries, `noarch` entries whose kind the file does not say) is refused by",
        "name, as it would be offline.",
        "",
        *markdown_table(["file", "source", "the file lists", "Amber"], rows),
        "",
        "### pixi.lock",
        "",
        *_pixi_section(),
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def _pixi_section() -> list[str]:
    """The rows of bench/formats_pixi.py (another part of the corpus), when it exists."""
    module_path = Path(__file__).with_name("formats_pixi.py")
    if not module_path.is_file():
        return ["(the pixi.lock rows come from `bench/formats_pixi.py`, not yet here)"]
    spec = importlib.util.spec_from_file_location("formats_pixi", module_path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.markdown(module.pixi_corpus_rows()).rstrip("\n").splitlines()


def updated(document: str, table: str) -> str:
    """``document`` with its corpus table replaced (or appended)."""
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        return head + table.rstrip("\n") + rest.split(END, 1)[1]
    return document.rstrip("\n") + "\n\n" + table


def main(argv: list[str]) -> int:
    import tempfile  # noqa: PLC0415 - only the script needs a scratch uv cache

    with tempfile.TemporaryDirectory() as cache:
        paths = corpus()
        text = updated(DOC.read_text(), render(paths, outcomes(paths, Path(cache))))
    if "--check" in argv:
        if DOC.read_text() != text:
            print(f"{DOC} is not current: run python bench/formats_table.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

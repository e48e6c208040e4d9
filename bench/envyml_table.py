"""docs/ENVIRONMENT_YML.md: every real environment.yml of ../shared/data/real, read by conda
and by Amber, and the outcome per file.

conda's reading is restated here from conda's own source (``conda/env/env.py``:
``VALID_KEYS``, ``validate_keys``, ``Dependencies.parse``; ``conda/env/installers/conda.py``
for channels), without conda: unknown keys are warned about and dropped, ``dependencies:``
null is empty, a ``pip:`` section makes conda add ``pip`` to the conda packages, ``${VAR}``
in channels is expanded, and the ``.condarc`` channels (``defaults`` unless configured) are
added unless ``nodefaults`` is listed. Amber's reading is ``amber.spec.read_spec``.
Reading only: nothing is solved (no conda channel is reachable from here).

    python bench/envyml_table.py            # rewrite docs/ENVIRONMENT_YML.md
    python bench/envyml_table.py --check    # exit 1 when the file is not current
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import rattler
import yaml

from amber.channels import CondaConfig
from amber.errors import AmberError, SpecWarning
from amber.spec import Spec, canonical_conda_spec, canonical_pypi_requirement, read_spec

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
TABLE = ROOT / "docs" / "ENVIRONMENT_YML.md"

CONDA_KEYS = ("name", "dependencies", "prefix", "channels", "variables")  # conda/env/env.py
AMBER_KEYS = ("platforms", "system-requirements", "as-of")  # Amber's own, beside conda's
# The settings both readings assume: a .condarc with `channels: [defaults]` (what a
# miniconda install configures), conda's built-in default_channels and channel_alias.
CONFIG = CondaConfig(channels=("defaults",))
_MSYS2 = "https://repo.anaconda.com/pkgs/msys2"


@dataclass
class CondaReading:
    """What conda makes of a file (or why it refuses it)."""

    refused: str | None = None
    warned: list[str] = field(default_factory=list)
    conda: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    added_pip: bool = False


def conda_reading(path: Path) -> CondaReading:
    """conda's ``conda env create -f`` reading of ``path`` (see the module docstring)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not data:
        return CondaReading(refused="EnvironmentFileEmpty")
    out = CondaReading(warned=[k for k in data if k not in CONDA_KEYS])
    deps = data.get("dependencies") or []
    for dep in deps:
        if isinstance(dep, dict):
            for installer, entries in dep.items():
                if installer != "pip":
                    out.refused = f"no installer for '{installer}' dependencies"
                out.pip += [str(e) for e in entries or []]
        else:
            out.conda.append(canonical_conda_spec(str(dep)))
    names = {_conda_name(s) for s in out.conda}
    if out.pip and "pip" not in names:  # Dependencies.parse: "I'm adding one for you"
        out.conda.append("pip")
        out.added_pip = True
    channels = [os.path.expandvars(str(c)) for c in data.get("channels") or []]
    out.channels = [c for c in channels if c != "nodefaults"]
    if "nodefaults" not in channels:
        out.channels.append("defaults")  # context.channels without a .condarc
    out.channels = list(dict.fromkeys(out.channels))
    out.variables = {str(k): str(v) for k, v in (data.get("variables") or {}).items()}
    return out


@dataclass
class AmberReading:
    refused: str | None = None
    warned: list[str] = field(default_factory=list)
    spec: Spec | None = None


def amber_reading(path: Path) -> AmberReading:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spec = read_spec(path, channel_config=CONFIG)
        except AmberError as exc:
            return AmberReading(refused=str(exc).replace(f"{path}:", "line "))
    said = [str(w.message) for w in caught if issubclass(w.category, SpecWarning)]
    keys = [m.split("unknown key '", 1)[1].split("'", 1)[0] for m in said if "unknown key" in m]
    return AmberReading(warned=keys, spec=spec)


def _conda_name(spec: str) -> str:
    return spec.split("::")[-1].split()[0].split("[")[0].split("=")[0]


def _pypi(entries: list[str]) -> list[str]:
    out = []
    for entry in entries:
        if entry.startswith("-"):
            out.append(entry)  # an option line (--index-url ...): compared as written
            continue
        out.append(canonical_pypi_requirement(entry.split(" --", 1)[0]))
    return sorted(out)


def differences(conda: CondaReading, amber: AmberReading, path: Path) -> list[str]:
    """Every way Amber's reading differs from conda's, each said precisely."""
    spec = amber.spec
    assert spec is not None
    said = []
    amber_conda = set(spec.conda)
    expected = set(conda.conda)
    if conda.added_pip:
        expected.discard("pip")
        said.append(
            "conda adds `pip` to the conda packages for the `pip:` section; Amber installs that "
            "section with uv and adds no `pip`"
        )
    if spec.pypi and "python" not in {_conda_name(s) for s in conda.conda}:
        amber_conda.discard("python")  # the interpreter for the pip: section (conda's pip's)
    if amber_conda != expected:
        said.append(f"conda packages differ: {sorted(amber_conda ^ expected)}")
    index = [f"--index-url {spec.index_url}"] if spec.index_url else []
    index += [f"--extra-index-url {u}" for u in spec.extra_index_urls]
    if sorted([*spec.pypi, *index]) != _pypi(conda.pip):
        said.append(f"pip entries differ: {sorted(spec.pypi)} vs {_pypi(conda.pip)}")
    if dict(spec.variables) != conda.variables:
        said.append(f"variables differ: {dict(spec.variables)} vs {conda.variables}")
    # `prefix:` is read as conda reads it: `amber install -f FILE` builds the env there.
    honoured = [k for k in conda.warned if k in AMBER_KEYS]
    if honoured:
        said.append(
            f"conda ignores `{'`, `'.join(honoured)}` (with a warning); Amber honours it "
            "(as conda-lock does)"
        )
    if sorted(set(conda.warned) - set(AMBER_KEYS)) != sorted(amber.warned):
        said.append(f"warned keys differ: conda {conda.warned}, Amber {amber.warned}")
    conda_urls, amber_urls = conda_channel_urls(conda.channels), amber_channel_urls(spec)
    if conda_urls != amber_urls and not spec.conda:
        said.append(
            f"no conda package: conda would search {', '.join(conda_urls)}; Amber searches "
            "no channel for a spec without conda packages"
        )
    elif amber_urls == [*conda_urls, _MSYS2] and any(
        p.startswith("win-") for p in spec.target_platforms
    ):
        said.append(
            "`defaults` includes pkgs/msys2 for the win-* platforms the file targets (conda "
            "adds it on a Windows host)"
        )
    elif conda_urls != amber_urls:
        said.append(
            f"channels: conda searches {', '.join(conda_urls)}; Amber "
            f"{', '.join(amber_urls) or 'none'}"
        )
    return said


def conda_channel_urls(channels: list[str]) -> list[str]:
    """conda's channel URLs without a .condarc: ``defaults`` is main and r (msys2 on
    Windows), a name is under the channel_alias https://conda.anaconda.org."""
    out: list[str] = []
    for channel in channels:
        if channel == "defaults":
            out += ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
        elif "://" in channel:
            out.append(channel.rstrip("/"))
        else:
            out.append(f"https://conda.anaconda.org/{channel}")
    return list(dict.fromkeys(out))


def amber_channel_urls(spec: Spec) -> list[str]:
    """The channel URLs Amber's solve uses for ``spec`` (rattler's reading of each)."""
    return [unquote(rattler.Channel(c).base_url).rstrip("/") for c in spec.channels]


@dataclass
class Row:
    file: str
    source: str
    conda: str
    amber: str
    outcome: str


def sources() -> dict[str, str]:
    """``folder/file`` of ``real/`` -> where it comes from (``repo: `path```)."""
    manifest = json.loads((REAL / "MANIFEST.json").read_text())
    return {m["file"]: f"{m['repo']}: `{m['path']}`" for m in manifest}


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table, ``|`` and newlines in cells escaped."""
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    for cells in rows:
        lines.append(
            "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        )
    return lines


def rows() -> list[Row]:
    origin = sources()
    out = []
    for path in sorted((REAL / "environment-yml").iterdir()):
        conda, amber = conda_reading(path), amber_reading(path)
        source = origin.get(f"environment-yml/{path.name}", "?")
        if conda.refused:
            conda_text = f"refuses: {conda.refused}"
        else:
            conda_text = f"{len(conda.conda)} conda, {len(conda.pip)} pip"
            if conda.variables:
                conda_text += f", {len(conda.variables)} variables"
            if conda.warned:
                conda_text += f"; warns: {', '.join(conda.warned)}"
        if amber.refused:
            out.append(Row(path.name, source, conda_text, f"refuses: {amber.refused}", "refuses"))
            continue
        spec = amber.spec
        assert spec is not None
        amber_text = f"{len(spec.conda)} conda, {len(spec.pypi)} pip"
        if spec.variables:
            amber_text += f", {len(spec.variables)} variables"
        if amber.warned:
            amber_text += f"; warns: {', '.join(amber.warned)}"
        said = differences(conda, amber, path)
        outcome = "reads as conda" if not said else "reads; " + "; ".join(said)
        if amber.warned and not said:
            outcome = f"warns as conda ({', '.join(amber.warned)})"
        out.append(Row(path.name, source, conda_text, amber_text, outcome))
    return out


def render(table: list[Row]) -> str:
    counts: dict[str, int] = {}
    for row in table:
        if row.outcome == "refuses":
            kind = "refused (the reason named)"
        elif not row.outcome.startswith("reads;"):
            kind = "read as conda"
        else:
            kind = "read with a difference the table says"
        counts[kind] = counts.get(kind, 0) + 1
    lines = [
        "# environment.yml: conda's reading and Amber's, file by file",
        "",
        "Generated by `python bench/envyml_table.py` (checked current by",
        "`tests/spec/test_real_environment_yml.py`) over every file of",
        "`../shared/data/real/environment-yml/` (their sources are in its `MANIFEST.json`).",
        "conda's column restates `conda env create -f` (conda/env/env.py) without a",
        "`.condarc`; Amber's is `amber.spec.read_spec`. Reading only, nothing solved.",
        "",
        "Totals: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".",
        "",
    ]
    lines += markdown_table(
        ["file", "source", "conda", "Amber", "outcome"],
        [[f"`{r.file}`", r.source, r.conda, r.amber, r.outcome] for r in table],
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render(rows())
    if "--check" in argv:
        current = TABLE.read_text() if TABLE.is_file() else ""
        if current != text:
            print(f"{TABLE} is not current: run python bench/envyml_table.py", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text)
    print(f"wrote {TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

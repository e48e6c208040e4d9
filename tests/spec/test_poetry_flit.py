"""pyproject.toml without [project]: Poetry's [tool.poetry] and old flit's
[tool.flit.metadata] read as their tools read them (Poetry's own parser, poetry-core), or
refused naming the entry; a file with no dependency table at all is an error, not an empty
env."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from helpers import SHARED, assert_clear_error, run_cli, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from poetry.core.factory import Factory

from amber.errors import SpecError
from amber.lock import Lock
from amber.spec import read_spec

REAL = SHARED / "real" / "pyproject"

POETRY = """
[tool.poetry]
name = "demo"
version = "0.1.0"
description = ""
authors = ["someone"]

[tool.poetry.dependencies]
python = "^3.10"
requests = "^2.13.0"
toml = ">=0.10"
zlib-thing = "0.0.*"
tomlkit = { version = ">=0.7.0,<1.0.0", optional = true }
rich = { version = "~13.3", extras = ["jupyter"], markers = "sys_platform == 'linux'" }
pydantic = { git = "https://github.com/pydantic/pydantic.git", tag = "v2.0b2" }
numpy = [
    { version = "^1.24", python = "<3.12" },
    { version = "^2.0", python = ">=3.12" },
]

[tool.poetry.dev-dependencies]
pytest = "~5.1.0"

[tool.poetry.group.docs.dependencies]
sphinx = "^7"

[tool.poetry.group.heavy]
optional = true

[tool.poetry.group.heavy.dependencies]
torch = "*"

[tool.poetry.extras]
toml = ["tomlkit"]

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""


def test_poetry_dependencies_as_poetry_installs_them(tmp_path: Path):
    spec = read_spec(write(tmp_path / "pyproject.toml", POETRY))
    assert _same_requirements(spec.pypi)
    # tomlkit (optional: an extra) and the optional group are not installed by Poetry.
    names = {str(canonicalize_name(Requirement(r).name)) for r in spec.pypi}
    assert "tomlkit" not in names and "torch" not in names
    assert spec.python is None  # ^3.10 is a range the project supports, not a pin


def _toml(value: object) -> str:
    """A TOML inline value (JSON's string escapes are TOML's; TOML also forbids a raw DEL)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    assert isinstance(value, dict)
    return (
        "{"
        + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml(v)}" for k, v in value.items())
        + "}"
    )


def _same_requirements(pypi: tuple[str, ...]) -> bool:
    got = {
        (
            Requirement(r).name,
            str(Requirement(r).specifier),
            str(Requirement(r).marker),
            Requirement(r).url,
        )
        for r in pypi
    }
    want = {
        ("requests", "<3.0.0,>=2.13.0", "None", None),
        ("toml", ">=0.10", "None", None),
        ("zlib-thing", "==0.0.*", "None", None),
        ("rich", "<13.4,>=13.3", 'sys_platform == "linux"', None),
        ("pydantic", "", "None", "git+https://github.com/pydantic/pydantic.git@v2.0b2"),
        ("numpy", "<2.0,>=1.24", 'python_version < "3.12"', None),
        ("numpy", "<3.0,>=2.0", 'python_version >= "3.12"', None),
        ("pytest", "<5.2.0,>=5.1.0", "None", None),
        ("sphinx", "<8,>=7", "None", None),
    }
    assert got == want
    return True


def test_poetry_exact_python_is_a_pin(tmp_path: Path):
    text = '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\npython = "3.11"\nsix = "^1.16"\n'
    spec = read_spec(write(tmp_path / "pyproject.toml", text))
    assert spec.python == "3.11" and spec.pypi == ("six<2.0,>=1.16",)


def test_poetry_project_locks_with_amber(tmp_path: Path, amber_home: Path):
    """Before: an empty env and exit 0. Now six is resolved from PyPI as Poetry asks."""
    path = write(
        tmp_path / "pyproject.toml",
        '[tool.poetry]\nname = "x"\nversion = "0"\n[tool.poetry.dependencies]\n'
        'python = "^3.10"\nsix = "~1.16"\n',
    )
    outcome = run_cli(["lock", "-f", path, "-p", "linux-64"], cwd=tmp_path, seconds=120)
    assert outcome.code == 0, outcome
    lock = Lock.read(tmp_path / "amber.lock")
    assert [(w.name, w.version) for w in lock.platforms["linux-64"].pypi] == [("six", "1.16.0")]


def test_flit_metadata_requires(tmp_path: Path):
    path = write(
        tmp_path / "pyproject.toml",
        '[tool.flit.metadata]\nmodule = "x"\nrequires = ["requests >=2.13.0", "toml >=0.10"]\n'
        'requires-python = ">=3.7"\n[tool.flit.metadata.requires-extra]\ntest = ["pytest"]\n',
    )
    assert read_spec(path).pypi == ("requests>=2.13.0", "toml>=0.10")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[tool.poetry.dependencies]\nmine = { path = "../mine" }\n', "mine"),
        ('[tool.poetry.dependencies]\nmine = { path = "../mine", develop = true }\n', "mine"),
        (
            '[tool.poetry.dependencies]\nx = { version = "^1", source = "corp" }\n'
            '[[tool.poetry.source]]\nname = "corp"\nurl = "https://corp/simple"\n'
            'priority = "explicit"\n',
            "corp",
        ),
        ('[tool.poetry.dependencies]\nx = { git = "https://g/x.git@v1" }\n', "x"),
        ('[tool.poetry.dependencies]\nx = "^^1"\n', "x"),
        ("[tool.poetry.dependencies]\nx = 3\n", "x"),
        ("[tool.black]\nline-length = 100\n", "no dependencies"),
    ],
)
def test_what_amber_cannot_read_is_refused_by_name(tmp_path: Path, amber_home, text, needle):
    path = write(tmp_path / "pyproject.toml", text)
    outcome = run_cli(["lock", "-f", path], cwd=tmp_path)
    assert_clear_error(outcome, needle, "pyproject.toml")


def test_poetry_sources_are_indexes(tmp_path: Path):
    path = write(
        tmp_path / "pyproject.toml",
        '[tool.poetry.dependencies]\nsix = "*"\n'
        '[[tool.poetry.source]]\nname = "corp"\nurl = "https://corp.example/simple"\n'
        'priority = "primary"\n'
        '[[tool.poetry.source]]\nname = "more"\nurl = "https://more.example/simple"\n'
        'priority = "supplemental"\n',
    )
    spec = read_spec(path)
    assert spec.index_url == "https://corp.example/simple"
    assert spec.extra_index_urls == ("https://more.example/simple",)


def _poetry_core_requirements(path: Path) -> set[str]:
    """What Poetry itself installs from the file: main and non-optional groups, no
    optional dependency (poetry-core's own model of the project)."""
    poetry = Factory().create_poetry(path.parent)
    package = poetry.package
    out = set()
    for group in package._dependency_groups.values():
        if group.is_optional():
            continue
        out |= {d.to_pep_508() for d in group.dependencies if not d.is_optional()}
    return {str(canonicalize_name(Requirement(r).name)) for r in out}


def _mine(path: Path) -> bool:
    """Poetry/flit/PEP 621 files; those with [tool.conda-lock] are conda-lock's reader's."""
    return "conda-lock" not in tomllib.loads(path.read_text()).get("tool", {})


@pytest.mark.skipif(not REAL.is_dir(), reason="no ../shared/data/real")
@pytest.mark.parametrize(
    "name", sorted(p.name for p in REAL.glob("*.toml") if _mine(p)) if REAL.is_dir() else []
)
def test_real_pyproject_files(tmp_path: Path, name: str):
    """Each real file: read as its tool reads it, or refused naming the entry. Files with
    [tool.conda-lock] are conda-lock's, read by its own reader (not here)."""
    source = REAL / name
    data = tomllib.loads(source.read_text())
    path = tmp_path / "pyproject.toml"
    path.write_bytes(source.read_bytes())
    try:
        spec = read_spec(path)
    except SpecError as exc:
        assert str(path) in str(exc) and exc.line is not None, exc
        return
    names = {str(canonicalize_name(Requirement(r).name)) for r in spec.pypi}
    if "project" in data:
        want = {
            str(canonicalize_name(Requirement(r).name)) for r in data["project"]["dependencies"]
        }
    else:
        want = _poetry_core_requirements(path)
    assert names == want


_VALUES = st.one_of(
    st.sampled_from(
        [
            "^1.2",
            "~1",
            "~=1.2",
            "*",
            ">=1,<2",
            "1.2.*",
            "^^",
            "~",
            "",
            "1.2.3.4.5",
            "==1; python_version<'3'",
            "latest",
            "!=1.0",
            ">=1 || <0.5",
        ]
    ),
    st.text(max_size=8),
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.sampled_from(["^1", "x", ""]),
            "optional": st.booleans(),
            "python": st.sampled_from(["^3.8", "<3", "?"]),
            "markers": st.sampled_from(["os_name == 'nt'", "((("]),
            "git": st.sampled_from(["https://g/x.git", "https://g/x.git@v1", 3]),
            "path": st.just("../x"),
            "url": st.sampled_from(["https://e/x-1-py3-none-any.whl", "nope"]),
            "extras": st.sampled_from([["a"], "a", [1]]),
            "source": st.sampled_from(["pypi", "nope"]),
        },
    ),
    st.integers(),
    st.lists(st.sampled_from(["^1", 1]), max_size=2),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_VALUES)
def test_crafted_poetry_constraints_read_or_refused_naming_the_entry(tmp_path: Path, value):
    """Whatever a [tool.poetry.dependencies] entry holds: a spec, or a SpecError naming
    the file, its line and the entry (never another exception)."""
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.poetry.dependencies]\nthe-dep = {_toml(value)}\n")
    try:
        read_spec(path)
    except SpecError as exc:
        assert str(path) in str(exc) and "the-dep" in str(exc), exc

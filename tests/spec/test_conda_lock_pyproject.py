"""``[tool.conda-lock]`` in pyproject.toml as a spec, read as conda-lock's own
``src_parser/pyproject_toml.py`` reads it: the project's dependencies (PEP 621, PDM's dev
dependencies, Poetry, flit) become conda packages by their PyPI name unless
``default-non-conda-source = "pip"`` or a ``source = "pypi"`` entry sends them to PyPI;
``[tool.conda-lock.dependencies]`` are conda match specs; categories main and dev, as
``conda-lock install`` installs them. What it cannot read is refused by name and line."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from helpers import SHARED, assert_clear_error, run_cli, write
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from amber._platform import host_platform
from amber.errors import SpecError, SpecWarning
from amber.lock import Lock
from amber.spec import canonical_conda_spec, read_spec

REAL = SHARED / "real" / "pyproject"


def _names(spec) -> tuple[set[str], set[str]]:
    conda = {s.split("::")[-1].split()[0] for s in spec.conda}
    pypi = {str(canonicalize_name(Requirement(r).name)) for r in spec.pypi}
    return conda, pypi


def _read(path: Path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = read_spec(path)
    return spec, [str(w.message) for w in caught if issubclass(w.category, SpecWarning)]


PEP621 = """
[project]
name = "demo"
dependencies = ["requests >=2.13.0", "Toml_Thing >=0.10", "rich[jupyter]"]

[project.optional-dependencies]
test = ["pytest >=5.1"]
cli = ["click >=7.0"]

[tool.conda-lock]
channels = ["conda-forge", "nodefaults"]
platforms = ["linux-64", "osx-arm64"]
pip-repositories = ["https://pypi.example.org/simple"]

[tool.conda-lock.dependencies]
sqlite = ">=3.34"
"conda-forge::certifi" = ">=2019.11.28"
rich = { source = "pypi" }
"""


def test_pep621_dependencies_become_conda_packages_by_name(tmp_path: Path) -> None:
    spec, said = _read(write(tmp_path / "pyproject.toml", PEP621))
    conda, pypi = _names(spec)
    # PyPI names as conda names (canonical), `test` is conda-lock's dev category; the
    # `cli` extra is a category of its own, which `conda-lock install` leaves out.
    assert conda == {"requests", "toml-thing", "pytest", "sqlite", "certifi", "python"}
    assert pypi == {"rich"}  # source = "pypi"
    assert canonical_conda_spec("requests >=2.13.0") in spec.conda
    assert canonical_conda_spec("conda-forge::certifi >=2019.11.28") in spec.conda
    assert "rich[jupyter]" in spec.pypi
    assert spec.platforms == ("linux-64", "osx-arm64")
    assert [c.rstrip("/").rsplit("/", 1)[-1] for c in spec.channels] == ["conda-forge"]
    assert spec.extra_index_urls == ("https://pypi.example.org/simple",)
    assert any("cli" in s and "click" in s for s in said), said


def test_default_non_conda_source_pip_sends_the_project_to_pypi(tmp_path: Path) -> None:
    text = PEP621.replace(
        "[tool.conda-lock]\n", '[tool.conda-lock]\ndefault-non-conda-source = "pip"\n'
    )
    spec, _ = _read(write(tmp_path / "pyproject.toml", text))
    conda, pypi = _names(spec)
    assert conda == {"sqlite", "certifi", "python"}
    assert pypi == {"requests", "toml-thing", "rich", "pytest"}


def test_poetry_categories_and_python(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml",
        """
        [tool.poetry]
        name = "demo"
        version = "0.1.0"

        [tool.poetry.dependencies]
        python = "^3.9"
        requests = "^2.13.0"
        toml = { version = ">=0.10", source = "pypi" }
        tomlkit = { version = ">=0.7.0,<1.0.0", optional = true }

        [tool.poetry.extras]
        tomlkit = ["tomlkit"]

        [tool.poetry.dev-dependencies]
        pytest = "~5.1.0"

        [tool.poetry.group.docs.dependencies]
        sphinx = "*"

        [build-system]
        build-backend = "poetry.core.masonry.api"

        [tool.conda-lock]
        channels = ["conda-forge"]
        """,
    )
    spec, said = _read(path)
    conda, pypi = _names(spec)
    assert conda == {"python", "requests", "pytest"}
    assert pypi == {"toml"}
    assert canonical_conda_spec("requests <3.0.0,>=2.13.0") in spec.conda
    assert canonical_conda_spec("python <4.0,>=3.9") in spec.conda
    assert any("tomlkit" in s and "sphinx" in s for s in said), said


def test_flit_and_skip_non_conda_lock(tmp_path: Path) -> None:
    flit = """
        [tool.flit.metadata]
        module = "demo"
        requires = ["requests >=2.13.0"]
        [tool.flit.metadata.requires-extra]
        dev = ["pytest"]
        [build-system]
        build-backend = "flit_core.buildapi"
        [tool.conda-lock]
        channels = ["conda-forge"]
        [tool.conda-lock.dependencies]
        sqlite = "*"
        """
    spec, _ = _read(write(tmp_path / "a" / "pyproject.toml", flit))
    assert _names(spec) == ({"requests", "pytest", "sqlite"}, set())
    skipped = flit.replace("[tool.conda-lock]\n", "[tool.conda-lock]\nskip-non-conda-lock = true\n")
    spec, _ = _read(write(tmp_path / "b" / "pyproject.toml", skipped))
    assert _names(spec) == ({"sqlite"}, set())


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        (
            '[project]\nname = "d"\ndynamic = ["dependencies"]\n'
            '[tool.conda-lock]\nchannels = ["c"]\n',
            ["dynamic"],
        ),
        (
            '[project]\nname = "d"\ndependencies = ["a ; sys_platform == \'win32\'"]\n'
            '[tool.conda-lock]\nchannels = ["c"]\n',
            ["a ;", "marker"],
        ),
        (
            '[tool.conda-lock]\nchannels = ["c"]\n[tool.conda-lock.dependencies]\nzlib = 3\n',
            ["zlib"],
        ),
        (
            '[tool.conda-lock]\nchannels = ["c"]\nallow-pypi-requests = false\n'
            'default-non-conda-source = "pip"\n[project]\nname = "d"\ndependencies = ["six"]\n',
            ["six", "allow-pypi-requests"],
        ),
    ],
)
def test_what_conda_lock_would_read_differently_is_refused_by_name(
    tmp_path: Path, body: str, needles: list[str]
) -> None:
    path = write(tmp_path / "pyproject.toml", body)
    with pytest.raises(SpecError) as caught:
        read_spec(path)
    assert str(path) in str(caught.value) and caught.value.line is not None, caught.value
    for needle in needles:
        assert needle in str(caught.value), (needle, str(caught.value))
    outcome = run_cli(["lock", "-f", path], tmp_path)
    assert_clear_error(outcome, str(path))
    assert not (tmp_path / "amber.lock").exists()


# What conda-lock's reader makes of each real file (categories main and dev), restated:
# conda names (PyPI names mapped to conda ones) and PyPI names.
_POETRY = ({"python", "requests", "toml", "pytest", "sqlite", "certifi"}, set())
_REAL = {
    "tests__test-poetry__pyproject.toml": _POETRY,
    "tests__test-poetry-no-pypi__pyproject.toml": _POETRY,
    "tests__test-poetry-no-pypi__other_project1__pyproject.toml": _POETRY,
    "tests__test-poetry-default-pip__pyproject.toml": (
        {"python", "sqlite", "certifi"}, {"requests", "toml", "pytest"}
    ),
    "tests__test-flit__pyproject.toml": (
        {"python", "requests", "pytest", "sqlite", "certifi"}, {"toml"}
    ),
    "tests__test-flit-default-pip__pyproject.toml": (
        {"python", "sqlite", "certifi"}, {"requests", "toml", "tomlkit", "pytest"}
    ),
    "tests__test-pdm__pyproject.toml": ({"requests", "toml", "pytest", "sqlite", "certifi"}, set()),
    "tests__test-pdm-default-pip__pyproject.toml": (
        {"python", "sqlite", "certifi"}, {"requests", "toml", "tomlkit", "pytest"}
    ),
    "tests__test-toml-channel__pyproject.toml": ({"comet_ml"}, set()),
}  # fmt: skip


@pytest.mark.skipif(not REAL.is_dir(), reason="no ../shared/data/real")
@pytest.mark.parametrize("name", sorted(_REAL))
def test_real_conda_lock_pyproject_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes((REAL / name).read_bytes())
    spec, _ = _read(path)
    assert _names(spec) == _REAL[name]


def test_lock_one_end_to_end_against_a_local_channel(
    amber, tmp_path: Path, conda_channel_url: str
) -> None:
    """PyPI names the channel serves as conda packages: solved from the channel."""
    path = write(
        tmp_path / "proj" / "pyproject.toml",
        f"""
        [project]
        name = "demo"
        version = "0.1"
        dependencies = ["six >=1.16", "greetlib"]

        [project.optional-dependencies]
        dev = ["datafiles"]

        [tool.conda-lock]
        channels = ["{conda_channel_url}"]
        platforms = ["{host_platform()}"]

        [tool.conda-lock.dependencies]
        libfoo = ">=2"
        """,
    )
    made = amber("lock", "-f", path, check=True)
    lock = Lock.read(tmp_path / "proj" / "amber.lock")
    names = {c.name for c in lock.platforms[host_platform()].conda}
    assert {"six", "greetlib", "datafiles", "libfoo", "python"} <= names, made
    assert (
        next(c for c in lock.platforms[host_platform()].conda if c.name == "libfoo").version
        == "2.0"
    )
    assert not lock.platforms[host_platform()].pypi

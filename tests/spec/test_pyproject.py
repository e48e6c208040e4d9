"""pyproject.toml as a spec: [project].dependencies and Amber's [tool.amber] table."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write

from amber.errors import SpecError
from amber.spec import is_spec_file, read_spec


def test_pypi_only_pyproject(tmp_path: Path) -> None:
    spec = read_spec(
        write(
            tmp_path / "pyproject.toml",
            """
            [build-system]
            requires = ["setuptools"]

            [project]
            name = "demo"
            version = "1.0"
            requires-python = ">=3.10"   # a range the project supports, not a pin
            dependencies = [
                "Requests[socks]>=2",  # trailing comment
                "attrs",
            ]

            [project.optional-dependencies]
            test = ["pytest"]
            """,
        )
    )
    assert spec.name == "demo"
    assert spec.pypi == ("attrs", "requests[socks]>=2")
    assert not spec.is_conda and spec.python is None
    assert spec.files == ((tmp_path / "pyproject.toml").resolve(),)
    assert is_spec_file(tmp_path / "pyproject.toml")


def test_same_req_id_as_the_equivalent_environment_yml(tmp_path: Path) -> None:
    pyproject = write(
        tmp_path / "a" / "pyproject.toml",
        """
        [project]
        name = "analysis"
        version = "0.1"
        dependencies = ["Django>=4", "requests"]

        [tool.amber]
        conda = ["numpy >=1.26", "python=3.11"]
        channels = ["conda-forge", "bioconda"]
        pypi = ["tabulate==0.9.0"]
        """,
    )
    environment = write(
        tmp_path / "b" / "environment.yml",
        """
        name: analysis
        channels: [conda-forge, bioconda]
        dependencies:
          - python 3.11.*
          - numpy>=1.26
          - pip:
              - requests
              - tabulate==0.9.0
              - django >=4
        """,
    )
    a, b = read_spec(pyproject), read_spec(environment)
    assert a.conda == ("numpy >=1.26", "python 3.11.*")
    assert a.channels == (
        "https://conda.anaconda.org/conda-forge",
        "https://conda.anaconda.org/bioconda",
    )
    assert a.req_id == b.req_id
    assert a.name == b.name == "analysis"


def test_tool_amber_settings(tmp_path: Path) -> None:
    spec = read_spec(
        write(
            tmp_path / "pyproject.toml",
            """
            [project]
            name = "teamenv"
            dependencies = ["six"]

            [tool.amber]
            python = "3.12"
            platforms = ["linux-64", "osx-arm64"]
            as-of = 2024-06-01
            index-url = "https://mirror.example/simple/"
            extra-index-urls = ["https://extra.example/simple"]

            [tool.amber.system-requirements]
            cuda = "12"
            glibc = "2.28"
            """,
        )
    )
    assert spec.python == "3.12" and not spec.is_conda
    assert spec.platforms == ("linux-64", "osx-arm64")
    assert spec.as_of == "2024-06-01T00:00:00+00:00"
    assert spec.index_url == "https://mirror.example/simple"
    assert spec.extra_index_urls == ("https://extra.example/simple",)
    assert spec.system_requirements == (("cuda", "12"), ("libc", "2.28"))


def test_requires_python_pins_only_when_exact(tmp_path: Path) -> None:
    def python_of(requires: str, *, cli: str | None = None) -> str | None:
        path = write(
            tmp_path / "pyproject.toml",
            f'[project]\nname = "x"\nrequires-python = "{requires}"\ndependencies = ["six"]\n',
        )
        return read_spec(path, python=cli).python

    assert python_of(">=3.10") is None
    assert python_of("~=3.11") is None
    assert python_of(">=3.11,<3.12") is None
    assert python_of("==3.11") == "3.11"
    assert python_of("== 3.12.*") == "3.12"
    assert python_of("==3.11", cli="3.12") == "3.12"  # the command line wins


def test_conda_only_pyproject_runs(amber, conda_channel: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml",
        f"""
        [project]
        name = "greeter"
        version = "1.0"

        [tool.amber]
        channels = ["{conda_channel}"]
        conda = ["python", "greetlib"]
        """,
    )
    assert read_spec(path).conda == ("greetlib", "python")
    result = amber("run", "-f", path, "--", "greet", check=True)
    assert result.stdout.strip() == "hello from greetlib"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('[project]\nname = "x"\ndependencies = [\n  "six",,\n]\n', "malformed TOML", 4),
        ('[project]\nname = "x"\n[project]\n', "malformed TOML: Cannot declare", 3),
        (
            '[project]\nname = "x"\n\n[tool.amber]\nconda = ["numpy"]\ncondas = ["scipy"]\n',
            "unknown key 'condas' in [tool.amber]",
            6,
        ),
        (
            '[tool.amber]\nconda = ["numpy"]\n\n[tool.amber.mirrors]\nx = "y"\n',
            "unknown key 'mirrors'",
            4,
        ),
        ('[project]\nname = "x"\ndependencies = ["six", "bad req ;;"]\n', "invalid requirement", 3),
        ('[tool.amber]\nconda = [\n  "numpy",\n  "numpy >>>1",\n]\n', "invalid conda", 4),
        ("[tool.amber]\npython = 3.10\n", "must be a string", 2),
        (
            '[tool.amber]\nconda = ["numpy"]\n[[tool.amber.steps]]\nx = 1\n',
            "unknown key 'steps'",
            3,
        ),
        ('[project]\ndependencies = "six"\n', "must be a list of strings", 2),
        ('[project]\nname = "x"\ndynamic = ["dependencies"]\n', "dependencies is dynamic", 3),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, message: str, line: int) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match="^" + str(path).replace("\\", "\\\\")) as info:
        read_spec(path)
    assert message in str(info.value)
    assert info.value.line == line, str(info.value)
    assert f"{path}:{line}: " in str(info.value)

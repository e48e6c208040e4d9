"""Adding a requirement to a spec file: the fewest changes, comments and layout kept."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from amber.errors import SpecError
from amber.spec import read_spec
from amber.spec.edit import add_to_spec_file


def spec_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def added(path: Path, requirement: str, *, pypi: bool) -> str:
    add_to_spec_file(path, requirement, pypi=pypi)
    return path.read_text()


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()


# -- environment.yml ------------------------------------------------------------------

INDENTED = """
    # Our analysis env.
    name: demo
    channels:
      - conda-forge   # first
    dependencies:
      - python=3.11   # the interpreter
      - numpy>=1.26
      # plotting
      - pip:
          - requests  # http
    variables:
      FOO: "1"
"""


def test_conda_entry_goes_after_the_last_conda_one(tmp_path: Path) -> None:
    path = spec_file(tmp_path / "environment.yml", INDENTED)
    assert added(path, "pandas>=2", pypi=False) == dedent("""
        # Our analysis env.
        name: demo
        channels:
          - conda-forge   # first
        dependencies:
          - python=3.11   # the interpreter
          - numpy>=1.26
          - pandas>=2
          # plotting
          - pip:
              - requests  # http
        variables:
          FOO: "1"
    """)
    assert "pandas >=2" in read_spec(path).conda


def test_pypi_entry_goes_into_the_pip_list(tmp_path: Path) -> None:
    path = spec_file(tmp_path / "environment.yml", INDENTED)
    text = added(path, "tabulate==0.9.0", pypi=True)
    assert "      - requests  # http\n      - tabulate==0.9.0\nvariables:" in text
    assert read_spec(path).pypi == ("requests", "tabulate==0.9.0")


def test_unindented_dash_style(tmp_path: Path) -> None:
    path = spec_file(
        tmp_path / "environment.yml",
        """
        channels:
        - conda-forge
        dependencies:
        - python=3.11
        - pip:
          - requests
        """,
    )
    assert added(path, "numpy", pypi=False) == dedent("""
        channels:
        - conda-forge
        dependencies:
        - python=3.11
        - numpy
        - pip:
          - requests
    """)
    assert added(path, "attrs", pypi=True).endswith("  - requests\n  - attrs\n")
    assert read_spec(path).pypi == ("attrs", "requests")


def test_pip_section_created_when_missing(tmp_path: Path) -> None:
    path = spec_file(
        tmp_path / "environment.yml",
        """
        dependencies:
          - python=3.11
          - numpy  # last
        """,
    )
    assert added(path, "requests>=2", pypi=True) == dedent("""
        dependencies:
          - python=3.11
          - numpy  # last
          - pip:
              - requests>=2
    """)
    assert read_spec(path).pypi == ("requests>=2",)


def test_empty_pip_section_and_no_dependencies(tmp_path: Path) -> None:
    path = spec_file(
        tmp_path / "environment.yml",
        """
        dependencies:
          - python
          - pip:
        name: x
        """,
    )
    assert (
        added(path, "six", pypi=True)
        == "dependencies:\n  - python\n  - pip:\n      - six\nname: x\n"
    )

    bare = tmp_path / "b" / "environment.yml"
    bare.parent.mkdir()
    bare.write_text("name: bare  # no newline at the end")
    assert added(bare, "six", pypi=False) == (
        "name: bare  # no newline at the end\ndependencies:\n  - six\n"
    )
    assert added(bare, "attrs", pypi=True).endswith("  - six\n  - pip:\n      - attrs\n")
    assert read_spec(bare).pypi == ("attrs",)


def test_flow_style_lists(tmp_path: Path) -> None:
    path = spec_file(
        tmp_path / "environment.yml", 'dependencies: [python, "numpy>=1,<2"]  # flow\n'
    )
    assert added(path, "scipy>=1,<2", pypi=False) == (
        'dependencies: [python, "numpy>=1,<2", "scipy>=1,<2"]  # flow\n'
    )
    assert added(path, "six", pypi=True) == (
        'dependencies: [python, "numpy>=1,<2", "scipy>=1,<2", {pip: [six]}]  # flow\n'
    )
    assert added(path, "attrs", pypi=True).endswith("{pip: [six, attrs]}]  # flow\n")
    assert read_spec(path).pypi == ("attrs", "six")


def test_existing_entry_is_replaced(tmp_path: Path) -> None:
    path = spec_file(tmp_path / "environment.yml", INDENTED)
    text = added(path, "NumPy=2.1", pypi=False)
    assert "  - NumPy=2.1\n  # plotting" in text and "numpy>=1.26" not in text
    text = added(path, "Requests[socks]==2.32.3", pypi=True)
    assert "      - Requests[socks]==2.32.3  # http\n" in text
    spec = read_spec(path)
    assert spec.pypi == ("requests[socks]==2.32.3",)
    assert [c for c in spec.conda if c.startswith("numpy")] == ["numpy 2.1.*"]
    # A channel-qualified entry is the same package too.
    path.write_text("dependencies:\n  - conda-forge::numpy  # pinned channel\n")
    assert added(path, "numpy>=2", pypi=False) == "dependencies:\n  - numpy>=2  # pinned channel\n"


def test_quoting_when_needed(tmp_path: Path) -> None:
    path = spec_file(tmp_path / "environment.yml", "dependencies:\n  - python\n")
    text = added(path, 'requests ; python_version < "3.13"', pypi=True)
    assert read_spec(path).pypi == ('requests ; python_version < "3.13"',)
    assert text.endswith('      - requests ; python_version < "3.13"\n')
    text = added(path, "numpy[version='>=1,<2']", pypi=False)
    assert "  - numpy[version='>=1,<2']\n" in text
    assert "numpy >=1,<2" in read_spec(path).conda


def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_bytes(b"dependencies:\r\n  - python\r\n")
    add_to_spec_file(path, "six", pypi=False)
    assert path.read_bytes() == b"dependencies:\r\n  - python\r\n  - six\r\n"
    toml = tmp_path / "pyproject.toml"
    toml.write_bytes(b'[project]\r\nname = "x"\r\ndependencies = [\r\n  "a"\r\n]\r\n')
    add_to_spec_file(toml, "six", pypi=True)
    assert toml.read_bytes() == (
        b'[project]\r\nname = "x"\r\ndependencies = [\r\n  "a",\r\n  "six"\r\n]\r\n'
    )


# -- requirements.txt ---------------------------------------------------------------


def test_requirements_txt(tmp_path: Path) -> None:
    path = spec_file(
        tmp_path / "requirements.txt",
        """
        # pinned for the paper
        --index-url https://pypi.org/simple
        requests==2.31.0  # http
        numpy>=1.26 \\
            --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
        attrs""",
    )
    assert added(path, "six", pypi=True).endswith("\nattrs\nsix\n")
    text = added(path, "Requests>=2.32", pypi=True)
    assert "Requests>=2.32  # http\n" in text and "2.31.0" not in text
    text = added(path, "numpy==2.0.0", pypi=True)
    assert "\nnumpy==2.0.0\nattrs\n" in text and "--hash" not in text
    assert text.startswith("# pinned for the paper\n--index-url https://pypi.org/simple\n")
    assert read_spec(path).pypi == ("attrs", "numpy==2.0.0", "requests>=2.32", "six")


def test_requirements_txt_refuses_conda(tmp_path: Path) -> None:
    path = spec_file(tmp_path / "requirements.txt", "six\n")
    with pytest.raises(SpecError, match="requirements.txt holds PyPI packages only"):
        add_to_spec_file(path, "numpy", pypi=False)
    assert path.read_text() == "six\n"


# -- pyproject.toml -------------------------------------------------------------------

PYPROJECT = """
    [build-system]
    requires = ["setuptools"]  # build

    [project]
    name = "demo"
    version = "1.0"
    dependencies = [
        "requests>=2",  # http
        "attrs",
    ]

    [project.optional-dependencies]
    test = ["pytest"]

    [tool.amber]
    channels = ["conda-forge"]
    conda = ['python=3.11']

    [tool.other]
    x = 1
"""


def test_pyproject_pypi_and_conda(tmp_path: Path) -> None:
    path = spec_file(tmp_path / "pyproject.toml", PYPROJECT)
    text = added(path, "six", pypi=True)
    assert text == dedent(PYPROJECT).replace('    "attrs",\n', '    "attrs",\n    "six",\n')
    text = added(path, "numpy>=2", pypi=False)
    assert "conda = ['python=3.11', 'numpy>=2']\n" in text  # quotes like its neighbours
    text = added(path, "requests==2.32.3", pypi=True)
    assert '    "requests==2.32.3",  # http\n' in text
    spec = read_spec(path)
    assert spec.pypi == ("attrs", "requests==2.32.3", "six")
    assert spec.conda == ("numpy >=2", "python 3.11.*")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('dependencies = ["a", "b"]', 'dependencies = ["a", "b", "six"]'),
        ('dependencies = ["a",]', 'dependencies = ["a", "six"]'),
        ("dependencies = []", 'dependencies = ["six"]'),
        ('dependencies = [\n  "a"\n]', 'dependencies = [\n  "a",\n  "six"\n]'),
        ('dependencies = [\n  "a"]', 'dependencies = [\n  "a",\n  "six"]'),
        (
            'dependencies = [\n    "a",  # x\n    # y\n]',
            'dependencies = [\n    "a",  # x\n    "six",\n    # y\n]',
        ),
        ("dependencies = [\n]", 'dependencies = [\n    "six",\n]'),
    ],
)
def test_pyproject_array_layouts(tmp_path: Path, before: str, after: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(f'[project]\nname = "x"\n{before}\n')
    assert added(path, "six", pypi=True) == f'[project]\nname = "x"\n{after}\n'


def test_pyproject_missing_keys_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"  # the name\n\n[tool.ruff]\nline-length = 100\n')
    assert added(path, "six", pypi=True) == (
        '[project]\nname = "x"  # the name\ndependencies = ["six"]\n\n'
        "[tool.ruff]\nline-length = 100\n"
    )
    assert added(path, "numpy", pypi=False).endswith(
        'line-length = 100\n\n[tool.amber]\nconda = ["numpy"]\n'
    )
    assert read_spec(path).conda == ("numpy", "python")

    # Without a [project] table, PyPI requirements go to [tool.amber].pypi.
    bare = tmp_path / "b" / "pyproject.toml"
    bare.parent.mkdir()
    bare.write_text(
        '[tool.amber]\npython = "3.12"\n\n[tool.amber.system-requirements]\ncuda = "12"\n'
    )
    assert added(bare, "six", pypi=True) == (
        '[tool.amber]\npython = "3.12"\npypi = ["six"]\n\n'
        '[tool.amber.system-requirements]\ncuda = "12"\n'
    )
    assert read_spec(bare).pypi == ("six",)


def test_pyproject_tricky_text_is_kept(tmp_path: Path) -> None:
    """Multi-line strings that look like tables, dotted keys and inline tables."""
    text = dedent('''
        [project]
        name = "x"
        description = """
        [tool.amber]
        conda = ["not", "this"]
        """
        authors = [{name = "A, B", email = "a@b.c"}]
        urls.home = "https://x"
        dependencies = ['six']  # trailing
        [tool]
        amber.conda = ["python"]
    ''')
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    assert added(path, "attrs", pypi=True) == text.replace("['six']", "['six', 'attrs']")
    assert added(path, "numpy", pypi=False).endswith('amber.conda = ["python", "numpy"]\n')


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["environment.yml", "requirements.txt", "pyproject.toml"])
def test_invalid_requirement_changes_nothing(tmp_path: Path, name: str) -> None:
    texts = {
        "environment.yml": INDENTED,
        "requirements.txt": "six  # x\n",
        "pyproject.toml": PYPROJECT,
    }
    path = spec_file(tmp_path / name, texts[name])
    before = path.read_bytes()
    with pytest.raises(SpecError, match="'requests >>> 2'"):
        add_to_spec_file(path, "requests >>> 2", pypi=True)
    if name != "requirements.txt":
        with pytest.raises(SpecError, match="numpy >>>1"):
            add_to_spec_file(path, "numpy >>>1", pypi=False)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [name]  # no temp files left behind


def test_a_url_without_a_name_is_refused_naming_it(tmp_path: Path) -> None:
    """Found by tests/test_fuzz_inputs.py (an AssertionError): `amber add --pypi URL` of an
    unnamed URL says what to write instead, and changes nothing."""
    path = spec_file(tmp_path / "requirements.txt", "six  # x\n")
    before = path.read_bytes()
    with pytest.raises(SpecError, match=r"'file:///dev/zero' names no package: write NAME @ URL"):
        add_to_spec_file(path, "file:///dev/zero", pypi=True)
    assert path.read_bytes() == before


def test_broken_file_is_not_edited(tmp_path: Path) -> None:
    path = spec_file(tmp_path / "environment.yml", "dependencies:\n  - numpy\n  bad: [\n")
    with pytest.raises(SpecError, match="malformed YAML"):
        add_to_spec_file(path, "six", pypi=False)
    assert path.read_text() == "dependencies:\n  - numpy\n  bad: [\n"


def test_an_edit_that_breaks_the_spec_is_undone(tmp_path: Path) -> None:
    """The result is read back as a spec; if that fails the original bytes come back."""
    path = tmp_path / "requirements.txt"
    path.write_text("six \\\n")  # a continuation with nothing after it: the next line joins
    os.chmod(path, 0o644)
    with pytest.raises(SpecError, match="adding 'attrs' would make the file invalid"):
        add_to_spec_file(path, "attrs", pypi=True)
    assert path.read_text() == "six \\\n"
    assert (path.stat().st_mode & 0o777) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["requirements.txt"]


def test_keeps_permissions_and_symlinks(tmp_path: Path) -> None:
    real = spec_file(tmp_path / "real" / "requirements.txt", "six\n")
    os.chmod(real, 0o664)
    link = tmp_path / "requirements.txt"
    link.symlink_to(real)
    add_to_spec_file(link, "attrs", pypi=True)
    assert link.is_symlink() and real.read_text() == "six\nattrs\n"
    assert (real.stat().st_mode & 0o777) == 0o664


def test_not_a_spec_file(tmp_path: Path) -> None:
    path = tmp_path / "amber.lock"
    path.write_text("x")
    with pytest.raises(SpecError, match="can only add packages to"):
        add_to_spec_file(path, "six", pypi=True)

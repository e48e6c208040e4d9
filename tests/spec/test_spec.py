"""Spec parsing and canonical form: two files meaning the same thing share a req_id."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write

from amber import _auth
from amber.errors import SpecError
from amber.spec import Spec, read_spec


def test_environment_yml_and_its_canonical_form(tmp_path: Path) -> None:
    spec = read_spec(
        write(
            tmp_path / "environment.yml",
            """
            name: demo
            channels: [conda-forge, bioconda]
            dependencies:
              - NumPy>=1.26
              - conda-forge::pandas
              - python=3.11
              - pip:
                - Requests[socks,security]>=2
            """,
        )
    )
    assert spec.name == "demo"
    # Channel names resolve as conda resolves them (channel_alias, default: conda.anaconda.org).
    assert spec.channels == (
        "https://conda.anaconda.org/conda-forge",
        "https://conda.anaconda.org/bioconda",
    )
    assert spec.conda == ("numpy >=1.26", "conda-forge::pandas", "python 3.11.*")
    assert spec.pypi == ("requests[security,socks]>=2",)
    assert spec.is_conda and spec.canonical()["python"] is None


def test_same_meaning_same_req_id(tmp_path: Path) -> None:
    a = write(
        tmp_path / "a" / "environment.yml",
        """
        channels: [conda-forge]
        dependencies: [numpy >=1.26, python=3.11, {pip: [Django>=4, "requests"]}]
        """,
    )
    b = write(
        tmp_path / "b" / "environment.yaml",
        """
        name: another-name   # names are labels, not content
        channels:
          - conda-forge
        dependencies:
          - python 3.11.*
          - numpy>=1.26
          - pip:
              - requests
              - django >=4
        """,
    )
    assert read_spec(a).req_id == read_spec(b).req_id
    c = write(
        tmp_path / "c.yml", "channels: [bioconda, conda-forge]\ndependencies: [numpy>=1.26]\n"
    )
    d = write(
        tmp_path / "d.yml", "channels: [conda-forge, bioconda]\ndependencies: [numpy>=1.26]\n"
    )
    assert read_spec(c).req_id != read_spec(d).req_id  # channel order is priority


def test_pip_section_adds_python(tmp_path: Path) -> None:
    spec = read_spec(write(tmp_path / "e.yml", "dependencies: [six, {pip: [idna]}]\n"))
    assert "python" in spec.conda


def test_requirements_txt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMBER_TEST_TOKEN", "s3cret")
    write(tmp_path / "base.txt", "six==1.17.0  # pinned\n")
    write(tmp_path / "constraints.txt", "idna<4\n")
    spec = read_spec(
        write(
            tmp_path / "requirements.txt",
            """
            # a comment
            -r base.txt
            -c constraints.txt
            --index-url https://user:${AMBER_TEST_TOKEN}@example.org/simple
            --extra-index-url https://extra.example.org/simple/
            requests[socks] >=2 ; python_version >= "3.8"
            python-dateutil \\
                ==2.9.0.post0
            """,
        ),
        python="3.11",
    )
    assert spec.pypi == (
        "python-dateutil==2.9.0.post0",
        'requests[socks]>=2 ; python_version >= "3.8"',
        "six==1.17.0",
    )
    assert spec.pypi_constraints == ("idna<4",)
    # The spec holds the URL without its credentials; they stay in this process's memory.
    assert spec.index_url == "https://example.org/simple"
    assert _auth.with_credentials(spec.index_url) == "https://user:s3cret@example.org/simple"
    canonical = spec.canonical()
    assert canonical["index_url"] == "https://example.org/simple"  # never in a lock
    assert "s3cret" not in str(canonical)
    assert canonical["extra_index_urls"] == ["https://extra.example.org/simple"]
    assert canonical["python"] == "3.11"
    assert len(spec.files) == 3


def test_requirements_default_index_is_no_index(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "six\n")
    b = write(tmp_path / "b.txt", "--index-url https://pypi.org/simple/\nSix\n")
    assert read_spec(a, python="3.11").req_id == read_spec(b, python="3.11").req_id


def test_python_version_is_part_of_pypi_only_req_id() -> None:
    assert (
        Spec.create(pypi=["six"], python="3.10").req_id
        != Spec.create(pypi=["six"], python="3.11").req_id
    )


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("dependencies:\n  - numpy\n   - bad: [\n", 3, "malformed YAML"),
        ("dependencies:\n  - numpy\n  - numpy>>=1\n", 3, "numpy>>=1"),
        ("dependencies:\n  - pip:\n    - requests>=>2\n", 3, "requests>=>2"),
    ],
)
def test_bad_environment_yml_names_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path / "environment.yml", text)
    with pytest.raises(SpecError) as info:
        read_spec(path)
    assert f"{path}:{line}:" in str(info.value)
    assert fragment in str(info.value)


def test_bad_requirement_in_included_file(tmp_path: Path) -> None:
    write(tmp_path / "other.txt", "six\n\nnot a requirement!!\n")
    path = write(tmp_path / "requirements.txt", "idna\n-r other.txt\n")
    with pytest.raises(SpecError) as info:
        read_spec(path)
    assert f"{tmp_path / 'other.txt'}:3:" in str(info.value)


def test_editable_requirement_is_refused_with_advice(tmp_path: Path) -> None:
    path = write(tmp_path / "requirements.txt", "-e .\n")
    with pytest.raises(SpecError, match="editable"):
        read_spec(path)

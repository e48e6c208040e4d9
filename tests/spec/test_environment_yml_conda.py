"""environment.yml read the way conda reads it: unknown keys, empty sections, variables,
prefix, and every platform rattler knows."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import rattler
from helpers import write

from amber.errors import SpecError, SpecWarning
from amber.spec import PLATFORMS, Spec, read_spec


def _read(path: Path) -> tuple[Spec, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = read_spec(path)
    return spec, [str(w.message) for w in caught if issubclass(w.category, SpecWarning)]


def test_unknown_keys_are_warnings_naming_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "environment.yml",
        """
        name: demo
        category: dev
        dependencies:
          - numpy
        pip-repositories:
          - https://example.invalid/simple
        """,
    )
    spec, said = _read(path)
    assert spec.conda == ("numpy",)
    assert spec.extra_index_urls == ()  # ignored, as conda ignores it
    assert len(said) == 2
    assert said[0].startswith(f"{path}:2: unknown key 'category'")
    assert said[1].startswith(f"{path}:5: unknown key 'pip-repositories'")
    assert "ignored" in said[1] and "--extra-index-url" in said[1]


def test_a_misspelt_key_is_a_warning_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path / "environment.yml", "name: x\ndependancies: [numpy]\n")
    spec, said = _read(path)
    assert spec.conda == ()
    assert said == [
        f"{path}:2: unknown key 'dependancies' (did you mean 'dependencies'?) is ignored, "
        "as conda ignores it (known: name, dependencies, prefix, channels, variables, "
        "platforms, system-requirements, as-of)"
    ]


def test_the_cli_shows_the_warning_and_goes_on(amber, tmp_path: Path) -> None:
    path = write(tmp_path / "environment.yml", "category: dev\ndependencies:\n  - six\n")
    result = amber("lock", "-f", path, "--check")
    assert f"warning: {path}:1: unknown key 'category'" in result.stderr
    assert "Traceback" not in result.stderr


def test_null_dependencies_are_an_empty_list(tmp_path: Path) -> None:
    path = write(tmp_path / "environment.yml", "name: nlp\nchannels:\n  - x\ndependencies:\n")
    spec, said = _read(path)
    assert spec.conda == () and spec.pypi == () and said == []


def test_variables_are_part_of_the_spec(tmp_path: Path) -> None:
    text = "dependencies: [six]\nvariables:\n  MY_VAR: My Value\n  FLAG: true\n  N: 3\n"
    spec, _ = _read(write(tmp_path / "a" / "environment.yml", text))
    assert spec.variables == (("FLAG", "True"), ("MY_VAR", "My Value"), ("N", "3"))
    assert spec.canonical()["variables"] == {"FLAG": "True", "MY_VAR": "My Value", "N": "3"}
    plain, _ = _read(write(tmp_path / "b" / "environment.yml", "dependencies: [six]\n"))
    assert "variables" not in plain.canonical()  # specs without variables keep their req_id
    assert plain.req_id != spec.req_id
    assert Spec.from_canonical(spec.canonical()) == spec.locked()


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("dependencies: []\nvariables: [A]\n", "'variables' must be a mapping", 2),
        ("dependencies: []\nvariables:\n  A: [1]\n", "variable 'A' needs a text value", 3),
        ("dependencies: []\nvariables:\n  BAD-NAME: x\n", "invalid variable name 'BAD-NAME'", None),
    ],
)
def test_bad_variables_are_refused(tmp_path: Path, text: str, fragment: str, line: int) -> None:
    path = write(tmp_path / "environment.yml", text)
    with pytest.raises(SpecError, match=fragment) as info:
        read_spec(path)
    assert str(info.value).startswith(f"{path}:{line}:" if line else f"{path}:")


def test_prefix_is_read_as_conda_expands_a_prefix_without_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # conda expands `prefix:` as it expands `-p`: `$VAR`, `~`, from the current directory.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVS_ROOT", str(tmp_path / "root"))
    path = write(tmp_path / "sub" / "environment.yml", "dependencies: [six]\nprefix: ./envs/demo\n")
    spec, said = _read(path)
    assert spec.prefix == tmp_path / "envs" / "demo"
    expanded, _ = _read(write(tmp_path / "c" / "environment.yml", "prefix: $ENVS_ROOT/x\n"))
    assert expanded.prefix == tmp_path / "root" / "x"
    # Built there by `amber install -f` (tests/hydrate/test_prefix.py): nothing to warn about.
    assert said == []
    plain, _ = _read(write(tmp_path / "b" / "environment.yml", "dependencies: [six]\n"))
    assert spec.req_id == plain.req_id  # where, not what


def test_a_prefix_no_path_can_hold_is_refused_naming_its_line(tmp_path: Path) -> None:
    # Found by test_fuzz_inputs: `prefix: "\0"` made `amber install -f` crash in realpath.
    path = write(tmp_path / "environment.yml", 'dependencies: [six]\nprefix: "a\\0b"\n')
    with pytest.raises(SpecError, match="NUL") as info:
        read_spec(path)
    assert str(info.value).startswith(f"{path}:2:")


def test_every_platform_rattler_knows_is_accepted(tmp_path: Path) -> None:
    known = sorted(str(p) for p in rattler.platform.Platform.all() if str(p) != "noarch")
    assert sorted(PLATFORMS) == known
    text = "channels: [conda-forge]\ndependencies: [zlib]\nplatforms:\n"
    text += "".join(f"  - {p}\n" for p in ("linux-ppc64le", "win-arm64", "linux-s390x"))
    spec, _ = _read(write(tmp_path / "environment.yml", text))
    assert spec.platforms == ("linux-ppc64le", "linux-s390x", "win-arm64")
    with pytest.raises(SpecError, match="unsupported platform 'linux-sparc'"):
        Spec.create(conda=["zlib"], platforms=["linux-sparc"])

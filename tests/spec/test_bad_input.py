"""Malformed spec files and flag values: each a clear error naming file and line (exit 2), no
traceback, no hang, no lock written, and no message quoting more than a short piece of input.

Each case is one the issue's fuzzing found (a traceback, a hang, or silently accepted)."""

from __future__ import annotations

import os
from pathlib import Path

import condapkgs
import pytest
from helpers import assert_clear_error, run_cli, write

from amber._input import MAX_ENTRIES, read_input, shorten
from amber.errors import SpecError


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("bad-input-channel")
    return condapkgs.build_channel(root / "ch", [condapkgs.libfoo_package("1.0")]).as_uri()


@pytest.fixture(autouse=True)
def _home(amber_home: Path) -> Path:
    return amber_home


def lock_of(spec: Path, *more: str) -> str:
    """``amber lock -f spec``: a clear error, and no lock beside the spec."""
    outcome = run_cli(["lock", "-f", spec, *more], spec.parent)
    message = assert_clear_error(outcome)
    assert not (spec.parent / "amber.lock").exists()
    return message


def env_yml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "environment.yml"
    path.write_bytes(text.encode("utf-8"))
    return path


# -- environment.yml -------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_control_characters_in_yaml_name_the_line(tmp_path: Path, channel: str, char: str) -> None:
    spec = env_yml(tmp_path, f"channels: [{channel}]\ndependencies: [libfoo{char}]\n")
    message = lock_of(spec)
    assert f"{spec}:2: malformed YAML: unacceptable character" in message


@pytest.mark.parametrize("key", ["[a, b]", "{a: b}"])
def test_complex_yaml_keys_are_refused(tmp_path: Path, key: str) -> None:
    spec = env_yml(tmp_path, f"dependencies: [libfoo]\n? {key}\n: 1\n")
    assert f"{spec}:2: malformed YAML: a mapping key must be a plain value" in lock_of(spec)


def test_duplicate_keys_are_refused_not_the_last_taken(tmp_path: Path, channel: str) -> None:
    spec = env_yml(
        tmp_path, f"channels: [{channel}]\ndependencies: [libfoo]\ndependencies: [nosuch]\n"
    )
    assert f"{spec}:3: malformed YAML: duplicate key 'dependencies'" in lock_of(spec)


def test_unknown_yaml_tags_are_refused(tmp_path: Path, channel: str) -> None:
    spec = env_yml(tmp_path, f"channels: [{channel}]\ndependencies: [!foo libfoo]\n")
    assert f"{spec}:2: malformed YAML: unknown tag '!foo'" in lock_of(spec)


@pytest.mark.parametrize(("key", "line"), [("as-of", "as-of: [2020-01-01]"), ("name", "name: [a]")])
def test_a_list_where_one_value_goes_is_refused(
    tmp_path: Path, channel: str, key: str, line: str
) -> None:
    spec = env_yml(tmp_path, f"channels: [{channel}]\n{line}\ndependencies: [libfoo]\n")
    assert f"{spec}:2: '{key}' must be a single value" in lock_of(spec)


def test_too_many_dependencies_are_refused_by_count(tmp_path: Path, channel: str) -> None:
    """200,000 entries took 202 s to reject (each looked up by the solver): now the count is
    refused before anything is parsed or solved."""
    deps = "".join(f"- pkg{i}\n" for i in range(MAX_ENTRIES + 1))
    spec = env_yml(tmp_path, f"channels: [{channel}]\ndependencies:\n{deps}")
    message = lock_of(spec)
    assert f"{spec}:3: 'dependencies' lists {MAX_ENTRIES + 1:,} entries" in message


def test_a_major_only_system_requirement_is_a_version_as_in_pixi(
    tmp_path: Path, channel: str
) -> None:
    """pixi reads `libc = "2"` and `macos = "14"` as versions: so does Amber (no traceback)."""
    spec = env_yml(
        tmp_path,
        f"channels: [{channel}]\nsystem-requirements: {{libc: '2', macos: '14'}}\n"
        "dependencies: [libfoo]\n",
    )
    outcome = run_cli(["lock", "-f", spec, "-p", "linux-64"], tmp_path)
    assert outcome.crash is None and "Traceback" not in outcome.stderr, outcome
    assert outcome.code == 0, outcome.stderr


@pytest.mark.parametrize(
    ("requirement", "complaint"),
    [
        ("{libc: '2.x'}", "invalid version '2.x' for system requirement 'libc'"),
        ("{macos: 'x.y'}", "invalid version 'x.y' for system requirement 'macos'"),
    ],
)
def test_malformed_system_requirements(
    tmp_path: Path, channel: str, requirement: str, complaint: str
) -> None:
    spec = env_yml(
        tmp_path,
        f"channels: [{channel}]\nsystem-requirements: {requirement}\ndependencies: [libfoo]\n",
    )
    assert f"{spec}: {complaint}" in lock_of(spec, "-p", "linux-64", "-p", "osx-arm64")


@pytest.mark.parametrize(
    ("match_spec", "complaint"),
    [
        ("six *.*.*", "the build string '.*' is not valid"),
        ("libfoo *.*.*", "the build string '.*' is not valid"),
        ('six[build_number=">99999999999999999999"]', "a number in it is too large"),
        ("libfoo 99999999999999999999999", "a number in it is too large"),
    ],
)
def test_match_specs_the_solver_would_choke_on_name_file_and_line(
    tmp_path: Path, channel: str, match_spec: str, complaint: str
) -> None:
    """rattler parsed these, then raised at lock time (or panicked): now refused on reading."""
    spec = env_yml(tmp_path, f"channels: [{channel}]\ndependencies:\n- libfoo\n- '{match_spec}'\n")
    message = lock_of(spec)
    assert message.startswith(f"{spec}:4: invalid conda match spec") and complaint in message


@pytest.mark.parametrize(
    ("channel_text", "complaint"),
    [
        ("http://[::1", "invalid channel URL"),
        ("http://127.0.0.1:99999/x", "Port out of range"),
        ("~nosuchuser/x", "invalid channel '~nosuchuser/x'"),
    ],
)
def test_channels_that_can_never_be_read(tmp_path: Path, channel_text: str, complaint: str) -> None:
    spec = env_yml(tmp_path, f"channels: ['{channel_text}']\ndependencies: [libfoo]\n")
    message = lock_of(spec)
    assert message.startswith(f"{spec}:1: ") and complaint in message


@pytest.mark.parametrize(
    "as_of", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "99999-01-01"]
)
def test_extreme_as_of_dates(tmp_path: Path, channel: str, as_of: str) -> None:
    """datetime overflowed (OverflowError) converting these to UTC."""
    spec = env_yml(tmp_path, f"channels: [{channel}]\ndependencies: [libfoo]\n")
    assert "invalid as-of date" in lock_of(spec, "--as-of", as_of)


def test_a_two_megabyte_line_is_quoted_shortened(tmp_path: Path, channel: str) -> None:
    spec = env_yml(tmp_path, f"channels: [{channel}]\ndependencies: ['{'x' * 2_000_000} ==1']\n")
    message = lock_of(spec)  # lock_of checks every line is short
    assert f"{spec}:2: invalid conda match spec 'xxx" in message and "...'" in message


# -- requirements.txt ----------------------------------------------------------------------


def test_r_with_a_nul(tmp_path: Path) -> None:
    spec = write(tmp_path / "requirements.txt", "six\n-r a\x00b\n")
    message = lock_of(spec)
    assert f"{spec}:2: -r 'a\\x00b': cannot read: the name holds a NUL character" in message


def test_r_with_a_five_thousand_character_name(tmp_path: Path) -> None:
    spec = write(tmp_path / "requirements.txt", "-r " + "a" * 5000 + "\n")
    assert f"{spec}:1: -r 'aaa" in lock_of(spec)


def test_r_through_a_symlink_loop(tmp_path: Path) -> None:
    os.symlink("l2", tmp_path / "l1")
    os.symlink("l1", tmp_path / "l2")
    spec = write(tmp_path / "requirements.txt", "-r l1\n")
    assert f"{spec}:1: -r 'l1': cannot read: a symlink loop" in lock_of(spec)


def test_r_pointing_at_a_fifo_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "more.txt")
    spec = write(tmp_path / "requirements.txt", "-r more.txt\n")
    assert "not a regular file" in lock_of(spec)


# -- pyproject.toml ------------------------------------------------------------------------


def test_toml_nested_three_thousand_deep(tmp_path: Path) -> None:
    spec = write(tmp_path / "pyproject.toml", "x = " + "[" * 3000 + "]" * 3000 + "\n")
    assert "malformed TOML: arrays or tables nested too deeply" in lock_of(spec)


def test_pyproject_dynamic_must_be_a_list(tmp_path: Path) -> None:
    """`dynamic = 5` was taken as 'nothing is dynamic' (a lock with no packages)."""
    spec = write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\ndynamic = 5\n")
    assert f"{spec}:3: 'dynamic' in [project] must be a list of strings" in lock_of(spec)


# -- what -f points at ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["lock", "install"])
def test_f_pointing_at_a_fifo_does_not_hang(tmp_path: Path, command: str) -> None:
    os.mkfifo(tmp_path / "environment.yml")
    outcome = run_cli([command, "-f", tmp_path / "environment.yml"], tmp_path)
    assert "not a regular file" in assert_clear_error(outcome)


def test_f_with_a_nul_is_a_usage_error(tmp_path: Path) -> None:
    outcome = run_cli(["lock", "-f", "a\x00b.yml"], tmp_path)
    assert_clear_error(outcome, "a path cannot hold a NUL character")


def test_f_naming_a_directory(tmp_path: Path) -> None:
    outcome = run_cli(["lock", "-f", "."], tmp_path)
    assert "directory" in assert_clear_error(outcome)


# -- the helpers every reader uses ---------------------------------------------------------


def test_read_input_refuses_big_binary_and_special_files(tmp_path: Path) -> None:
    def error(message: str) -> SpecError:
        return SpecError(message, "f")

    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(SpecError, match="too large to be read: 101 bytes"):
        read_input(big, error, limit=100)
    binary = tmp_path / "bin"
    binary.write_bytes(b"ok\n\xff")
    with pytest.raises(SpecError, match="not UTF-8 text \\(byte 0xff on line 2\\)"):
        read_input(binary, error)
    with pytest.raises(SpecError, match="not a regular file"):
        read_input("/dev/zero", error)


def test_shorten_keeps_one_short_line() -> None:
    assert shorten("abc") == "abc"
    assert shorten("a" * 500) == "a" * 97 + "..."
    assert shorten("first\nsecond") == "first..."

"""Bad input, end to end through the real CLI.

Every user error must give exit code 2, one clear message on stderr naming the
culprit (file and line where there is one), no traceback, and nothing
half-written: no lock file beside the spec or at ``-o``, no env directory in
the store.  A command that does not exist in an env gives 127.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path

import condapkgs
import pytest
from helpers import write

# A PyPI name that surely does not exist.
NO_SUCH_PYPI = "amber-no-such-package-xyz-123"


# -- helpers --------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_entries(amber_home: Path) -> list[str]:
    """What is in ``$AMBER_HOME/envs`` besides the ``.locks`` directory."""
    envs = amber_home / "envs"
    if not envs.is_dir():
        return []
    return sorted(p.name for p in envs.iterdir() if p.name != ".locks")


def first_error(stderr: str) -> str:
    """The first line Amber prefixes with ``error: `` (its message starts there)."""
    for line in stderr.splitlines():
        if line.startswith("error: "):
            return line
    raise AssertionError(f"no 'error: ' line on stderr:\n{stderr}")


def assert_user_error(
    result, amber_home: Path, *needles: str, no_files: tuple[Path, ...] = (), code: int = 2
) -> None:
    """Exit ``code``, one message naming every needle, no traceback, nothing left behind."""
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr, result
    assert result.stdout.strip() == "", result  # e.g. no env path printed on failure
    message = first_error(result.stderr)
    # One message: Amber's own first line is not repeated (uv may add its own `error:`).
    assert result.stderr.count(message) == 1, result
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in stderr\n{result!r}"
    for path in no_files:
        assert not path.exists(), f"{path} was written\n{result!r}"
    assert env_entries(amber_home) == [], f"env dirs left behind: {env_entries(amber_home)}"


# Every spec-level error is tried through each command that reads a spec.
COMMANDS = {
    "lock-o": lambda spec, out: ("lock", "-f", spec, "-o", out),
    "lock": lambda spec, out: ("lock", "-f", spec),
    "install": lambda spec, out: ("install", "-f", spec),
}


@pytest.fixture(params=sorted(COMMANDS))
def spec_command(request):
    """Build the argv of one command run on a spec; ``-o`` target beside it."""
    return COMMANDS[request.param]


def run_spec(amber, spec_command, spec: Path, *needles: str, amber_home: Path) -> object:
    out = spec.parent / "out.lock"
    result = amber(*spec_command(spec, out), cwd=spec.parent)
    assert_user_error(result, amber_home, *needles, no_files=(out, spec.parent / "amber.lock"))
    return result


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A project directory (symlinks resolved, so paths in messages compare equal)."""
    path = tmp_path.resolve() / "project"
    path.mkdir()
    return path


# -- 1. unsatisfiable conda request ----------------------------------------------


def test_conflicting_conda_packages(amber, amber_home, work, conda_channel_url, spec_command):
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {conda_channel_url}
        dependencies:
          - footool
          - oldlib
        """,
    )
    result = run_spec(amber, spec_command, spec, str(spec), amber_home=amber_home)
    # The solver's explanation: who wants which libfoo.
    for name in ("footool", "oldlib", "libfoo"):
        assert name in result.stderr, result


def test_conda_version_that_does_not_exist(
    amber, amber_home, work, conda_channel_url, spec_command
):
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {conda_channel_url}
        dependencies:
          - libfoo>=3
        """,
    )
    run_spec(amber, spec_command, spec, str(spec), "libfoo", ">=3", amber_home=amber_home)


def test_unsatisfiable_named_env_still_names_the_file(
    amber, amber_home, work, conda_channel_url, spec_command
):
    """environment.yml files usually carry `name:`; the message must still name the file."""
    spec = write(
        work / "environment.yml",
        f"""
        name: errs-demo
        channels:
          - {conda_channel_url}
        dependencies:
          - footool
          - oldlib
        """,
    )
    run_spec(amber, spec_command, spec, str(spec), "footool", "oldlib", amber_home=amber_home)


# -- 2. unknown packages -----------------------------------------------------------


def test_unknown_conda_package(amber, amber_home, work, conda_channel_url, spec_command):
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {conda_channel_url}
        dependencies:
          - python
          - no-such-conda-pkg-xyz
        """,
    )
    run_spec(amber, spec_command, spec, str(spec), "no-such-conda-pkg-xyz", amber_home=amber_home)


def test_unknown_pypi_package_in_requirements(amber, amber_home, work, spec_command):
    spec = write(work / "requirements.txt", f"six\n{NO_SUCH_PYPI}\n")
    run_spec(amber, spec_command, spec, str(spec), NO_SUCH_PYPI, amber_home=amber_home)


def test_unknown_pypi_package_in_environment_yml(
    amber, amber_home, work, conda_channel_url, spec_command
):
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {conda_channel_url}
        dependencies:
          - python
          - pip:
            - {NO_SUCH_PYPI}
        """,
    )
    run_spec(amber, spec_command, spec, str(spec), NO_SUCH_PYPI, amber_home=amber_home)


# -- 3. malformed environment.yml ------------------------------------------------


@pytest.mark.parametrize(
    "text, line, needle",
    [
        pytest.param(  # a list item indented less than its siblings
            "channels:\n  - {ch}\ndependencies:\n  - python\n - six\n", 5, "YAML", id="dedent"
        ),
        pytest.param(  # a key where a list item is expected
            "channels:\n  - {ch}\ndependencies:\n  - python\n    six: 1\n", 5, "YAML", id="indent"
        ),
        pytest.param(  # a top-level key indented
            "channels:\n  - {ch}\n dependencies:\n  - python\n", 3, "YAML", id="key-indent"
        ),
        pytest.param("name: x\ndependencies:\n  - python\n\t- six\n", 4, "tab", id="tab"),
    ],
)
def test_malformed_yaml(
    amber, amber_home, work, conda_channel_url, spec_command, text, line, needle
):
    spec = work / "environment.yml"
    spec.write_text(text.format(ch=conda_channel_url))
    run_spec(amber, spec_command, spec, f"{spec}:{line}", needle, amber_home=amber_home)


def test_invalid_match_spec(amber, amber_home, work, conda_channel_url, spec_command):
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {conda_channel_url}
        dependencies:
          - python
          - numpy>>=1
          - six
        """,
    )
    run_spec(amber, spec_command, spec, f"{spec}:5", "numpy>>=1", amber_home=amber_home)


def test_invalid_pip_requirement_in_environment_yml(
    amber, amber_home, work, conda_channel_url, spec_command
):
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {conda_channel_url}
        dependencies:
          - python
          - pip:
            - six >>= 1
        """,
    )
    run_spec(amber, spec_command, spec, f"{spec}:6", "six >>= 1", amber_home=amber_home)


def test_unknown_top_level_key_is_a_warning(amber, work, conda_channel_url, spec_command):
    spec = write(
        work / "environment.yml",
        f"""
        name: demo
        channels:
          - {conda_channel_url}
        dependencies:
          - python
        bogus_key: 1
        """,
    )
    # As conda: ignored with a warning naming file and line (EnvironmentSectionNotValid).
    result = amber(*spec_command(spec, spec.parent / "out.lock"), cwd=spec.parent)
    assert result.returncode == 0, result
    assert f"warning: {spec}:6: unknown key 'bogus_key'" in result.stderr
    assert "Traceback" not in result.stderr


# -- 4. bad requirements.txt lines --------------------------------------------------


def test_bad_requirement_line(amber, amber_home, work, spec_command):
    spec = write(
        work / "requirements.txt",
        """
        # a comment
        six
        six >>= 1
        """,
    )
    run_spec(amber, spec_command, spec, f"{spec}:3", "six >>= 1", amber_home=amber_home)


def test_bad_requirement_line_in_included_file(amber, amber_home, work, spec_command):
    spec = write(
        work / "requirements.txt",
        """
        # top level
        six
        -r other.txt
        """,
    )
    other = write(
        work / "other.txt",
        """
        # included

        "bad name"
        """,
    )
    run_spec(amber, spec_command, spec, f"{other}:3", '"bad name"', amber_home=amber_home)


def test_missing_included_file(amber, amber_home, work, spec_command):
    spec = write(work / "requirements.txt", "six\n-r missing.txt\n")
    run_spec(amber, spec_command, spec, f"{spec}:2", "missing.txt", amber_home=amber_home)


# -- 5. channels and indexes that cannot be read -----------------------------------


def test_unknown_file_channel(amber, amber_home, work, spec_command):
    missing = (work / "no-such-channel").as_uri()
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {missing}
        dependencies:
          - python
        """,
    )
    run_spec(amber, spec_command, spec, str(spec), missing, amber_home=amber_home)


def test_unknown_relative_channel(amber, amber_home, work, spec_command):
    spec = write(
        work / "environment.yml",
        """
        channels:
          - ./no-such-channel
        dependencies:
          - python
        """,
    )
    run_spec(amber, spec_command, spec, str(spec), "no-such-channel", amber_home=amber_home)


def test_unreachable_http_channel(amber, amber_home, work, spec_command):
    url = f"http://127.0.0.1:{closed_port()}/channel"
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {url}
        dependencies:
          - python
        """,
    )
    run_spec(amber, spec_command, spec, str(spec), url, amber_home=amber_home)


def test_unreachable_pypi_index(amber, amber_home, work, spec_command):
    url = f"http://127.0.0.1:{closed_port()}/simple"
    spec = write(work / "requirements.txt", f"--index-url {url}\nsix\n")
    run_spec(amber, spec_command, spec, str(spec), url, amber_home=amber_home)


# -- 6. hash mismatches -----------------------------------------------------------


def tamper(channel: Path, pkg: condapkgs.CondaPackage) -> Path:
    """Rewrite ``pkg``'s archive in ``channel`` with other bytes (repodata untouched)."""
    first = next(iter(pkg.files))
    files = dict(pkg.files)
    files[first] = files[first] + b"\n# tampered\n" if isinstance(files[first], bytes) else b"x"
    archive = channel / pkg.subdir / pkg.filename
    before = archive.read_bytes()
    condapkgs.write_package(dataclasses.replace(pkg, files=files), channel / pkg.subdir)
    assert archive.read_bytes() != before
    return archive


def lock_elsewhere(spec: Path, out: Path, home: Path) -> None:
    """``amber lock`` with a store of its own, so nothing it caches can serve the install."""
    proc = subprocess.run(
        [sys.executable, "-m", "amber", "lock", "-q", "-f", str(spec), "-o", str(out)],
        env=dict(os.environ, AMBER_HOME=str(home)), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.is_file()


@pytest.mark.parametrize("which", ["libfoo", "footool"], ids=["conda-format", "tar-bz2-format"])
@pytest.mark.parametrize("transport", ["file", "http"])
def test_conda_hash_mismatch(amber, amber_home, work, tmp_path, conda_channel, transport, which):
    channel = condapkgs.copy_channel(conda_channel, tmp_path / "channel")
    pkg = {"libfoo": condapkgs.libfoo_package("2.0"), "footool": condapkgs.footool_package()}[which]
    with condapkgs.serve_directory(channel) as served:
        url = served.url if transport == "http" else channel.as_uri()
        spec = write(
            work / "environment.yml",
            f"""
            channels:
              - {url}
            dependencies:
              - footool
            """,
        )
        locked = work / "the.lock"
        lock_elsewhere(spec, locked, tmp_path / "lock-home")
        spec.unlink()  # the lock alone
        tamper(channel, pkg)
        # Several times: the other package may still be linking when the bad one is
        # rejected (and, from the second attempt on, it comes from the package cache).
        for _attempt in range(5):
            result = amber("install", "-f", locked, cwd=work)
            assert_user_error(result, amber_home, pkg.filename)
            assert "hash" in result.stderr.lower() or "sha256" in result.stderr.lower(), result


def test_pypi_hash_mismatch(amber, amber_home, work, tmp_path):
    from amber.lock import Lock

    spec = write(work / "requirements.txt", "six==1.16.0\n")
    good = work / "good.lock"
    lock_elsewhere(spec, good, tmp_path / "lock-home")
    lock = Lock.read(good)
    platforms = {}
    for name, body in lock.platforms.items():
        pypi = tuple(
            dataclasses.replace(p, sha256="0" * 64) if p.name == "six" else p for p in body.pypi
        )
        platforms[name] = dataclasses.replace(body, pypi=pypi)
    bad = work / "bad.lock"
    dataclasses.replace(lock, platforms=platforms).write(bad)
    result = amber("install", "-f", bad, cwd=work)
    assert_user_error(result, amber_home, "six", "Hash mismatch")
    assert "0" * 64 in result.stderr, result


def test_pypi_hash_mismatch_with_the_wheel_in_the_cache(amber, amber_home, work, tmp_path):
    """The genuine wheel already sits in uv's cache: the bad hash must still be refused."""
    from amber.lock import Lock

    spec = write(work / "requirements.txt", "six==1.16.0\n")
    good = work / "good.lock"
    lock_elsewhere(spec, good, tmp_path / "lock-home")
    amber("install", "-q", "-f", good, cwd=work, check=True)
    lock = Lock.read(good)
    platforms = {
        name: dataclasses.replace(
            body, pypi=tuple(dataclasses.replace(p, sha256="0" * 64) for p in body.pypi)
        )
        for name, body in lock.platforms.items()
    }
    bad = work / "bad.lock"
    dataclasses.replace(lock, platforms=platforms).write(bad)
    before = env_entries(amber_home)
    result = amber("install", "-f", bad, cwd=work)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result
    assert "six" in result.stderr and "Hash mismatch" in result.stderr, result
    assert env_entries(amber_home) == before  # only the good env


# -- 7. no such env ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--env", "doesnotexist", "--", "true"),
        ("env", "show", "doesnotexist"),
        ("env", "rm", "doesnotexist"),
    ],
    ids=["run", "show", "rm"],
)
def test_no_such_env(amber, amber_home, work, args):
    result = amber(*args, cwd=work)
    assert_user_error(result, amber_home, "doesnotexist", "no environment matches")


# -- 8. a Python that is not installed -----------------------------------------------


def _installed_versions() -> dict:
    from amber._python import installed_interpreters

    return installed_interpreters()


@pytest.mark.parametrize("version", ["3.4", "3.99"])
def test_python_not_installed(amber, amber_home, work, version):
    if any(v == version or v.startswith(version + ".") for v in _installed_versions()):
        pytest.skip(f"Python {version} is installed here")
    spec = write(work / "requirements.txt", "six\n")
    result = amber("install", "-f", spec, "--python", version, cwd=work)
    assert_user_error(
        result,
        amber_home,
        version,
        platform.python_version(),  # the versions that exist are listed
        no_files=(work / "amber.lock",),
    )
    # ... and how to get one
    assert "uv python install" in result.stderr or "pyenv install" in result.stderr, result


# -- 9. command not found -----------------------------------------------------------


def test_command_not_found(amber, amber_home, work, conda_channel_url):
    spec = write(
        work / "environment.yml",
        f"""
        channels:
          - {conda_channel_url}
        dependencies:
          - python
        """,
    )
    # First through the full CLI (the env gets built), then through the fast path.
    for attempt in ("build", "fast path"):
        result = amber("run", "-f", spec, "--", "no-such-command-xyz", cwd=work)
        assert result.returncode == 127, (attempt, result)
        assert "Traceback" not in result.stderr, result
        message = first_error(result.stderr)
        assert "no-such-command-xyz" in message, result
        assert "not found" in message, result
        assert result.stderr.count(message) == 1, result


# -- 10. hand-edited lock files --------------------------------------------------------


@pytest.fixture
def good_pypi_lock(work: Path, tmp_path: Path) -> Path:
    spec = write(work / "requirements.txt", "six==1.16.0\n")
    good = work / "good.lock"
    lock_elsewhere(spec, good, tmp_path / "lock-home")
    spec.unlink()
    return good


def _flip_first_sha256(text: str) -> str:
    """Change the first hex digit of the first ``sha256:`` in a lock's text."""
    return re.sub(r"sha256: (\w)", lambda m: "sha256: " + "01"[m[1] == "0"], text, count=1)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(_flip_first_sha256, id="sha256"),
        pytest.param(lambda t: t.replace("full_id: ", "full_id: 0", 1), id="full_id"),
        pytest.param(
            lambda t: t.replace("six-1.16.0-py2.py3-none", "six-1.17.0-py2.py3-none"),
            id="file-name",
        ),
        pytest.param(lambda t: t.replace("version: 1.16.0", "version: 1.16.1", 1), id="version"),
    ],
)
@pytest.mark.parametrize("command", ["install", "run"])
def test_hand_edited_lock(amber, amber_home, work, good_pypi_lock, edit, command):
    text = good_pypi_lock.read_text()
    edited = work / "edited.lock"
    edited.write_text(edit(text))
    assert edited.read_text() != text
    if command == "install":
        result = amber("install", "-f", edited, cwd=work)
    else:
        result = amber("run", "-f", edited, "--", "true", cwd=work)
    assert_user_error(result, amber_home, str(edited), "by hand")


def test_lock_file_that_is_not_yaml(amber, amber_home, work):
    broken = write(work / "broken.lock", "lock_version: 1\nplatforms: [\n")
    result = amber("install", "-f", broken, cwd=work)
    assert_user_error(result, amber_home, str(broken))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("export", "amber.lock", "--format", "nope"), "unknown format 'nope'"),
        (("export", "nosuchenv", "--format", "pylock"), "no environment matches 'nosuchenv'"),
        (("import", "--prefix", "."), "not a conda environment"),
        (("kernel", "rm", "nope"), "no kernel named 'nope'"),
        (("kernel", "install", "nope"), "no environment matches 'nope'"),
        (("diff", "nope-a", "nope-b"), "no environment matches 'nope-a'"),
    ],
)
def test_format_and_kernel_commands_refuse_bad_input(amber, amber_home, work, args, fragment):
    result = amber(*args, cwd=work)
    assert result.returncode == 2, result
    assert fragment in result.stderr and "Traceback" not in result.stderr

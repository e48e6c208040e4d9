"""uv.lock: a real uv project (``uv init``, ``uv add``, ``uv lock`` against PyPI) imported
without solving, package for package what ``uv export --frozen`` gives, per platform."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers import assert_clear_error, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from uv import find_uv_bin

from amber.lock import Lock


def uv(*args: object, cwd: Path, cache: Path) -> str:
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "UV_PYTHON_DOWNLOADS": "never"}
    for key in ("VIRTUAL_ENV", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX"):
        env.pop(key, None)
    proc = subprocess.run(
        [find_uv_bin(), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def uv_project(tmp_path: Path, cache: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    uv("init", "--quiet", "--no-workspace", "--name", "proj", "--python", "3.11", ".",
       cwd=project, cache=cache)  # fmt: skip
    uv("add", "--no-sync", "--quiet", "requests", "rich", "colorama ; sys_platform == 'win32'",
       cwd=project, cache=cache)  # fmt: skip
    uv("lock", "--quiet", cwd=project, cache=cache)
    return project


def exported(project: Path, cache: Path, platform: str) -> dict[str, tuple[str, set[str]]]:
    """{name: (version, sha256s)} of ``uv export --frozen`` for one platform (uv filters
    nothing by platform in its export: the markers are evaluated here, as an installer does)."""
    from packaging.requirements import Requirement

    from amber.formats.pylock import marker_environment

    text = uv("export", "--frozen", "--no-emit-project", "--format", "requirements-txt",
              cwd=project, cache=cache)  # fmt: skip
    env = marker_environment(platform, "3.11")
    packages: dict[str, tuple[str, set[str]]] = {}
    for block in text.replace("\\\n", " ").splitlines():
        if not block.strip() or block.lstrip().startswith("#"):
            continue
        req = Requirement(block.split(" --hash")[0].strip())
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        hashes = {h.split(":", 1)[1] for h in block.split() if h.startswith("--hash=sha256:")}
        packages[str(canonicalize_name(req.name))] = (
            str(next(iter(req.specifier)).version),
            hashes,
        )
    return packages


def test_uv_project_lock_imports_as_uv_exports_it(tmp_path: Path, amber_home: Path):
    cache = tmp_path / "uv-cache"
    project = uv_project(tmp_path, cache)
    (project / ".python-version").write_text("3.11\n")
    out = tmp_path / "amber.lock"
    outcome = run_cli(["lock", "-f", project / "uv.lock", "-o", out], cwd=tmp_path, seconds=120)
    assert outcome.code == 0 and outcome.crash is None, outcome
    assert "proj" in outcome.stderr  # the project itself: left out, and said so
    lock = Lock.read(out)
    assert {"linux-64", "win-64", "osx-arm64"} <= set(lock.platforms)
    for platform in ("linux-64", "win-64"):
        want = exported(project, cache, platform)
        got = {w.name: w for w in lock.platforms[platform].pypi}
        assert set(got) == set(want), platform
        for name, w in got.items():
            version, hashes = want[name]
            assert w.version == version and w.sha256 in hashes, name
        assert all(p.python == "3.11" for p in lock.platforms.values())
    assert "colorama" in {w.name for w in lock.platforms["win-64"].pypi}
    assert "colorama" not in {w.name for w in lock.platforms["linux-64"].pypi}


def test_uv_lock_entries_amber_cannot_hold_are_refused_by_name(tmp_path: Path, amber_home):
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.8"\n'
        'dependencies = ["helper"]\n[tool.uv.sources]\nhelper = { path = "../helper" }\n'
    )
    (project / "uv.lock").write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.8"\n\n'
        '[[package]]\nname = "helper"\nversion = "0.1"\nsource = { directory = "../helper" }\n\n'
        '[[package]]\nname = "p"\nversion = "0"\nsource = { virtual = "." }\n'
        'dependencies = [{ name = "helper" }]\n\n'
        '[package.metadata]\nrequires-dist = [{ name = "helper", directory = "../helper" }]\n'
    )
    outcome = run_cli(["lock", "-f", project / "uv.lock"], cwd=tmp_path, seconds=60)
    assert_clear_error(outcome, "helper", "uv.lock")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(
            [
                "version = 1\n",
                "revision = 3\n",
                'requires-python = ">=3.8"\n',
                "[[package]]\n",
                'name = "six"\n',
                'version = "1.0"\n',
                "version = 'x'\n",
                "= 3\n",
                "[manifest]\n",
                'members = ["a"]\n',
                'source = { registry = "https://pypi.org/simple" }\n',
                "supported-environments = [\"os_name == 'posix'\"]\n",
                "requires-python = 3\n",
                "sdist = { url = 'https://x/six-1.0.tar.gz', hash = 'sha256:00' }\n",
                'source = { editable = "." }\n',
                "[[package]]\nname = 'six'\n",
            ]
        ),
        max_size=8,
    )
)
def test_crafted_uv_lock_is_read_or_refused_naming_it(tmp_path: Path, amber_home, lines):
    directory = tmp_path / f"c{abs(hash(tuple(lines)))}"
    directory.mkdir()
    (directory / "uv.lock").write_text("".join(lines))
    outcome = run_cli(["lock", "-f", directory / "uv.lock", "-o", directory / "a.lock"],
                      cwd=directory, seconds=60)  # fmt: skip
    assert outcome.crash is None, outcome.crash
    if outcome.code != 0:
        assert_clear_error(outcome, "uv.lock")


def six_project(tmp_path: Path, cache: Path) -> Path:
    """A uv project needing six, locked as of 2020 (six 1.13.0), so that a lock taken from
    uv.lock and a fresh solve differ."""
    project = tmp_path / "six-proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "six-proj"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        'dependencies = ["six"]\n[tool.uv]\nexclude-newer = "2020-01-01T00:00:00Z"\n'
    )
    (project / ".python-version").write_text("3.11\n")
    uv("lock", "--quiet", cwd=project, cache=cache)
    return project


def test_pyproject_beside_a_matching_uv_lock_takes_its_packages(tmp_path: Path, amber):
    project = six_project(tmp_path, tmp_path / "uv-cache")
    outcome = run_cli(["lock", "-f", project / "pyproject.toml"], cwd=project, seconds=120)
    assert outcome.code == 0 and outcome.crash is None, outcome
    lock = Lock.read(project / "amber.lock")
    assert {w.name: w.version for w in lock.platforms["linux-64"].pypi} == {"six": "1.13.0"}
    # amber run -f pyproject.toml: the env holds what uv.lock says.
    code = "import six, sys; sys.exit(0 if six.__version__ == '1.13.0' else 3)"
    for spec in ("pyproject.toml", "uv.lock"):  # the second: the env found, not rebuilt
        amber("run", "-f", project / spec, "--", "python", "-c", code, cwd=project, check=True)


def test_pyproject_beside_a_stale_uv_lock_is_solved_afresh_and_said(tmp_path: Path, amber_home):
    project = six_project(tmp_path, tmp_path / "uv-cache")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace('["six"]', '["six", "idna"]'))
    outcome = run_cli(["lock", "-f", project / "pyproject.toml"], cwd=project, seconds=120)
    assert outcome.code == 0 and outcome.crash is None, outcome
    assert "uv.lock does not match pyproject.toml" in outcome.stderr, outcome.stderr
    lock = Lock.read(project / "amber.lock")
    names = {w.name: w.version for w in lock.platforms[next(iter(lock.platforms))].pypi}
    assert "idna" in names and names["six"] != "1.13.0"


def test_amber_import_of_a_uv_lock(tmp_path: Path, amber_home):
    project = six_project(tmp_path, tmp_path / "uv-cache")
    out = tmp_path / "imported"
    out.mkdir()
    outcome = run_cli(["import", project / "uv.lock", "-o", out], cwd=tmp_path, seconds=120)
    assert outcome.code == 0 and outcome.crash is None, outcome
    lock = Lock.read(out / "amber.lock")
    assert {w.name: w.version for w in lock.platforms["win-64"].pypi} == {"six": "1.13.0"}
    refused = run_cli(["import", project / "pyproject.toml"], cwd=tmp_path)
    assert_clear_error(refused, "not an already-resolved file")

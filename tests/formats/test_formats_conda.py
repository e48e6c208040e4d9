"""Conda formats: environment.yml, explicit files, conda-lock.yml and pixi.lock.

Real locks from the CLI against the test channels (with a PyPI part from the real PyPI);
exports read back by rattler (explicit, pixi.lock) and conda-lock itself, installed with
rattler, and read back into locks with the same ``full_id``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import condapkgs
import pytest
import yaml
from helpers import write

from amber.errors import AmberError, LockFileError, SourceError
from amber.formats import ExportOptions, conda_lock, environment_yml, explicit, pixi
from amber.lock import Lock
from amber.spec import read_spec

ALL = ExportOptions()
OTHER = "osx-arm64"  # the second platform of two-platform locks (the host is linux-64)


def lock_of(amber, tmp_path: Path, channel: object, *, pip: bool = True, platforms=()) -> Lock:
    """`amber lock` of python six greetlib footool (+ python-dateutil from PyPI)."""
    pip_part = "  - pip:\n    - python-dateutil==2.9.0.post0\n" if pip else ""
    deps = ["python", "six", "greetlib"] + ([] if OTHER in platforms else ["footool"])
    spec = write(
        tmp_path / "spec" / "environment.yml",
        f"channels: ['{channel}']\ndependencies:\n"
        + "".join(f"  - {d}\n" for d in deps)
        + pip_part,
    )
    args = [a for p in platforms for a in ("--platform", p)]
    amber("lock", "-f", spec, *args, check=True)
    return Lock.read(spec.parent / "amber.lock")


@pytest.fixture(scope="module")
def two_platform_channel(tmp_path_factory: pytest.TempPathFactory, conda_packages) -> Path:
    """The standard packages plus a metadata-only python and libfoo for osx-arm64."""
    host_python = condapkgs.host_python_package()
    extra = [
        condapkgs.CondaPackage(
            name="python", version=host_python.version, subdir=OTHER,
            files={"python-marker.txt": OTHER.encode()},
        ),
        dataclasses.replace(condapkgs.libfoo_package("2.0"), subdir=OTHER),
    ]  # fmt: skip
    return condapkgs.build_channel(tmp_path_factory.mktemp("two"), [*conda_packages, *extra])


@pytest.fixture
def mixed(amber, tmp_path: Path, conda_channel: Path) -> Lock:
    return lock_of(amber, tmp_path, conda_channel)


@pytest.fixture
def two(amber, tmp_path: Path, two_platform_channel: Path) -> Lock:
    lock = lock_of(amber, tmp_path, two_platform_channel, platforms=("linux-64", OTHER))
    assert sorted(lock.platforms) == ["linux-64", OTHER]
    return lock


def identities(lock: Lock) -> dict[str, dict[str, tuple]]:
    """What must survive a round trip, per platform and file."""
    return {
        name: {
            **{c.file_name: (c.name, c.version, c.build, c.subdir, c.noarch, c.url, c.sha256)
               for c in body.conda},
            **{w.file_name: (w.name, w.version, w.url, w.sha256) for w in body.pypi},
        }
        for name, body in lock.platforms.items()
    }  # fmt: skip


def req_id_of(canonical: dict) -> str:
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_export(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def install(lock: Lock, prefix: Path, cache: Path) -> None:
    import rattler

    records = [c.to_record() for c in lock.for_platform("linux-64").conda]
    asyncio.run(
        rattler.install(
            records, target_prefix=prefix, cache_dir=cache, installed_packages=[],
            execute_link_scripts=False, show_progress=False,
        )
    )  # fmt: skip


def run(*args: object) -> str:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def assert_env_works(prefix: Path) -> None:
    assert run(prefix / "bin" / "footool").splitlines() == [f"footool prefix: {prefix}", "2.0"]
    # greetlib is noarch: python: only its index.json says so, and only then is it linked
    # into site-packages with its entry point.
    xy = "{}.{}".format(*sys.version_info[:2])
    assert (prefix / "lib" / f"python{xy}" / "site-packages" / "greetlib" / "__init__.py").is_file()
    assert run(prefix / "bin" / "greet").strip() == "hello from greetlib"


# -- conda-lock -------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["mixed", "two"])
def test_conda_lock_round_trip(which: str, request, tmp_path: Path):
    lock = request.getfixturevalue(which)
    exported = conda_lock.export(lock, ALL)
    path = write_export(tmp_path / "conda-lock.yml", exported.text)
    assert conda_lock.detect(path, exported.text[:4096])
    back = conda_lock.read(path)
    assert back.full_id == lock.full_id
    assert identities(back) == identities(lock)
    assert back.req_id == req_id_of(back.spec.canonical())  # a spec naming every package it holds
    assert set(back.spec.platforms) == set(lock.platforms)
    assert "python-dateutil" in back.spec.pypi
    assert conda_lock.export(lock, ALL).text == exported.text  # deterministic
    assert any("requirements are not recorded" in line for line in exported.lost)


def _conda_lock_command() -> list[str] | None:
    """conda-lock cannot share Amber's venv (it needs filelock<4): it is looked for as
    $AMBER_TEST_CONDA_LOCK, on PATH, then as a module."""
    found = os.environ.get("AMBER_TEST_CONDA_LOCK") or shutil.which("conda-lock")
    if found:
        return [found]
    if importlib.util.find_spec("conda_lock") is not None:
        return [sys.executable, "-m", "conda_lock"]
    return None


@pytest.mark.parametrize("which", ["mixed", "two"])
def test_conda_lock_accepts_our_file(which: str, request, tmp_path: Path):
    command = _conda_lock_command()
    if command is None:
        pytest.skip("conda-lock is not installed (set AMBER_TEST_CONDA_LOCK or put it on PATH)")
    lock = request.getfixturevalue(which)
    path = write_export(tmp_path / "conda-lock.yml", conda_lock.export(lock, ALL).text)
    for platform, body in lock.platforms.items():
        subprocess.run(
            [*command, "render", "--kind", "explicit", "--platform", platform, path.name],
            cwd=tmp_path, check=True, capture_output=True, text=True,
        )  # fmt: skip
        rendered = (tmp_path / f"conda-{platform}.lock").read_text()
        for c in body.conda:
            assert f"{c.url}#{c.md5}" in rendered
        for w in body.pypi:
            assert f"# pip {w.name} @ {w.url}#sha256={w.sha256}" in rendered
        # conda-lock's own explicit file (md5s only) imports to the same packages.
        again = explicit.read(tmp_path / f"conda-{platform}.lock")
        assert identities(again)[platform] == identities(lock)[platform]


def test_conda_lock_without_pip_hash_is_refused(mixed: Lock, tmp_path: Path):
    text = conda_lock.export(mixed, ALL).text
    wheel = mixed.for_platform("linux-64").pypi[0]
    path = write_export(tmp_path / "conda-lock.yml", text.replace(f"sha256: {wheel.sha256}", ""))
    with pytest.raises(LockFileError, match="python-dateutil .* has no sha256"):
        conda_lock.read(path)


# -- pixi.lock --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["mixed", "two"])
def test_pixi_round_trip(which: str, request, tmp_path: Path):
    from rattler import LockFile

    lock = request.getfixturevalue(which)
    exported = pixi.export(lock, ALL)
    path = write_export(tmp_path / "pixi.lock", exported.text)
    assert pixi.detect(path, exported.text[:4096])
    # rattler (pixi's engine) reads it: every package, the PyPI hashes, the platforms.
    env = LockFile.from_path(path).environment("default")
    assert sorted(p.name for p in env.platforms()) == sorted(lock.platforms)
    records = env.conda_repodata_records()
    for name, body in lock.platforms.items():
        assert sorted(r.file_name for r in records[name]) == sorted(c.file_name for c in body.conda)
        noarch = {r.file_name: r.noarch.python for r in records[name]}
        assert noarch["greetlib-1.0-pyh_0.conda"] is True
        (wheel,) = env.pypi_packages()[name]
        assert wheel._package.hashes.sha256.hex() == body.pypi[0].sha256
    back = pixi.read(path)
    assert back.full_id == lock.full_id
    assert identities(back) == identities(lock)
    assert pixi.export(lock, ALL).text == exported.text  # deterministic
    assert any("pixi.toml" in line for line in exported.lost)


def test_pixi_reads_what_pixi_writes(mixed: Lock, tmp_path: Path):
    """A version-6 pixi.lock as pixi writes it (name, version, subdir and noarch only in the
    URL and build string, PyPI requirements, indexes); a source tree is a local project."""
    body = mixed.for_platform("linux-64")
    conda = {c.name: c for c in body.conda}
    (wheel,) = body.pypi
    base = "https://conda.anaconda.org/test"
    urls = {n: c.url.replace(mixed.spec.channels[0], base) for n, c in conda.items()}
    packages = [
        {"conda": urls[n], "sha256": c.sha256, "md5": c.md5,
         **({"depends": list(c.depends)} if c.depends else {}),
         "license": c.license, "size": c.size, "timestamp": c.timestamp}
        for n, c in sorted(conda.items())
    ]  # fmt: skip
    packages.append(
        {"pypi": wheel.url, "name": wheel.name, "version": wheel.version, "sha256": wheel.sha256,
         "requires_dist": ["six>=1.5"], "requires_python": ">=2.7"}
    )  # fmt: skip
    default = {
        "channels": [{"url": base + "/"}],
        "indexes": ["https://pypi.org/simple"],
        "packages": {
            "linux-64": [{"conda": urls[n]} for n in sorted(conda)] + [{"pypi": wheel.url}]
        },
    }
    text = yaml.safe_dump(
        {"version": 6, "environments": {"default": default}, "packages": packages}, sort_keys=False
    )
    path = write_export(tmp_path / "pixi.lock", text)
    assert pixi.detect(path, text[:4096])
    back = pixi.read(path).for_platform("linux-64")
    assert {c.name: (c.version, c.build, c.subdir, c.noarch, c.sha256) for c in back.conda} == {
        n: (c.version, c.build, c.subdir, c.noarch, c.sha256) for n, c in conda.items()
    }
    assert back.pypi == body.pypi and back.python == body.python
    tree = text.replace(f"pypi: {wheel.url}", "pypi: ./")  # a local project, from its folder
    (local,) = (
        pixi.read(write_export(tmp_path / "tree" / "pixi.lock", tree)).for_platform("linux-64").pypi
    )
    assert (local.name, local.path, local.editable, local.sha256) == (wheel.name, ".", False, "")


# -- explicit ---------------------------------------------------------------------------


def test_explicit_round_trip_of_a_conda_lock(amber, tmp_path: Path, conda_channel: Path):
    lock = lock_of(amber, tmp_path, conda_channel, pip=False)
    exported = explicit.export(lock, ALL)
    assert exported.lost == ()
    path = write_export(tmp_path / "env.txt", exported.text)
    assert explicit.detect(path, exported.text)
    back = explicit.read(path)
    assert back.full_id == lock.full_id
    assert identities(back) == identities(lock)


def test_explicit_lists_pypi_in_comments_only(mixed: Lock, tmp_path: Path):
    from rattler.explicit_environment import ExplicitEnvironmentSpec

    exported = explicit.export(mixed, ALL)
    lines = exported.text.splitlines()
    assert "# platform: linux-64" in lines and "@EXPLICIT" in lines
    urls = [line for line in lines if not line.startswith(("#", "@"))]
    body = mixed.for_platform("linux-64")
    assert sorted(urls) == sorted(f"{c.url}#sha256:{c.sha256}" for c in body.conda)
    # install order: libfoo before footool and greetlib, python before six and greetlib
    order = [u.rsplit("/", 1)[-1].split("-")[0] for u in urls]
    assert order.index("libfoo") < order.index("footool")
    assert order.index("python") < min(order.index("six"), order.index("greetlib"))
    (wheel,) = body.pypi
    assert f"# pip {wheel.name} @ {wheel.url}#sha256={wheel.sha256}" in lines
    assert any("PyPI" in line and "do not install" in line for line in exported.lost)
    # rattler's parser sees the conda packages only
    parsed = ExplicitEnvironmentSpec.from_str(exported.text)
    assert len(parsed.packages) == len(body.conda)
    assert str(parsed.platform) == "linux-64"


def test_explicit_one_file_per_platform(two: Lock):
    exported = explicit.export(two, ALL)
    assert exported.text == "" and sorted(exported.files) == ["linux-64", OTHER]
    assert f"# platform: {OTHER}" in exported.files[OTHER]
    assert f"/{OTHER}/python-" in exported.files[OTHER]
    assert "/linux-64/" not in exported.files[OTHER]
    one = explicit.export(two, ExportOptions(platforms=(OTHER,)))
    assert one.files == {} and one.text == exported.files[OTHER]
    assert any("not exported: linux-64" in line for line in one.lost)


def test_explicit_installs_with_rattler(mixed: Lock, tmp_path: Path):
    path = write_export(tmp_path / "env.txt", explicit.export(mixed, ALL).text)
    back = explicit.read(path)
    assert identities(back) == identities(mixed)  # the `# pip` lines are read too
    install(back, tmp_path / "env", tmp_path / "pkgs")
    assert_env_works(tmp_path / "env")


def test_explicit_over_http(amber, tmp_path: Path, http_channel: str):
    lock = lock_of(amber, tmp_path, http_channel, pip=False)
    text = explicit.export(lock, ALL).text
    back = explicit.read(write_export(tmp_path / "env.txt", text))
    assert back.full_id == lock.full_id and identities(back) == identities(lock)
    install(back, tmp_path / "env", tmp_path / "pkgs")
    assert_env_works(tmp_path / "env")
    # conda's classic form, md5 only: the sha256 comes from the downloaded archive
    md5_only = text
    for c in lock.for_platform("linux-64").conda:
        md5_only = md5_only.replace(f"#sha256:{c.sha256}", f"#{c.md5}")
    assert "sha256" not in md5_only
    again = explicit.read(write_export(tmp_path / "md5.txt", md5_only))
    assert again.full_id == lock.full_id


def test_explicit_errors(mixed: Lock, tmp_path: Path, http_channel: str):
    c = mixed.for_platform("linux-64").conda[0]
    bad = write_export(tmp_path / "bad.txt", f"@EXPLICIT\n{c.url}#sha256:{'0' * 64}\n")
    with pytest.raises(LockFileError, match="hash mismatch"):
        explicit.read(bad)
    gone = write_export(tmp_path / "gone.txt", f"@EXPLICIT\n{http_channel}/noarch/no-1-0.conda\n")
    with pytest.raises(SourceError, match="no-1-0.conda"):
        explicit.read(gone)
    pip = write_export(
        tmp_path / "pip.txt", f"@EXPLICIT\n{c.url}\n# pip six == 1.16.0 --hash=sha256:{'0' * 64}\n"
    )
    with pytest.raises(LockFileError, match=r"pip.txt:3: .* needs its file and hash"):
        explicit.read(pip)


# -- environment.yml --------------------------------------------------------------------


def test_environment_yml_pins_one_platform(amber, mixed: Lock, tmp_path: Path):
    exported = environment_yml.export(mixed, ExportOptions(name="analysis"))
    body = mixed.for_platform("linux-64")
    path = write_export(tmp_path / "pinned" / "environment.yml", exported.text)
    spec = read_spec(path)
    assert spec.name == "analysis"
    assert spec.channels == mixed.spec.channels
    assert sorted(spec.conda) == sorted(f"{c.name} =={c.version} {c.build}" for c in body.conda)
    assert spec.pypi == ("python-dateutil==2.9.0.post0",)
    assert any("hashes are not carried" in line for line in exported.lost)
    # What is lost is only what the lost lines say: solving the pins again gives the same files.
    amber("lock", "-f", path, check=True)
    assert Lock.read(path.parent / "amber.lock").full_id == mixed.full_id


def test_environment_yml_no_builds_and_platforms(two: Lock):
    exported = environment_yml.export(two, ExportOptions(no_builds=True))  # the host's
    assert "  - libfoo=2.0\n" in exported.text and "=0\n" not in exported.text
    assert any(f"not exported: {OTHER}" in line for line in exported.lost)
    other = environment_yml.export(two, ExportOptions(platforms=(OTHER,)))
    python = next(c for c in two.for_platform(OTHER).conda if c.name == "python")
    assert f"  - python={python.version}={python.build}\n" in other.text
    assert "footool" not in other.text
    assert any("not exported: linux-64" in line for line in other.lost)
    # a lock without the host's platform and several others: the user must choose
    elsewhere = Lock(
        spec=two.spec, req_id=two.req_id,
        platforms={OTHER: two.platforms[OTHER],
                   "win-64": dataclasses.replace(two.platforms["linux-64"], platform="win-64")},
    )  # fmt: skip
    with pytest.raises(AmberError, match=f"{OTHER}, win-64.*--platform"):
        environment_yml.export(elsewhere, ALL)


def test_environment_yml_from_history_is_the_spec(two: Lock, tmp_path: Path):
    exported = environment_yml.export(two, ExportOptions(from_history=True))
    assert "=2.0" not in exported.text and "  - greetlib\n" in exported.text
    assert "      - python-dateutil==2.9.0.post0\n" in exported.text
    path = write_export(tmp_path / "environment.yml", exported.text)
    assert read_spec(path).req_id == two.req_id
    assert any("no pins" in line for line in exported.lost)


# -- detection --------------------------------------------------------------------------


def test_each_format_detects_only_its_own(mixed: Lock, tmp_path: Path):
    texts = {
        "explicit": explicit.export(mixed, ALL).text,
        "conda-lock": conda_lock.export(mixed, ALL).text,
        "pixi": pixi.export(mixed, ALL).text,
        "environment.yml": environment_yml.export(mixed, ALL).text,
        "amber": mixed.dumps(),
    }
    modules = {"explicit": explicit, "conda-lock": conda_lock, "pixi": pixi}
    for name, module in modules.items():
        for kind, text in texts.items():
            assert module.detect(tmp_path / "x", text[:4096]) == (kind == name), (name, kind)


def test_channel_names_stay_names(mixed: Lock):
    """A spec naming `conda-forge`: the packages' URLs say where it is; no channel twice."""
    local = mixed.spec.channels[0]
    remote = "https://conda.anaconda.org/conda-forge"

    def moved(body):
        conda = [dataclasses.replace(c, url=c.url.replace(local, remote), channel=remote)
                 for c in body.conda]  # fmt: skip
        return dataclasses.replace(body, conda=tuple(conda))

    lock = Lock(
        spec=dataclasses.replace(mixed.spec, channels=("conda-forge",)), req_id=mixed.req_id,
        platforms={name: moved(body) for name, body in mixed.platforms.items()},
    )  # fmt: skip
    assert "channels:\n  - conda-forge\ndependencies:" in environment_yml.export(lock, ALL).text
    assert "channels:\n  - url: conda-forge\n    used_env_vars: []\n  platforms:" in (
        conda_lock.export(lock, ALL).text
    )
    assert "channels:\n    - url: https://conda.anaconda.org/conda-forge/\n" in (
        pixi.export(lock, ALL).text
    )


def test_cli_export_and_import(amber, two: Lock, tmp_path: Path):
    """`amber export` writes one explicit file per platform; `amber lock -f` imports them
    and the other formats as they are, without a solve."""
    source = tmp_path / "spec" / "amber.lock"
    result = amber("export", source, "--format", "explicit", "-o", tmp_path / "env.txt", check=True)
    assert "# pip" in (tmp_path / "env-linux-64.txt").read_text()
    assert "PyPI" in result.stderr
    amber("lock", "-f", tmp_path / f"env-{OTHER}.txt", "-o", tmp_path / "one.lock", check=True)
    assert Lock.read(tmp_path / "one.lock").platforms.keys() == {OTHER}
    for fmt, name in (("conda-lock", "conda-lock.yml"), ("pixi", "pixi.lock")):
        amber("export", source, "--format", fmt, "-o", tmp_path / name, check=True)
        amber("lock", "-f", tmp_path / name, "-o", tmp_path / f"{fmt}.lock", check=True)
        assert Lock.read(tmp_path / f"{fmt}.lock").full_id == two.full_id

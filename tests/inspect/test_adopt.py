"""Adopting an existing conda environment: made by raw rattler (as conda would), PyPI packages
added with uv, adopted, written out and hydrated again by Amber."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rattler
from rattler import Gateway

from amber import api
from amber.errors import AmberError
from amber.inspect.adopt import AdoptError, adopt_prefix, history_specs, write_adopted
from amber.lock import Lock
from amber.spec import canonical_conda_spec, read_spec
from amber.store import Store

XY = "{}.{}".format(*sys.version_info[:2])
DATEUTIL = "python-dateutil==2.9.0.post0"
DATEUTIL_WHEEL = "python_dateutil-2.9.0.post0-py2.py3-none-any.whl"
DATEUTIL_SHA256 = "a8b2bc7bffae282281c8140a97d3aa9c14da0b136dfe83f850eea9a5f7470427"

HISTORY = f"""\
==> 2024-05-01 10:00:00 <==
# cmd: /opt/conda/bin/conda create -p {{prefix}} -c {{channel}} python={XY} six greetlib
# conda version: 24.5.0
+{{channel}}/linux-64::python-{XY}-host_0
# update specs: ['python={XY}', 'six', 'greetlib']
==> 2024-05-02 10:00:00 <==
# cmd: /opt/conda/bin/conda install -p {{prefix}} "footool>=1"
# conda version: 24.5.0
# update specs: ['footool>=1']
==> 2024-05-03 10:00:00 <==
# cmd: /opt/conda/bin/conda remove -p {{prefix}} greetlib
# conda version: 24.5.0
-{{channel}}/noarch::greetlib-1.0-pyh_0
# remove specs: ['greetlib']
"""


def make_conda_env(prefix: Path, channel: str, specs: list[str], cache: Path) -> None:
    """A conda env as conda leaves it, made with raw rattler (no requested specs recorded)."""
    records = asyncio.run(
        rattler.solve(
            sources=[channel],
            specs=specs,
            platforms=["linux-64", "noarch"],
            gateway=Gateway(cache_dir=cache / "repodata"),
        )
    )
    asyncio.run(rattler.install(records, prefix, cache_dir=cache / "pkgs", show_progress=False))


def uv_install(prefix: Path, requirement: str) -> None:
    from uv import find_uv_bin

    subprocess.run(
        [find_uv_bin(), "pip", "install", "--quiet", "--python", prefix / "bin" / "python",
         requirement],
        check=True, env={**os.environ, "UV_NO_CONFIG": "1"},
    )  # fmt: skip


def fake_dist(prefix: Path, name: str, version: str, direct_url: dict | None = None) -> None:
    """A dist-info as pip leaves it (``direct_url``: for `pip install -e DIR`, URLs, ...)."""
    dist = prefix / "lib" / f"python{XY}" / "site-packages" / f"{name}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist / "INSTALLER").write_text("pip\n")
    (dist / "RECORD").write_text("")
    if direct_url is not None:
        (dist / "direct_url.json").write_text(json.dumps(direct_url))


def conda_meta(prefix: Path) -> dict[str, dict]:
    return {
        json.loads(p.read_text())["name"]: json.loads(p.read_text())
        for p in (prefix / "conda-meta").glob("*.json")
    }


def run_python(prefix: Path, code: str) -> str:
    return subprocess.run(
        [prefix / "bin" / "python", "-c", code], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def conda_env(tmp_path: Path, conda_channel_url: str) -> Path:
    """python, six, footool (and libfoo) from the test channel, a conda history, and
    python-dateutil from PyPI installed on top with uv."""
    prefix = tmp_path / "envs" / "analysis"
    make_conda_env(prefix, conda_channel_url, ["python", "six", "footool"], tmp_path / "cache")
    history = HISTORY.format(prefix=prefix, channel=conda_channel_url)
    (prefix / "conda-meta" / "history").write_text(history)
    uv_install(prefix, DATEUTIL)
    return prefix


def test_adopt_then_hydrate(conda_env: Path, conda_channel_url: str, amber, amber_home, tmp_path):
    # What cannot be carried over: an editable install, a package no index has, a pip
    # install over a conda package.
    fake_dist(
        conda_env,
        "localpkg",
        "0.1",
        {"url": "file:///src/localpkg", "dir_info": {"editable": True}},
    )
    fake_dist(conda_env, "amber-test-nowhere", "1.0")
    fake_dist(conda_env, "six", "1.17.0")
    store = Store(amber_home)

    adopted = adopt_prefix(conda_env, store=store)

    # The spec: what the history still requests (greetlib was removed), the pip packages.
    spec = adopted.spec
    assert adopted.requested_from == "history"
    assert spec.conda == tuple(
        canonical_conda_spec(s) for s in ("footool>=1", f"python={XY}", "six")
    )
    assert spec.pypi == (DATEUTIL,)
    assert spec.channels == (conda_channel_url,)
    assert spec.name == "analysis"
    # What cannot be locked is said, and left out of spec and lock.
    warnings = sorted(adopted.warnings)
    assert len(warnings) == 3, warnings
    assert warnings[0].startswith("amber-test-nowhere 1.0: not found on the index")
    assert warnings[1].startswith("localpkg 0.1: installed from the local directory")
    assert "(editable)" in warnings[1]
    assert warnings[2].startswith("six 1.17.0 was installed with pip over the conda package six")

    # The lock: exactly the installed conda packages, with conda-meta's hashes ...
    lock = adopted.lock
    assert lock.req_id == spec.req_id
    assert list(lock.platforms) == ["linux-64"]
    body = lock.platforms["linux-64"]
    meta = conda_meta(conda_env)
    assert {c.name: c.sha256 for c in body.conda} == {n: r["sha256"] for n, r in meta.items()}
    assert {c.name for c in body.conda} == {"python", "six", "footool", "libfoo"}
    assert all(c.channel == conda_channel_url for c in body.conda)
    assert body.python == meta["python"]["version"]
    # ... and the wheel dateutil was installed from, from PyPI.
    (dateutil,) = body.pypi
    assert (dateutil.name, dateutil.version) == ("python-dateutil", "2.9.0.post0")
    assert dateutil.url.startswith("https://files.pythonhosted.org/")
    assert dateutil.file_name == DATEUTIL_WHEEL
    assert dateutil.sha256 == DATEUTIL_SHA256
    assert body.provided == {"six": "six"}

    # Written out, the environment.yml and the lock beside it agree (no solve needed).
    out = tmp_path / "out"
    env_yml, lock_file = write_adopted(adopted, out)
    assert Lock.read(lock_file) == lock
    assert api.check_lock(read_spec(env_yml), lock_file).full_id == lock.full_id
    with pytest.raises(AdoptError, match="exists"):
        write_adopted(adopted, out)

    # Amber hydrates it from the environment.yml, with the lock beside it: the same
    # packages, running.
    result = amber("install", "-f", env_yml, check=True)
    env = api.find_env(result.stdout.strip(), store)
    assert env.full_id == lock.full_id
    versions = run_python(
        env.path, "import dateutil, six; print(dateutil.__version__, six.__version__)"
    )
    assert versions.split() == ["2.9.0.post0", meta["six"]["version"]]
    footool = subprocess.run([env.path / "bin" / "footool"], capture_output=True, text=True)
    assert footool.stdout.splitlines() == [f"footool prefix: {env.path}", "2.0"]

    # Adopting Amber's env gives the same lock back (requested specs from its records).
    again = adopt_prefix(env.path, store=store)
    assert again.requested_from == "conda-meta"
    assert again.warnings == ()
    assert (again.lock.full_id, again.lock.req_id) == (lock.full_id, lock.req_id)


def test_no_history_takes_top_level_packages(tmp_path: Path, conda_channel_url: str, amber_home):
    prefix = tmp_path / "env"
    specs = ["python", "six", "footool", "greetlib", "datafiles"]
    make_conda_env(prefix, conda_channel_url, specs, tmp_path / "cache")
    (prefix / "conda-meta" / "history").unlink(missing_ok=True)

    adopted = adopt_prefix(prefix, store=Store(amber_home))

    assert adopted.requested_from == "top-level"
    # python and libfoo are what others depend on; no pip packages, so python stays open.
    assert adopted.spec.conda == ("datafiles", "footool", "greetlib", "six")
    assert adopted.spec.pypi == ()
    body = adopted.lock.platforms["linux-64"]
    assert {c.name for c in body.conda} == {*specs, "libfoo"}
    assert body.pypi == () and body.provided == {}


def test_records_written_by_conda(tmp_path: Path, conda_channel: Path, amber_home):
    """conda writes the channel with its subdir, and old condas no sha256: the archive in
    the package cache gives it; without one, adopting says what to do."""
    prefix = tmp_path / "env"
    make_conda_env(prefix, conda_channel.as_uri(), ["footool"], tmp_path / "cache")
    original = adopt_prefix(prefix, store=Store(amber_home)).lock
    path = next((prefix / "conda-meta").glob("libfoo-*.json"))
    record = json.loads(path.read_text())
    record["channel"] = f"{conda_channel.as_uri()}/{record['subdir']}"
    record["link"] = {"source": record["extracted_package_dir"], "type": 1}
    record["requested_spec"] = "None"
    record.pop("sha256")
    record["package_tarball_full_path"] = str(conda_channel / record["subdir"] / record["fn"])
    path.write_text(json.dumps(record))

    adopted = adopt_prefix(prefix, store=Store(amber_home))
    assert adopted.lock.full_id == original.full_id
    assert {c.channel for c in adopted.lock.platforms["linux-64"].conda} == {conda_channel.as_uri()}

    record["package_tarball_full_path"] = str(tmp_path / "gone.conda")
    path.write_text(json.dumps(record))
    with pytest.raises(AdoptError, match="libfoo-2.0-0.conda.*no sha256"):
        adopt_prefix(prefix, store=Store(amber_home))


def test_not_a_conda_env(tmp_path: Path, amber_home):
    with pytest.raises(AdoptError, match="no such directory"):
        adopt_prefix(tmp_path / "missing", store=Store(amber_home))
    with pytest.raises(AdoptError, match="not a conda environment"):
        adopt_prefix(tmp_path, store=Store(amber_home))
    (tmp_path / "conda-meta").mkdir()
    with pytest.raises(AdoptError, match="no packages"):
        adopt_prefix(tmp_path, store=Store(amber_home))
    (tmp_path / "conda-meta" / "broken-1.0-0.json").write_text("{not json")
    with pytest.raises(AmberError, match=r"broken-1\.0-0\.json: unreadable conda-meta record"):
        adopt_prefix(tmp_path, store=Store(amber_home))


def test_cli_refuses_a_plain_directory(amber, tmp_path: Path):
    result = amber("import", "--prefix", tmp_path, "-o", tmp_path / "out")
    assert result.returncode == 2, result
    assert "not a conda environment" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "amber.lock").exists()


def test_history_specs():
    text = """\
==> 2020-01-01 00:00:00 <==
# cmd: conda create -n x numpy python=3.8
# install specs: numpy, python >=3.8,<4, conda-forge::pandas
==> 2021-01-01 00:00:00 <==
# cmd: conda install scipy
# update specs: ["scipy", "numpy=1.24"]
==> 2022-01-01 00:00:00 <==
# cmd: conda remove pandas
# remove specs: ['pandas']
# neutered specs: ['scipy 1.10.*']
"""
    assert history_specs(text) == ["numpy=1.24", "python >=3.8,<4", "scipy 1.10.*"]
    assert history_specs("") == []
    assert history_specs("# update specs: [broken\n# update specs: ['x']\n") == ["x"]

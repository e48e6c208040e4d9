"""uv's index settings change what a lock means: ``UV_INDEX_URL``, ``UV_DEFAULT_INDEX``,
``UV_INDEX``, ``UV_EXTRA_INDEX_URL`` and ``[tool.uv]``'s indexes are recorded in the spec,
its ``req_id`` and the lock, without their credentials. A loopback PEP 503 index (with
basic auth) serves a real wheel from the tests' wheel cache."""

from __future__ import annotations

from pathlib import Path

import condapkgs
import pytest
from helpers import (
    assert_clear_error,
    assert_secret_nowhere,
    run_cli,
    serve_simple_index,
    tiny_wheel,
    write,
)

from amber.lock import Lock
from amber.spec import read_spec

SECRET = "s3cr3t-idx"


@pytest.fixture
def index(wheel_cache_dir: Path, tmp_path: Path):
    six = condapkgs.download_wheel(
        f"six=={condapkgs.SIX_VERSION}", wheel_cache_dir,
        filename=f"six-{condapkgs.SIX_VERSION}-py2.py3-none-any.whl",
    )  # fmt: skip
    only_here = tiny_wheel(tmp_path / "wheels", "amber_idx_probe", "1.0", "X = 1\n")
    with serve_simple_index([six, only_here], basic_auth=f"alice:{SECRET}") as url:
        yield url


@pytest.mark.parametrize("variable", ["UV_INDEX_URL", "UV_DEFAULT_INDEX"])
def test_uv_default_index_variable_is_recorded_without_credentials(
    index: str, tmp_path: Path, amber_home: Path, monkeypatch, variable: str
):
    spec_file = write(tmp_path / "requirements.txt", "six\namber-idx-probe\n")
    plain = read_spec(spec_file)
    with_creds = index.replace("http://", f"http://alice:{SECRET}@")
    monkeypatch.setenv(variable, with_creds)
    assert read_spec(spec_file).req_id != plain.req_id  # the index is part of the request
    outcome = run_cli(["lock", "-f", spec_file, "-p", "linux-64"], cwd=tmp_path, seconds=120)
    assert outcome.code == 0 and outcome.crash is None, outcome
    lock = Lock.read(tmp_path / "amber.lock")
    assert lock.spec.index_url == index
    assert {w.name: w.url.split("/files/")[0] for w in lock.platforms["linux-64"].pypi} == {
        "six": index.removesuffix("/simple"),
        "amber-idx-probe": index.removesuffix("/simple"),
    }
    assert SECRET not in (tmp_path / "amber.lock").read_text()
    assert_secret_nowhere(amber_home, outcome.stdout + outcome.stderr, SECRET.encode())


def test_uv_extra_index_variables_are_recorded(
    index: str, tmp_path: Path, amber_home: Path, monkeypatch
):
    spec_file = write(tmp_path / "requirements.txt", "amber-idx-probe\n")
    monkeypatch.setenv("UV_INDEX", f"mine={index.replace('http://', f'http://alice:{SECRET}@')}")
    monkeypatch.setenv("UV_EXTRA_INDEX_URL", "https://example.invalid/simple")
    spec = read_spec(spec_file)
    assert spec.extra_index_urls == (index, "https://example.invalid/simple")
    assert SECRET not in str(spec.canonical())


def test_tool_uv_indexes_in_pyproject(tmp_path: Path):
    path = write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "p"\nversion = "0"\ndependencies = ["six"]\n'
        '[[tool.uv.index]]\nname = "corp"\nurl = "https://corp.example/simple"\ndefault = true\n'
        '[[tool.uv.index]]\nname = "more"\nurl = "https://more.example/simple"\n'
        '[tool.uv]\nextra-index-url = ["https://extra.example/simple"]\n',
    )
    spec = read_spec(path)
    assert spec.index_url == "https://corp.example/simple"
    assert spec.extra_index_urls == ("https://more.example/simple", "https://extra.example/simple")


def test_tool_uv_explicit_index_is_refused_by_name(tmp_path: Path, amber_home: Path):
    path = write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "p"\nversion = "0"\ndependencies = ["torch"]\n'
        '[[tool.uv.index]]\nname = "pytorch-cu121"\nurl = "https://download.pytorch.org/whl/cu121"\n'
        "explicit = true\n",
    )
    outcome = run_cli(["lock", "-f", path], cwd=tmp_path)
    assert_clear_error(outcome, "pytorch-cu121", "explicit", "pyproject.toml")


def test_a_bad_uv_index_variable_is_named(tmp_path: Path, amber_home: Path, monkeypatch):
    spec_file = write(tmp_path / "requirements.txt", "six\n")
    monkeypatch.setenv("UV_EXTRA_INDEX_URL", "bob:pw@not-a-url")
    outcome = run_cli(["lock", "-f", spec_file], cwd=tmp_path)
    assert_clear_error(outcome, "UV_EXTRA_INDEX_URL")
    assert "pw@" not in outcome.stderr


def test_run_f_does_not_reuse_the_env_of_another_index(tmp_path: Path, monkeypatch):
    """`amber run -f FILE` remembers envs by the file's bytes: uv's index variables are
    part of what the file means, so they are part of that key too."""
    from amber.run._hotpath import file_key

    spec_file = write(tmp_path / "requirements.txt", "six\n")
    monkeypatch.delenv("UV_INDEX_URL", raising=False)
    before = file_key(spec_file, "linux-64", "3.11")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    assert file_key(spec_file, "linux-64", "3.11") != before

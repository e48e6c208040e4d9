"""amber.formats.environment_yml.spec_text: a spec as environment.yml, read back the same."""

from __future__ import annotations

from pathlib import Path

import yaml
from helpers import write

from amber.formats import ExportOptions
from amber.formats.environment_yml import export, spec_text
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.spec import Spec, read_spec


def test_spec_text_reads_back_and_keeps_secrets_out(tmp_path: Path):
    spec = Spec.create(
        conda=["python 3.12.*", "numpy >=2"],
        channels=["conda-forge", "https://user:secret@conda.example.com/private"],
        pypi=["six==1.17.0", "rich>=13 ; sys_platform == 'linux'"],
        index_url="https://user:secret@pypi.example.com/simple",
        extra_index_urls=["https://pypi.org/simple"],
        name="demo",
    )
    text = spec_text(spec, header="written by a test")
    assert text.startswith("# written by a test\nname: demo\n")
    assert "secret" not in text
    path = tmp_path / "environment.yml"
    path.write_text(text)
    back = read_spec(path)
    assert (back.name, back.conda, back.pypi) == (spec.name, spec.conda, spec.pypi)
    assert back.extra_index_urls == spec.extra_index_urls
    # A name reads back as the URL conda resolves it to (channel_alias/name).
    assert back.channels[0] == "https://conda.anaconda.org/" + spec.channels[0]
    assert len(back.channels) == 2


def test_spec_text_without_pypi_has_no_pip_section():
    spec = Spec.create(conda=["python 3.12.*"], channels=["conda-forge"])
    assert "pip" not in spec_text(spec)


# -- amber export --format environment.yml: what `conda env create -f` needs ---------------


def test_export_keeps_the_env_name_and_variables(amber, conda_channel: Path, tmp_path: Path):
    """``name:`` from the env's own spec, a tag's NAME, ``--name``, else amber-<id>;
    ``variables:`` kept; read back by Amber's strict spec reader to the same packages."""
    spec = write(
        tmp_path / "environment.yml",
        f"name: analysis\nchannels: ['{conda_channel}']\ndependencies: [libfoo, greetlib]\n"
        "variables:\n  MODE: fast\n",
    )
    amber("lock", "-f", spec, check=True)
    lock = Lock.read(tmp_path / "amber.lock")
    out = tmp_path / "out" / "environment.yml"

    # A lock file with no env installed: a name conda accepts, made from the full_id.
    amber("export", tmp_path / "amber.lock", "--format", "environment.yml", "-o", out, check=True)
    assert out.read_text().startswith(f"name: amber-{lock.full_id[:12]}\n")

    amber("install", "-f", spec, check=True)
    amber("export", lock.full_id[:12], "--format", "environment.yml", "-o", out, check=True)
    back = read_spec(out)
    assert back.name == "analysis" and back.variables == (("MODE", "fast"),)
    assert yaml.safe_load(out.read_text())["variables"] == {"MODE": "fast"}
    amber("lock", "-f", out, check=True)
    again = Lock.read(out.parent / "amber.lock")
    assert again.full_id == lock.full_id  # the same files on the same channel

    amber("env", "tag", lock.full_id, "team-env:v1", check=True)
    amber("export", "team-env:v1", "--format", "environment.yml", "-o", out, check=True)
    assert read_spec(out).name == "team-env"
    amber("export", lock.full_id, "--format", "environment.yml", "--name", "mine", "-o", out,
          check=True)  # fmt: skip
    assert read_spec(out).name == "mine"

    before = out.read_bytes()
    refused = amber("export", lock.full_id, "--format", "environment.yml", "--name", "a b",
                    "-o", out)  # fmt: skip
    assert refused.returncode == 2 and "invalid environment name 'a b'" in refused.stderr
    assert "Traceback" not in refused.stderr and out.read_bytes() == before


def test_pip_section_names_the_index_the_files_came_from():
    files = "https://files.pythonhosted.org/packages/six-1.16.0-py2.py3-none-any.whl"
    private = "https://pkgs.example.com/files/tiny-1.0-py3-none-any.whl"
    sha = "0" * 64
    pypi = (LockedPypi("six", "1.16.0", files, sha), LockedPypi("tiny", "1.0", private, sha))
    body = PlatformLock("linux-64", "3.11", pypi=pypi)

    bare = Spec.create(pypi=["six", "tiny"], python="3.11", platforms=["linux-64"])
    text = export(Lock(bare, bare.req_id, {"linux-64": body}), ExportOptions()).text
    pip = yaml.safe_load(text)["dependencies"][-1]["pip"]
    assert pip == ["six==1.16.0", f"tiny @ {private}"]  # not looked for on PyPI

    indexed = Spec.create(pypi=["six", "tiny"], python="3.11", platforms=["linux-64"],
                          index_url="https://pkgs.example.com/simple",
                          extra_index_urls=["https://pypi.org/simple"])  # fmt: skip
    text = export(Lock(indexed, indexed.req_id, {"linux-64": body}), ExportOptions()).text
    pip = yaml.safe_load(text)["dependencies"][-1]["pip"]
    assert pip == [
        "--index-url https://pkgs.example.com/simple",
        "--extra-index-url https://pypi.org/simple",
        "six==1.16.0",
        "tiny==1.0",
    ]

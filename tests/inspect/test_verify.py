"""amber.inspect.verify: a fresh env verifies clean; edits, deletions and strays are caught."""

from __future__ import annotations

from pathlib import Path

from helpers import conda_spec, write

from amber.inspect.verify import verify_env
from amber.store.env import Env


def _env(prefix: Path) -> Env:
    return Env((prefix / ".amber" / "complete").read_text().strip(), prefix)


def test_verify_conda_env(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib", "footool")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    amber("run", "-f", spec, "--", "python", "-c", "import greetlib", check=True)  # writes .pyc
    env = _env(prefix)
    clean = verify_env(env)
    assert clean.ok, clean
    assert clean.checked > 5

    site = next(prefix.glob("lib/python*/site-packages"))
    with open(site / "greetlib" / "__init__.py", "a") as f:  # same size would still differ
        f.write("# edited\n")
    footool = prefix / "bin" / "footool"  # prefix placeholder rewritten: sha256_in_prefix
    footool.write_bytes(footool.read_bytes() + b"echo tampered\n")
    (prefix / "etc" / "conda" / "activate.d" / "footool.sh").unlink()
    write(prefix / "lib" / "stray.txt", "not from any package\n")

    result = verify_env(env)
    assert not result.ok
    modified = {m.path: m for m in result.modified}
    init = str(site.relative_to(prefix) / "greetlib" / "__init__.py")
    assert set(modified) == {init, "bin/footool"}
    assert modified[init].package == "greetlib==1.0"
    assert modified["bin/footool"].actual_sha256 != modified["bin/footool"].expected_sha256
    assert [(m.path, m.package) for m in result.missing] == [
        ("etc/conda/activate.d/footool.sh", "footool==1.0")
    ]
    assert result.extra == ["lib/stray.txt"]


def test_verify_pypi_env(amber, tmp_path: Path):
    spec = write(tmp_path / "requirements.txt", "six==1.17.0\n")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    amber("run", "-f", spec, "--", "python", "-c", "import six", check=True)  # writes .pyc
    env = _env(prefix)
    clean = verify_env(env)
    assert clean.ok, clean

    site = next(prefix.glob("lib/python*/site-packages"))
    six = site / "six.py"
    text = six.read_text()
    six.unlink()  # uv hardlinks from its cache: replace, don't edit the cache's copy
    six.write_text(text.replace("import", "imp0rt", 1))  # same size, different content
    (site / "six-1.17.0.dist-info" / "top_level.txt").unlink()
    write(site / "stray.py", "x = 1\n")

    result = verify_env(env)
    rel = site.relative_to(prefix)
    assert [(m.path, m.package) for m in result.modified] == [(str(rel / "six.py"), "six==1.17.0")]
    assert result.modified[0].actual_size == result.modified[0].expected_size
    assert [m.path for m in result.missing] == [str(rel / "six-1.17.0.dist-info/top_level.txt")]
    assert result.extra == [str(rel / "stray.py")]


def test_verify_du_and_run_verify_cli(amber, conda_channel: Path, tmp_path: Path) -> None:
    import json

    from helpers import write as write_file

    spec = write_file(
        tmp_path / "cli" / "environment.yml",
        f"channels: ['{conda_channel}']\ndependencies: [python, footool]\n",
    )
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    ok = amber("verify", prefix.name, check=True)
    assert "ok:" in ok.stderr
    (prefix / "bin" / "footool").write_text("#!/bin/sh\necho tampered\n")
    (prefix / "lib" / "stray.txt").write_text("x")
    bad = amber("verify", prefix.name)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "modified  bin/footool" in bad.stdout and "extra     lib/stray.txt" in bad.stdout
    refused = amber("run", "--verify", "-f", spec, "--", "footool")
    assert refused.returncode == 1 and "tampered" not in refused.stdout
    assert amber("run", "-f", spec, "--", "footool").stdout.strip() == "tampered"
    usage = json.loads(amber("du", "--json", check=True).stdout)
    assert usage["total"] > 0 and len(usage["envs"]) == 1
    assert "total:" in amber("du", check=True).stdout

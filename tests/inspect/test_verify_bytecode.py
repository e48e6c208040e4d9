"""Verify sees every file Python would execute: a ``.pyc`` must be what compiling its
(verified) source gives; bytecode no source explains is reported."""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
from pathlib import Path

from helpers import conda_spec

from amber.inspect.verify import verify_env
from amber.store.env import Env


def _env(prefix: Path) -> Env:
    return Env((prefix / ".amber" / "complete").read_text().strip(), prefix)


def _tamper(pyc: Path, other_source: str) -> None:
    """Keep the header Python checks (magic, flags, the source's mtime and size), swap the code."""
    header = pyc.read_bytes()[:16]
    code = compile(other_source, "greetlib/__init__.py", "exec", dont_inherit=True)
    pyc.write_bytes(header + marshal.dumps(code))


def test_a_rewritten_pyc_fails_verify_and_run_verify(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    write_pyc = {"PYTHONDONTWRITEBYTECODE": ""}
    amber("run", "-f", spec, "--", "python", "-c", "import greetlib", env=write_pyc, check=True)
    site = next(prefix.glob("lib/python*/site-packages"))
    pyc = next((site / "greetlib" / "__pycache__").glob("__init__.*.pyc"))
    assert pyc.read_bytes()[:4] == importlib.util.MAGIC_NUMBER
    assert verify_env(_env(prefix)).ok
    # What verify found good is remembered (not compiled again while its stat holds) ...
    memo = json.loads((prefix / ".amber" / "bytecode-verified.json").read_text())
    assert str(pyc.relative_to(prefix)) in memo
    assert verify_env(_env(prefix)).ok

    before = pyc.stat()
    _tamper(pyc, "print('PWNED')\n")
    # ... but a rewrite with the old mtime put back still differs: its ctime moved.
    os.utime(pyc, ns=(before.st_atime_ns, before.st_mtime_ns))
    # Python runs it: the header still matches the untouched source.
    ran = amber("run", "-f", spec, "--", "python", "-c", "import greetlib", check=True)
    assert "PWNED" in ran.stdout

    result = verify_env(_env(prefix))
    rel = str(pyc.relative_to(prefix))
    assert [m.path for m in result.modified] == [rel], result.lines()
    assert result.modified[0].package == "greetlib==1.0"
    bad = amber("verify", prefix.name)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert f"modified  {rel}" in bad.stdout and "bytecode" in bad.stdout
    assert json.loads(amber("verify", "--json", prefix.name).stdout)["modified"][0]["path"] == rel
    refused = amber("run", "--verify", "-f", spec, "--", "python", "-c", "import greetlib")
    assert refused.returncode == 1 and "PWNED" not in refused.stdout


def test_stray_bytecode_is_reported(amber, conda_channel: Path, tmp_path: Path):
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    site = next(prefix.glob("lib/python*/site-packages"))
    tag = importlib.util.cache_from_source("x.py").split("/")[-1].removeprefix("x.")
    code = compile("print('PWNED')\n", "evil.py", "exec")
    body = importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)
    (site / "evil.pyc").write_bytes(body)  # sourceless: `import evil` runs it
    (site / "greetlib" / "__pycache__").mkdir(exist_ok=True)
    (site / "greetlib" / "__pycache__" / f"gone.{tag}").write_bytes(body)  # no gone.py
    ran = amber("run", "-f", spec, "--", "python", "-c", "import evil", check=True)
    assert "PWNED" in ran.stdout

    result = verify_env(_env(prefix))
    assert not result.ok
    rel = site.relative_to(prefix)
    gone = rel / "greetlib" / "__pycache__" / f"gone.{tag}"
    assert result.extra == [str(rel / "evil.pyc"), str(gone)]


def test_bytecode_of_another_python_is_checked_by_the_envs_own(
    amber, conda_channel: Path, tmp_path: Path
):
    """Bytecode with a magic number Amber's Python does not write goes to the env's python
    (isolated, no site); one that no interpreter here can vouch for is reported."""
    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib")
    prefix = Path(amber("install", "-f", spec, check=True).stdout.strip())
    cache = next(prefix.glob("lib/python*/site-packages/greetlib")) / "__pycache__"
    cache.mkdir(exist_ok=True)
    other = cache / "__init__.cpython-399.pyc"
    other.write_bytes(b"\x00\x01\r\n" + bytes(12) + marshal.dumps(compile("1", "x", "exec")))
    result = verify_env(_env(prefix))
    assert [(m.path, m.reason) for m in result.modified] == [
        (str(other.relative_to(prefix)), "written by another Python")
    ]
    fixed = amber("verify", "--repair", prefix.name)
    assert fixed.returncode == 0 and not other.exists(), fixed

"""Pipeline steps: each call runs in its own env, isolated, reused, and recorded."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import env_dirs, write

import amber
from amber.pipeline.steps import RemoteTraceback, StepCrashedError, StepError
from amber.spec import Spec


class StepBoom(Exception):
    """An exception type the caller can import: it must come back as itself."""


def _line_of(text: str) -> int:
    """The line of this file where ``text`` is, as a traceback would number it."""
    lines = Path(__file__).read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line and "_line_of" not in line)


def test_merge_rules() -> None:
    base = amber.Env(python="3.11", pypi=["numpy>=1.26", "requests"], channels=[])
    merged = base.merge(Spec.create(pypi=["NumPy==2.0", "scikit-learn==1.5.*"]))
    assert merged.pypi == ("numpy==2.0", "requests", "scikit-learn==1.5.*")  # step wins by name
    assert merged.python == "3.11"
    assert base.merge(Spec.create(pypi=["six"], python="3.12")).python == "3.12"
    conda = base.merge(Spec.create(conda=["pandas=2.2"], channels=["conda-forge"]))
    assert conda.conda == ("pandas 2.2.*", "python 3.11.*") and conda.channels == ("conda-forge",)
    assert conda.pypi == ("numpy>=1.26", "requests")  # lists add up
    two = amber.Env(conda=["numpy 1.*"], channels=["a"]).merge(
        Spec.create(conda=["numpy 2.*", "scipy"], channels=["b"])
    )
    assert two.conda == ("numpy 2.*", "scipy") and two.channels == ("a", "b")


def test_step_spec_gets_cloudpickle_and_says_so(amber_home: Path) -> None:
    import cloudpickle

    @amber.step(amber.Env(pypi=["six"]))
    def f() -> None: ...

    assert f.spec is not None
    assert f"cloudpickle=={cloudpickle.__version__}" in f.spec.pypi
    assert f.spec.added == (f"cloudpickle=={cloudpickle.__version__}",)


def test_isolation_and_reuse(amber_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = amber.Env(pypi=["idna"])

    @amber.step(base, pypi=["six==1.16.0"])
    def old() -> str:
        import six

        print("old sees six", six.__version__)
        return six.__version__

    @amber.step(base, pypi=["six==1.17.0"])
    def new(x: int) -> tuple[str, int]:
        import six

        return six.__version__, x * 2

    @amber.step(base, pypi=["six==1.17.0"])
    def same_as_new() -> str:
        import sys

        return sys.prefix

    assert old() == "1.16.0"
    assert new(21) == ("1.17.0", 42)
    assert "old sees six 1.16.0" in capsys.readouterr().out  # streamed back to us
    assert same_as_new() == str(new.prepare().path)
    assert len(env_dirs(amber_home)) == 2  # identical specs share one env


def test_exceptions_come_back_as_themselves(amber_home: Path) -> None:
    @amber.step(amber.Env(pypi=["six"]))
    def fails(kind: str) -> None:
        if kind == "value":
            raise ValueError("bad value")
        raise StepBoom("boom", 42)

    with pytest.raises(ValueError, match="bad value") as info:
        fails("value")
    assert isinstance(info.value.__cause__, RemoteTraceback)
    tb = info.value.__cause__.tb
    # The caller's own file, line and source line (cloudpickle >= 3.1.3 would say
    # `File "<dynamic-code>"` and show no source).
    line = _line_of('raise ValueError("bad value")')
    assert f'File "{__file__}", line {line}, in fails' in tb, tb
    assert 'raise ValueError("bad value")' in tb, tb
    with pytest.raises(StepBoom) as boom:
        fails("custom")
    assert boom.value.args == ("boom", 42)


def test_a_traceback_shows_source_the_env_cannot_read(amber_home: Path) -> None:
    """Code from a notebook cell (a file name only ``linecache`` knows, as IPython does):
    its lines travel with the function, so the step's traceback still shows them."""
    import linecache

    cell = "/nonexistent/notebook/cell-7.py"
    source = "def cell_step(x):\n    total = x + 1\n    raise KeyError(f'no row {total}')\n"
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(source, cell, "exec"), namespace)
    step = amber.step(amber.Env(pypi=["six"]))(namespace["cell_step"])
    with pytest.raises(KeyError) as info:
        step(41)
    tb = info.value.__cause__.tb
    assert f'File "{cell}", line 3, in cell_step' in tb, tb
    assert "raise KeyError(f'no row {total}')" in tb, tb


def test_crashes_report_the_exit(amber_home: Path) -> None:
    @amber.step(amber.Env(pypi=["six"]))
    def exits() -> None:
        import os

        os._exit(3)

    @amber.step(amber.Env(pypi=["six"]))
    def segfaults() -> None:
        import ctypes

        ctypes.string_at(0)

    with pytest.raises(StepCrashedError, match="exit code 3"):
        exits()
    with pytest.raises(StepCrashedError, match="SIGSEGV"):
        segfaults()


def test_unpicklable_argument_is_named(amber_home: Path) -> None:
    @amber.step(amber.Env(pypi=["six"]))
    def takes(a: object, b: object = None) -> None: ...

    with pytest.raises(StepError, match=r"argument 'b' \(lock\) cannot be pickled"):
        takes(1, b=threading.Lock())


def test_large_numpy_array_round_trip(amber_home: Path) -> None:
    np = pytest.importorskip("numpy")

    @amber.step(amber.Env(pypi=[f"numpy=={np.__version__}"]))
    def double(a):  # type: ignore[no-untyped-def]
        return a * 2

    big = np.arange(13_500_000, dtype=np.float64)  # 108 MB
    out = double(big)
    assert out.nbytes >= 100_000_000
    assert out.shape == big.shape and float(out[-1]) == 2 * float(big[-1])


def test_concurrent_calls_from_threads(amber_home: Path) -> None:
    @amber.step(amber.Env(pypi=["six==1.16.0"]))
    def a(i: int) -> tuple[str, int]:
        import six

        return six.__version__, i

    @amber.step(amber.Env(pypi=["six==1.17.0"]))
    def b(i: int) -> tuple[str, int]:
        import six

        return six.__version__, i

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda i: (a if i % 2 else b)(i), range(12)))
    assert results == [("1.16.0" if i % 2 else "1.17.0", i) for i in range(12)]
    assert len(env_dirs(amber_home)) == 2


def test_mixed_conda_and_pypi_step(amber_home: Path, conda_channel: Path) -> None:
    @amber.step(
        conda=["python", "six", "greetlib"],
        channels=[str(conda_channel)],
        pypi=["python-dateutil==2.9.0.post0"],
    )
    def inside() -> tuple[str, str, str]:
        import os

        import dateutil
        import greetlib  # noqa: F401 - from conda
        import six

        return six.__file__, dateutil.__version__, os.environ["CONDA_PREFIX"]

    six_file, dateutil_version, prefix = inside()
    assert six_file.startswith(prefix) and dateutil_version == "2.9.0.post0"
    assert (Path(prefix) / "conda-meta").is_dir()


def test_prepare_hydrates_each_distinct_env_once(amber_home: Path) -> None:
    def make(pin: str):  # type: ignore[no-untyped-def]
        @amber.step(amber.Env(pypi=[f"six=={pin}"]))
        def f() -> None: ...

        return f

    steps = [make(pin) for pin in ("1.16.0", "1.17.0", "1.16.0", "1.17.0")]
    envs = amber.prepare(*steps, quiet=True)
    assert len({e.full_id for e in envs.values()}) == 2
    assert len(env_dirs(amber_home)) == 2
    assert all(s.prepare().is_complete() for s in steps)


def test_runs_are_recorded_and_past_envs_come_back(amber, amber_home: Path, tmp_path: Path):
    module = write(
        tmp_path / "flow.py",
        """
        import amber

        @amber.step(amber.Env(pypi=["six==1.16.0"]))
        def first():
            import six
            return six.__version__

        @amber.step(amber.Env(pypi=["six==1.17.0"]))
        def second(x):
            return x + "!"

        if __name__ == "__main__":
            print(second(first()))
        """,
    )
    listed = json.loads(amber("steps", module, "--json", check=True).stdout)
    assert [(r["step"], r["hydrated"]) for r in listed] == [("first", False), ("second", False)]
    amber("steps", module, "--prepare", check=True)
    listed = json.loads(amber("steps", module, "--json", check=True).stdout)
    assert all(r["hydrated"] and r["full_id"] for r in listed)

    import subprocess
    import sys

    ran = subprocess.run([sys.executable, str(module)], capture_output=True, text=True)
    assert ran.stdout.strip() == "1.16.0!", ran.stderr
    runs = json.loads(amber("runs", "list", "--json", check=True).stdout)
    assert len(runs) == 1 and [s["step"] for s in runs[0]["steps"]] == ["first", "second"]
    run_id = runs[0]["run_id"]
    shown = amber("runs", "show", run_id[:6], check=True).stdout
    assert "first" in shown and runs[0]["steps"][0]["full_id"][:12] in shown

    first_env = runs[0]["steps"][0]["full_id"]
    amber("env", "rm", first_env[:12], check=True)
    got = amber("env", "get", "--run", run_id, "--step", "first", check=True)
    path = Path(got.stdout.strip())
    assert path.name == first_env[:16] and (path / ".amber" / "complete").is_file()
    code = "import six; print(six.__version__)"
    assert amber("run", "--env", first_env[:12], "--", "python", "-c", code).stdout.strip() == (
        "1.16.0"
    )
    missing = amber("env", "get", "--run", run_id, "--step", "nope")
    assert missing.returncode == 2 and "no step 'nope'" in missing.stderr


def test_steps_cli_on_a_broken_module(amber, tmp_path: Path) -> None:
    module = write(tmp_path / "broken.py", "import amber\nraise RuntimeError('oops')\n")
    result = amber("steps", module)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{module}: importing it failed: RuntimeError: oops" in result.stderr

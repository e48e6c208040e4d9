"""Every real environment.yml in ../shared/data/real: Amber reads it as conda does, or says
precisely how and why not; docs/ENVIRONMENT_YML.md records the outcome per file."""

from __future__ import annotations

import functools
import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from helpers import SHARED

from amber.errors import SpecError
from amber.spec import read_spec

FILES = SHARED / "real" / "environment-yml"
pytestmark = pytest.mark.skipif(not FILES.is_dir(), reason="no ../shared/data/real")
BENCH = Path(__file__).resolve().parents[2] / "bench" / "envyml_table.py"
# The only ways Amber's reading may differ from conda's, each said in the table.
EXPLAINED = (
    "conda adds `pip` to the conda packages",
    "conda ignores `platforms`",
    "no conda package: conda would search",
    "`defaults` includes pkgs/msys2",
)
# The only refusals: what Amber cannot lock yet, each named with its reason.
REFUSALS = ("editable requirement", "VCS requirement")


@functools.cache
def _table() -> ModuleType:
    """bench/envyml_table.py, the table's generator (a script, not a test module)."""
    spec = importlib.util.spec_from_file_location("envyml_table", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["envyml_table"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted(FILES.iterdir()) if FILES.is_dir() else [], ids=str)
def test_read_as_conda_reads_it_or_refused_precisely(path: Path) -> None:
    table = _table()
    conda = table.conda_reading(path)
    amber = table.amber_reading(path)
    if amber.refused:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(SpecError) as info:
                read_spec(path)
        assert str(info.value).startswith(f"{path}:")  # names the file (and line)
        assert any(reason in str(info.value) for reason in REFUSALS), str(info.value)
        assert not conda.refused  # conda accepts it: the refusal is recorded in the table
        return
    said = table.differences(conda, amber, path)
    unexplained = [s for s in said if not s.startswith(EXPLAINED)]
    assert unexplained == [], f"{path.name}: Amber's reading silently differs: {unexplained}"


def test_the_table_is_current() -> None:
    assert _table().main(["--check"]) == 0, "run: python bench/envyml_table.py"

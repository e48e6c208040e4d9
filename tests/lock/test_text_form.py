"""The lock's text: written by Amber's own emitter, byte for byte what PyYAML writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import SNAPSHOT
from hypothesis import given, settings
from hypothesis import strategies as st

from amber import _yaml
from amber.lock import Lock
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec


def pyyaml(data: object) -> str:
    """What the lock's text was before Amber wrote it itself: PyYAML (libyaml's emitter)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, width=4096)


# Text a lock holds (names, versions, match specs, URLs, hashes), and text that must be
# quoted: what YAML reads as another type, indicators, spaces at the ends, quotes, colons,
# comments, non-ASCII, line breaks, long lines.
_TOKENS = st.sampled_from([
    "numpy", "1.26.4", "py311h64a7726_0", "python >=3.11,<3.12.0a0", "__glibc=2.28=0",
    "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4.conda", "3.6", "1e3", "0x1F",
    "true", "no", "null", "~", "", " lead", "trail ", "a: b", "a:b", "x #c", "x#c", "-", "- a",
    "-a", "?", "? x", ":x", "[1]", "{a}", "*a", "&a", "!t", "|", ">=1", "'q'", '"q"', "%", "@",
    "`", "---", "...", "a\nb", "é", "tab\there", "2018-01-01", "12:30", ".inf", "0o17", "+1",
    "a" * 140, "word " * 900, "0", "-1", "1_000", "=", "<", "a,b", "#", "a'b",
])  # fmt: skip
# What YAML 1.1 may read as a number, a date, a boolean or null (amber._yaml decides that
# without PyYAML, from a copy of its resolvers).
_NUMBERISH = st.text("0123456789.-+_:eExXbBaFoOtTZ ~<=yYnNlu\t", max_size=12)
_TEXT = _TOKENS | st.text(max_size=12) | st.text("ab: #-'\"?,[]{}.0123", max_size=8) | _NUMBERISH
_SCALARS = _TEXT | st.integers(-(2**40), 2**40) | st.booleans() | st.none()
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_TEXT, _DATA, max_size=5) | st.lists(_DATA, max_size=5))
def test_dump_writes_what_pyyaml_writes(data: object) -> None:
    assert _yaml.dump(data) == pyyaml(data)


def test_a_real_lock_is_written_as_pyyaml_would(tmp_path: Path) -> None:
    if not SNAPSHOT.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    request = "python=3.6 numpy pandas scipy matplotlib jupyter bokeh dask r-essentials".split()
    spec = Spec.create(conda=request, channels=[str(SNAPSHOT)], platforms=["linux-64"])
    caches = ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")
    lock = resolve(spec, caches)
    text = lock.dumps()
    assert text.split("\n", 1)[1] == pyyaml(lock.to_dict())
    assert Lock.loads(text) == lock


def test_the_text_is_made_once(tmp_path: Path, conda_channel_url: str) -> None:
    """`amber lock` keeps the same text in the store and beside the spec: one emission."""
    spec = Spec.create(conda=["footool"], channels=[conda_channel_url], platforms=["linux-64"])
    caches = ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")
    lock = resolve(spec, caches)
    assert lock.dumps() is lock.dumps()

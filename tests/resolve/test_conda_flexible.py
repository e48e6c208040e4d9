"""Amber's ``channel_priority`` flexible and strict against conda's own classic solver.

``tests/data/conda-flexible/answers.json`` holds what conda 26.7.1 (``--solver classic``,
``create --dry-run --json``) picked on two channels made from the shared defaults-2018
snapshot (``cases.json``: a "high" channel without numpy >= 1.14, pandas >= 0.23 and
python >= 3.7 over the full snapshot, "low"); its README says how it was produced, and
``bench/conda_flexible.py`` re-runs the comparison live where conda is installed. Here
Amber resolves the same requests on the same channels and must pick the same records
(name, version, build and channel), or be unsatisfiable where conda is, except for the one
divergence README "Coming from conda" documents.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CONDA_FLEXIBLE, SNAPSHOT, snapshot_channels

from amber.errors import ResolveError
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec

pytestmark = pytest.mark.skipif(not SNAPSHOT.is_dir(), reason="../shared/data is not beside us")

CASES = json.loads((CONDA_FLEXIBLE / "cases.json").read_text())
ANSWERS = json.loads((CONDA_FLEXIBLE / "answers.json").read_text())

# conda's classic solver minimises the versions and builds of the packages nobody asked for
# as one sum, so for a dependency it takes a lower build that needs fewer packages; rattler
# takes the highest build of each package (README "Coming from conda"). The same channel
# either way; with numpy requested, conda takes rattler's build (the case just after).
_NUMPY_BUILD = {"numpy", "blas", "mkl_fft", "mkl_random"}
DEPENDENCY_BUILDS = {
    "python 3.6.* + matplotlib": _NUMPY_BUILD,
    "python 3.6.* + pandas >=0.23": _NUMPY_BUILD,  # pandas from "low", numpy from "high"
}


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return snapshot_channels(tmp_path_factory.mktemp("snapshots"), CASES)


def _amber(channels: dict[str, Path], request: list[str], priority: str, cache: Path):
    spec = Spec.create(
        conda=request,
        channels=[channels[label].as_uri() for label in CASES["order"]],
        platforms=[CASES["platform"]],
    ).with_channel_priority(priority)
    try:
        lock = resolve(spec, ResolveCaches(cache / "repodata", cache / "uv", cache / "pkgs"))
    except ResolveError:
        return None
    labels = {channels[label].as_uri(): label for label in CASES["order"]}
    return {
        p.name: [p.version, p.build, labels[p.channel.rstrip("/")]]
        for p in lock.for_platform(CASES["platform"]).conda
    }


def test_every_request_was_recorded() -> None:
    assert sorted(ANSWERS) == sorted(" + ".join(r) for r in CASES["requests"])
    # The cases are those where the priorities differ: strict fails, flexible solves.
    differ = [k for k, a in ANSWERS.items() if a["strict"] != a["flexible"]]
    assert len(differ) >= 5, differ


@pytest.mark.parametrize("request_", CASES["requests"], ids=" + ".join)
def test_amber_picks_what_conda_picks(channels, request_: list[str], tmp_path: Path) -> None:
    key = " + ".join(request_)
    for priority in ("flexible", "strict"):
        conda = ANSWERS[key][priority]
        ours = _amber(channels, request_, priority, tmp_path)
        assert (ours is None) == (conda is None), (priority, ours, conda)
        if ours is None or conda is None:
            continue
        differ = {n for n in set(ours) | set(conda) if ours.get(n) != conda.get(n)}
        assert differ == DEPENDENCY_BUILDS.get(key, set()), (
            priority,
            {n: (ours.get(n), conda.get(n)) for n in sorted(differ)},
        )
        # Channel by channel, always conda's choice.
        assert {n: ours[n][2] for n in set(ours) & set(conda)} == {
            n: conda[n][2] for n in set(ours) & set(conda)
        }

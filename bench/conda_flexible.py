"""conda's classic solver and Amber side by side on ``channel_priority`` flexible and strict.

The channels and requests are those of ``tests/data/conda-flexible/cases.json`` (made from
the shared repodata snapshots, metadata only: conda's ``--dry-run`` needs no archives).

    AMBER_BENCH_CONDA=/path/to/conda python bench/conda_flexible.py          # side by side
    AMBER_BENCH_CONDA=/path/to/conda python bench/conda_flexible.py --record # answers.json

``AMBER_BENCH_CONDA`` is a ``conda`` executable, or a Python that has conda installed
(then ``python -m conda`` runs: conda installed with pip refuses its own entry point until
``conda init``). Without it, Amber's answers are shown beside the recorded ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import CONDA_FLEXIBLE, snapshot_channels  # noqa: E402

from amber.errors import ResolveError  # noqa: E402
from amber.resolve import ResolveCaches, resolve  # noqa: E402
from amber.spec import Spec  # noqa: E402

PRIORITIES = ("flexible", "strict")


def conda_command(conda: str) -> list[str]:
    return [conda, "-m", "conda"] if Path(conda).name.startswith("python") else [conda]


def conda_answer(
    conda: str, work: Path, channels: dict[str, Path], order: list[str], request: list[str],
    priority: str,
) -> dict[str, list[str]] | None:  # fmt: skip
    """{name: [version, build, channel label]} of conda's dry-run, None if unsatisfiable."""
    condarc = work / priority / ".condarc"  # conda reads $CONDARC only under such a name
    condarc.parent.mkdir(parents=True, exist_ok=True)
    # pip is not added to python: the comparison is about channels, not conda's extras.
    condarc.write_text(f"channel_priority: {priority}\nadd_pip_as_python_dependency: false\n")
    environ = {
        **os.environ,
        "CONDARC": str(condarc),
        "CONDA_SUBDIR": "linux-64",
        "CONDA_PKGS_DIRS": str(work / "pkgs"),
        "CONDA_ENVS_DIRS": str(work / "envs"),
    }
    argv = [*conda_command(conda), "create", "--dry-run", "--json", "-n", "x"]
    argv += ["--override-channels", "--solver", "classic"]
    for label in order:
        argv += ["-c", channels[label].as_uri()]
    done = subprocess.run([*argv, *request], env=environ, capture_output=True, text=True)
    answer = json.loads(done.stdout or "{}")
    if not answer.get("success"):
        if "Unsatisfiable" in answer.get("exception_name", "") or "PackagesNotFound" in answer.get(
            "exception_name", ""
        ):
            return None
        raise SystemExit(f"conda failed on {request}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    labels = {channels[label].as_uri(): label for label in order}
    picked = {}
    for record in answer["actions"]["LINK"]:
        channel = record.get("base_url") or record["channel"].rsplit("/", 1)[0]
        picked[record["name"]] = [
            record["version"],
            record["build_string"],
            labels[channel.rstrip("/")],
        ]
    return dict(sorted(picked.items()))


def amber_answer(
    work: Path, channels: dict[str, Path], order: list[str], request: list[str], priority: str
) -> dict[str, list[str]] | None:
    """The same from Amber's resolve (rattler under conda's priority), None if unsatisfiable."""
    spec = Spec.create(
        conda=request, channels=[channels[c].as_uri() for c in order], platforms=["linux-64"]
    ).with_channel_priority(priority)
    caches = ResolveCaches(work / "repodata", work / "uv", work / "pkgs")
    try:
        lock = resolve(spec, caches)
    except ResolveError:
        return None
    labels = {channels[label].as_uri(): label for label in order}
    return {
        p.name: [p.version, p.build, labels[p.channel.rstrip("/")]]
        for p in sorted(lock.for_platform("linux-64").conda, key=lambda p: p.name)
    }


def differences(ours: dict | None, theirs: dict | None) -> list[str]:
    """One line per package the two answers disagree on."""
    if ours is None or theirs is None:
        return (
            []
            if ours == theirs
            else [f"unsatisfiable: amber {ours is None}, conda {theirs is None}"]
        )
    return [
        f"{name}: amber {ours.get(name)}, conda {theirs.get(name)}"
        for name in sorted(set(ours) | set(theirs))
        if ours.get(name) != theirs.get(name)
    ]


def main() -> int:
    cases = json.loads((CONDA_FLEXIBLE / "cases.json").read_text())
    recorded_path = CONDA_FLEXIBLE / "answers.json"
    conda = os.environ.get("AMBER_BENCH_CONDA")
    record = "--record" in sys.argv
    if record and not conda:
        raise SystemExit("--record needs AMBER_BENCH_CONDA")
    recorded = json.loads(recorded_path.read_text()) if recorded_path.exists() else {}
    answers: dict[str, dict] = {}
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        channels = snapshot_channels(work / "channels", cases)
        for request in cases["requests"]:
            key = " + ".join(request)
            answers[key] = {}
            for priority in PRIORITIES:
                if conda:
                    theirs = conda_answer(conda, work, channels, cases["order"], request, priority)
                    source = "conda (live)"
                else:
                    theirs = recorded.get(key, {}).get(priority)
                    source = "conda (recorded)"
                answers[key][priority] = theirs
                ours = amber_answer(work, channels, cases["order"], request, priority)
                diff = differences(ours, theirs)
                failed += bool(diff)
                print(f"\n== {key}  [{priority}]  {'same' if not diff else 'DIFFERENT'}")
                names = sorted(set(ours or {}) | set(theirs or {}))
                if ours is None or theirs is None:
                    for who, answer in (("amber", ours), (source, theirs)):
                        said = "unsatisfiable" if answer is None else f"{len(answer)} packages"
                        print(f"  {who}: {said}")
                for name in names:
                    a, c = (ours or {}).get(name), (theirs or {}).get(name)
                    mark = " " if a == c else "*"
                    shown = " ".join(a or ["-"]), source.split()[0], " ".join(c or ["-"])
                    print(f" {mark}{name:24} amber {shown[0]:40} {shown[1]} {shown[2]}")
    if record:
        recorded_path.write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n")
        print(f"\nwrote {recorded_path}")
    print(f"\n{failed} of {len(answers) * len(PRIORITIES)} answers differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())

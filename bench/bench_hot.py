"""Benchmarks 12 and 13: `amber run` on an env that exists, against `uv run` and by reference.

12. `amber run -f requirements.txt -- python -c pass` against `uv run python -c pass` in a uv
    project holding the same packages (both warm: the env exists, uv's lock is fresh).
13. `amber run --env ID -- true` and `amber run --env NAME:TAG -- true` (13b) against
    `amber run -f requirements.txt -- true` on the same env: a reference costs what a file does.

Every command is a whole subprocess, timed from outside, alternating, after a warm-up each.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from common import Figure, run, spread, timed

AMBER = str(Path(sys.executable).with_name("amber"))
UV = str(Path(sys.executable).with_name("uv"))
# The 10-package PyPI env.
PACKAGES = [
    "requests", "rich", "pydantic", "click", "attrs", "tabulate", "packaging", "pyyaml", "six",
    "idna",
]  # fmt: skip
PASS = ["python", "-c", "pass"]


def _interleaved(commands: dict[str, list[str]], cwd: Path, reps: int) -> dict[str, list[float]]:
    for command in commands.values():
        timed(command, cwd)  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for n in range(reps):
        order = list(commands.items())
        if n % 2:
            order.reverse()  # any drift of the machine hits every side alike
        for name, command in order:
            samples[name].append(timed(command, cwd))
    return samples


def bench_run_hot(work: Path, reps: int) -> list[Figure]:
    project = work / "hot"
    project.mkdir()
    (project / "requirements.txt").write_text("".join(f"{p}\n" for p in PACKAGES))
    env = Path(run([AMBER, "install", "-q", "-f", "requirements.txt"], project).strip())
    full_id = (env / ".amber" / "complete").read_text().strip()
    run([AMBER, "env", "tag", full_id, "benchhot:v1"], project)

    # The uv project: same packages, its own venv and cache, locked and synced once.
    uv_project = work / "uv-project"
    uv_env = {**os.environ, "UV_CACHE_DIR": str(work / "uv-cache"), "UV_NO_PROGRESS": "1"}
    uv_env.pop("VIRTUAL_ENV", None)
    run(
        [UV, "init", "--bare", "--no-workspace", "--name", "bench-hot", str(uv_project)], env=uv_env
    )
    run([UV, "add", "--directory", str(uv_project), "-q", *PACKAGES], env=uv_env)
    os.environ["UV_CACHE_DIR"] = uv_env["UV_CACHE_DIR"]  # timed() passes os.environ on
    try:
        uv_vs = _interleaved(
            {
                "amber": [AMBER, "run", "-f", str(project / "requirements.txt"), "--", *PASS],
                "uv": [UV, "run", "--directory", str(uv_project), *PASS],
            },
            project,
            reps,
        )
    finally:
        del os.environ["UV_CACHE_DIR"]
    refs = _interleaved(
        {
            "file": [AMBER, "run", "-f", "requirements.txt", "--", "true"],
            "id": [AMBER, "run", "--env", full_id[:12], "--", "true"],
            "tag": [AMBER, "run", "--env", "benchhot:v1", "--", "true"],
        },
        project,
        reps,
    )
    n = len(PACKAGES)
    return [
        Figure(
            f"12. `amber run -f requirements.txt` vs `uv run` in a uv project ({n} PyPI packages)",
            uv_vs["amber"],
            uv_vs["uv"],
            1.0,
            ratio=True,
            notes=[
                f"Amber {spread(uv_vs['amber'])}; uv {spread(uv_vs['uv'])}; {reps} runs "
                "each, alternating, after a warm-up. Both run `python -c pass`."
            ],
        ),  # fmt: skip
        Figure(
            "13. `amber run --env ID` vs `amber run -f requirements.txt` (the same env)",
            refs["id"],
            refs["file"],
            1.1,
            ratio=True,
            notes=[
                f"`--env ID` {spread(refs['id'])}; `--env NAME:TAG` {spread(refs['tag'])}; "
                f"`-f` {spread(refs['file'])}; {reps} runs each, `true` as the command."
            ],
        ),  # fmt: skip
        Figure(
            "13b. `amber run --env NAME:TAG` vs `amber run -f requirements.txt` (the same env)",
            refs["tag"],
            refs["file"],
            1.1,
            ratio=True,
        ),  # fmt: skip
    ]

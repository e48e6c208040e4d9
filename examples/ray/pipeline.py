"""Ray tasks that run in their own Amber envs (PyPI only, so it runs anywhere).

`load` and `report` need different versions of the same library (tabulate). The
caller resolves each env's lock and pushes it, with its packages, to a remote store;
each Ray worker hydrates an env from there once, then runs the steps in it. Here the
remote store is a directory (the cluster is this machine); on a real cluster use
`s3://...` or set `AMBER_REMOTE`.

    pip install 'amber-env[ray]'
    python examples/ray/pipeline.py
"""

import os
import tempfile
from pathlib import Path

import ray

import amber
import amber.ray

REMOTE = os.environ.get("AMBER_REMOTE") or Path(tempfile.gettempdir(), "amber-remote").as_uri()


@amber.step(pypi=["tabulate==0.8.10"])
def load(n: int) -> list[tuple[str, int]]:
    import tabulate

    print(f"load: tabulate {tabulate.__version__}")
    return [(f"row{i}", i * i) for i in range(n)]


@amber.step(pypi=["tabulate==0.9.0"])
def report(rows: list[tuple[str, int]]) -> str:
    import tabulate

    return tabulate.tabulate(rows, headers=("name", "value"))


if __name__ == "__main__":
    ray.init(num_cpus=2, include_dashboard=False)
    parts = amber.ray.map(load, [2, 3], remote=REMOTE)  # ObjectRefs, in order
    tables = [amber.ray.submit(report, rows, remote=REMOTE) for rows in parts]
    for table in ray.get(tables):
        print(table, end="\n\n")

"""A three-step pipeline, each step in its own environment (PyPI only, so it runs anywhere).

`load` and `report` need different versions of the same library (tabulate):
each gets its own env, built once. `summarize` shares `report`'s env: the same
spec means the same env, on disk once.

    python examples/pipeline.py      # with Amber installed
"""

import amber

base = amber.Env(pypi=["python-dateutil>=2.9"])  # flow-wide defaults


@amber.step(base, pypi=["tabulate==0.8.10"])
def load(n: int) -> list[tuple[str, int]]:
    import tabulate

    print(f"load: tabulate {tabulate.__version__}")
    return [(f"row{i}", i * i) for i in range(n)]


@amber.step(base, pypi=["tabulate==0.9.0"])
def summarize(rows: list[tuple[str, int]]) -> dict[str, int]:
    import tabulate

    print(f"summarize: tabulate {tabulate.__version__}")
    return {"rows": len(rows), "total": sum(v for _, v in rows)}


@amber.step(base, pypi=["tabulate==0.9.0"])
def report(rows: list[tuple[str, int]], summary: dict[str, int]) -> str:
    from tabulate import tabulate

    return tabulate(rows + [("total", summary["total"])], headers=("name", "value"))


if __name__ == "__main__":
    rows = load(4)
    print(report(rows, summarize(rows)))

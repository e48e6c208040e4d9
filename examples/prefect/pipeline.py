"""A Prefect flow whose two tasks run in their own Amber envs (PyPI only, so it runs anywhere).

`load` and `report` need different versions of the same library (tabulate): each task
gets its own env, built once, and the rows pass from one to the other as a task result.
No Prefect server is needed: without `PREFECT_API_URL` Prefect starts its temporary
local one.

    pip install 'amber-env[prefect]'
    python examples/prefect/pipeline.py
"""

from prefect import flow

import amber.prefect


@amber.prefect.task(pypi=["tabulate==0.8.10"], retries=1)  # Prefect's options beside Amber's
def load(n: int) -> list[tuple[str, int]]:
    import tabulate

    print(f"load: tabulate {tabulate.__version__}")
    return [(f"row{i}", i * i) for i in range(n)]


@amber.prefect.task(pypi=["tabulate==0.9.0"])
def report(rows: list[tuple[str, int]]) -> str:
    import tabulate

    print(f"report: tabulate {tabulate.__version__}")
    return tabulate.tabulate(rows, headers=("name", "value"))


@flow
def tables(n: int = 4) -> str:
    return report(load(n))


if __name__ == "__main__":
    print(tables())

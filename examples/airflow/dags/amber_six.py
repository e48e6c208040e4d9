"""An Airflow DAG whose tasks need conflicting versions of one library (six).

`extract` runs with six 1.15.0, `transform` with six 1.16.0: each task runs in its
own Amber env, built once and reused by every later run. `extract`'s value reaches
`transform` through XCom; `report` is the classic-operator form, with a templated
argument. Run it with Airflow 3 and Amber installed in one venv:

    pip install 'amber-env[airflow]'
    export AIRFLOW_HOME=/tmp/airflow AIRFLOW__CORE__DAGS_FOLDER=examples/airflow/dags
    airflow db migrate
    airflow dags test amber_six
"""

import pendulum
from airflow.sdk import dag, task

import amber
from amber.airflow import AmberOperator

base = amber.Env(pypi=["six"])  # flow-wide defaults; each task pins its own six


@task.amber(base, pypi=["six==1.15.0"])
def extract(n: int) -> dict:
    import six

    return {"rows": list(range(n)), "six": six.__version__}


@task.amber(base, pypi=["six==1.16.0"])
def transform(data: dict) -> dict:
    import six

    return {"total": sum(data["rows"]), "extract_six": data["six"], "six": six.__version__}


def report(result: dict, run_id: str) -> str:
    return f"run {run_id}: total {result['total']} (six {result['extract_six']} -> {result['six']})"


@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), catchup=False, tags=["amber"])
def amber_six():
    totals = transform(extract(4))
    AmberOperator(
        task_id="report",
        python_callable=report,
        pypi=["six==1.16.0"],
        op_kwargs={"result": totals, "run_id": "{{ run_id }}"},  # templated, as for @task
    )


amber_six()

"""``amber.airflow``: pipeline steps as Airflow tasks (see ``amber.pipeline.airflow``).

``get_provider_info`` is the ``apache_airflow_provider`` entry point: Airflow calls it
to learn that ``@task.amber`` exists, so it imports nothing (neither Airflow nor the
rest of Amber); ``AmberOperator`` and ``amber_task`` load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amber.pipeline.airflow import AmberOperator, amber_task

__all__ = ["AmberOperator", "amber_task", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """What Airflow's provider manager reads: ``@task.amber`` and ``AmberOperator``."""
    return {
        "package-name": "amber-env",  # must be the distribution's name (Airflow checks)
        "name": "Amber",
        "description": "Run each task in its own hashed, locked conda + PyPI environment.",
        "integrations": [{"integration-name": "Amber", "tags": ["software"]}],
        "operators": [{"integration-name": "Amber", "python-modules": ["amber.pipeline.airflow"]}],
        "task-decorators": [{"name": "amber", "class-name": "amber.pipeline.airflow.amber_task"}],
    }


def __getattr__(name: str) -> Any:
    if name in ("AmberOperator", "amber_task"):
        return getattr(importlib.import_module("amber.pipeline.airflow"), name)
    raise AttributeError(f"module 'amber.airflow' has no attribute {name!r}")

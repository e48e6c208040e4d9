"""``amber.prefect``: pipeline steps as Prefect tasks (see ``amber.pipeline.prefect``)."""

from amber.pipeline.prefect import task

__all__ = ["task"]

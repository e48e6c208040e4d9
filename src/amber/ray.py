"""``amber.ray``: pipeline steps as Ray tasks (see ``amber.pipeline.ray``)."""

from amber.pipeline.ray import map, submit  # noqa: A004 - amber.ray.map, like amber.dask.map

__all__ = ["submit", "map"]

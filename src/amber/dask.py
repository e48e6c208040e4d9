"""``amber.dask``: pipeline steps on a dask.distributed cluster (see ``amber.pipeline.dask``)."""

from amber.pipeline.dask import map, submit  # noqa: A004 - amber.dask.map, like Client.map

__all__ = ["submit", "map"]

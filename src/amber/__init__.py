"""Amber: reproducible conda + PyPI environments.

The Python API::

    import amber

    base = amber.Env(python="3.11", pypi=["numpy>=1.26"])

    @amber.step(base, pypi=["scikit-learn==1.5.*"])
    def train(X, y): ...
"""

from __future__ import annotations

from amber._version import __version__ as __version__

TYPE_CHECKING = False  # typing itself costs the hot path of `amber run` a few ms
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Env", "step", "prepare", "Step", "StepError", "StepCrashedError", "Spec"]


def __getattr__(name: str) -> Any:
    # Lazy: `amber run`'s hot path imports this package and must stay light.
    if name in ("Env", "step", "prepare", "Step", "StepError", "StepCrashedError"):
        from amber.pipeline import steps as _steps

        return getattr(_steps, name)
    if name in ("dask", "ray", "prefect"):
        import importlib

        return importlib.import_module(f"amber.{name}")
    if name == "Spec":
        from amber.spec import Spec

        return Spec
    raise AttributeError(f"module 'amber' has no attribute {name!r}")

"""Pipeline steps as Airflow tasks: ``@task.amber(...)`` and ``AmberOperator``.

Built as Airflow builds ``@task.virtualenv``: ``AmberOperator`` is a ``PythonOperator``
whose callable runs through an ``amber.step`` (a subprocess inside the step's env,
arguments and value crossing with cloudpickle); ``@task.amber`` is its TaskFlow
decorator, registered through the provider entry point (``amber.airflow``). The
arguments of ``amber.step`` pass through unchanged; ``op_args``, ``op_kwargs`` and
``templates_dict`` are templated as for ``@task``. The task's return value goes to
XCom, where Airflow stores it as JSON: a value its serialiser refuses fails the task
with an error naming it, not the next task.

This module imports Airflow: only Airflow loads it (``pip install 'amber-env[airflow]'``).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Collection, Mapping
from typing import Any

import cloudpickle
from airflow.providers.standard.operators.python import (
    PythonOperator,
    _BasePythonVirtualenvOperator,
)
from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
from airflow.sdk.bases.xcom import BaseXCom
from airflow.sdk.execution_time.xcom import resolve_xcom_backend
from airflow.sdk.serde import serialize

from amber.errors import StepError
from amber.pipeline.steps import Step, step
from amber.spec import Spec
from amber.spec.model import _requirement_name  # noqa: PLC2701 - one parser of names

__all__ = ["AmberOperator", "amber_task"]

# amber.step's own settings (base, conda, pypi, python, file, env, and whatever it learns
# later): taken from the operator's arguments, the rest are Airflow's.
_STEP_ARGUMENTS = tuple(inspect.signature(step).parameters)

# The context a step may ask for by name: what @task.virtualenv passes to an env without
# Airflow (plain strings and numbers), and pendulum dates to an env that has pendulum.
_CONTEXT_KEYS = frozenset(_BasePythonVirtualenvOperator.BASE_SERIALIZABLE_CONTEXT_KEYS)
_PENDULUM_KEYS = frozenset(_BasePythonVirtualenvOperator.PENDULUM_SERIALIZABLE_CONTEXT_KEYS)


class AmberOperator(PythonOperator):
    """Run ``python_callable`` in its own Amber env, with ``amber.step``'s arguments.

    ``AmberOperator(task_id=..., python_callable=f, pypi=["six==1.16.0"], op_args=[...])``;
    ``base=``, ``conda=``, ``pypi=``, ``channels=``, ``python=``, ``file=``, ``env=`` mean
    what they mean to ``amber.step``. The value returned goes to XCom.
    """

    template_fields = PythonOperator.template_fields
    template_fields_renderers = PythonOperator.template_fields_renderers

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        settings = {name: kwargs.pop(name) for name in _STEP_ARGUMENTS if name in kwargs}
        super().__init__(
            python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs, **kwargs
        )
        base = settings.pop("base", None)
        # Built here, so a bad spec fails the DAG's import (naming the file), not a run.
        self.step: Step = step(base, **settings)(python_callable)

    def execute(self, context: Any) -> Any:
        # As @task.virtualenv: the function gets the context entries it names that can
        # cross to another Python (not ``ti`` nor ``dag``, which live in this process).
        keys = _CONTEXT_KEYS | (_PENDULUM_KEYS if _has_pendulum(self.step) else frozenset())
        return super().execute({k: v for k, v in context.items() if k in keys})

    def execute_callable(self) -> Any:
        _ship_dag_module(self.python_callable)
        value = self.step(*self.op_args, **self.op_kwargs)
        if self.do_xcom_push:
            self._check_storable(value)
        return value

    def _check_storable(self, value: Any) -> None:
        """Fail here, naming the task, when Airflow's XCom cannot store the value."""
        backend = resolve_xcom_backend()
        if value is None or backend.serialize_value is not BaseXCom.serialize_value:
            return  # a custom XCom backend decides what it stores
        try:
            serialize(value)
        except Exception as exc:  # noqa: BLE001 - serde raises TypeError, ValueError...
            raise StepError(
                f"task {self.task_id!r} (amber step {self.step.name}) returned a value of "
                f"type {type(value).__qualname__}, which Airflow cannot store in XCom "
                f"({exc}). Airflow stores a task's value as JSON: return "
                "str, numbers, bool, None, lists, tuples, dicts with str keys, dates or "
                "dataclasses (what airflow.sdk.serde serialises), write larger data to "
                "storage and return its path, or set do_xcom_push=False.",
                step=self.step.name,
            ) from None


class _AmberDecoratedOperator(DecoratedOperator, AmberOperator):
    """``@task.amber``: the function runs in its own Amber env."""

    custom_operator_name = "@task.amber"
    template_fields = AmberOperator.template_fields
    template_fields_renderers = AmberOperator.template_fields_renderers

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # DecoratedOperator hands these to AmberOperator: it must see the same values, or
        # the XComArg dependencies in them are lost (as in Airflow's own decorators).
        super().__init__(
            kwargs_to_upstream={
                "python_callable": python_callable,
                "op_args": op_args,
                "op_kwargs": op_kwargs,
            },
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )


def amber_task(
    python_callable: Callable[..., Any] | Spec | None = None,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> Any:
    """``@task.amber(base, pypi=[...])``: ``amber.step``'s arguments and Airflow's task ones."""
    if isinstance(python_callable, Spec):  # @task.amber(base, ...), as @amber.step(base, ...)
        kwargs["base"], python_callable = python_callable, None
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=_AmberDecoratedOperator,
        **kwargs,
    )


def _has_pendulum(s: Step) -> bool:
    spec = s.spec
    return spec is not None and any(_requirement_name(r).lower() == "pendulum" for r in spec.pypi)


def _ship_dag_module(func: Callable[..., Any]) -> None:
    """Pickle the DAG file's module by value: Airflow imports it under a name of its own
    that no step env (nor the step's worker) can import again."""
    module = sys.modules.get(func.__module__)
    path = getattr(module, "__file__", None) or ""
    if module is None or module.__name__ == "__main__" or not path:
        return
    if "site-packages" in path or "dist-packages" in path:
        return  # an installed package: the step's spec provides it, or it is missing
    try:
        cloudpickle.register_pickle_by_value(module)
    except ValueError:
        pass

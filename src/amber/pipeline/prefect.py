"""Pipeline steps as Prefect tasks: ``@amber.prefect.task(pypi=[...], retries=2)``.

The decorator takes ``amber.step``'s settings and ``prefect.task``'s options in one
call, tells them apart by name, and returns a real ``prefect.Task`` whose function
calls the step: the task runs where Prefect runs it (a thread of the flow's task
runner by default), and the step in a subprocess inside its own env, as a local call
does. The task's result is the step's value; a step's exception is the task's, as its
own type, so Prefect's retries and states see what the step raised.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from amber.errors import AmberError, StepError
from amber.pipeline import steps
from amber.spec import Spec

__all__ = ["task"]


def task(base: Spec | Callable[..., Any] | None = None, /, **settings: Any) -> Any:
    """``@amber.prefect.task(base, pypi=[...], retries=2)``: a step as a ``prefect.Task``.

    Keywords of ``amber.step`` (``conda``, ``pypi``, ``python``, ``file``, ``env``, ...)
    make the step's env; every other keyword goes to ``prefect.task`` (``name``,
    ``retries``, ``tags``, ``task_run_name``, ``cache_policy``, ...).
    """
    if callable(base) and not isinstance(base, Spec):
        return task()(base)
    prefect_task = _prefect_task()
    step_names = set(inspect.signature(steps.step).parameters) - {"base"}
    task_names = set(inspect.signature(prefect_task).parameters) - {"__fn"}
    unknown = sorted(set(settings) - step_names - task_names)
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise StepError(
            f"amber.prefect.task: {names} is neither amber.step's nor prefect.task's keyword "
            f"(amber.step: {', '.join(sorted(step_names))})"
        )
    step_settings = {k: v for k, v in settings.items() if k in step_names}
    task_options = {k: v for k, v in settings.items() if k not in step_names}

    def decorate(func: Callable[..., Any]) -> Any:
        step = steps.step(base, **step_settings)(func)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            return step(*args, **kwargs)

        run.step = step  # type: ignore[attr-defined]
        return prefect_task(**task_options)(run)

    return decorate


def _prefect_task() -> Any:
    try:
        from prefect import task as prefect_task  # noqa: PLC0415 - optional: amber-env[prefect]
    except ImportError:
        raise AmberError("amber.prefect needs Prefect: pip install 'amber-env[prefect]'") from None
    return prefect_task

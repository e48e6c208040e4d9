"""Benchmarks 20 and 21's driver: a step's round trip inside an orchestrator, with and without
Amber, in one process.

    python bench/engine_call.py prefect|ray REPS WORKDIR     (AMBER_HOME from the environment)

The same small task (sum a list) as a plain engine task and as an Amber step in a warm env
(prepared untimed, then two warm-up calls each way), called alternately, the order flipping
each round. Prefect: inside one flow on Prefect's temporary local server, each call a task
call (its run recorded by the server). Ray: on a local Ray instance (2 CPUs), each call
``ray.get`` of one task; Amber's steps go through ``amber.ray`` with a directory as the
remote store, so the first call hydrates the env in a worker (untimed warm-up).
Prints one JSON object: the samples in seconds and the untimed figures.
"""

import json
import sys
import time
from pathlib import Path

import amber

SIX = amber.Env(pypi=["six==1.17.0"])


def body(rows, extra):
    return {"rows": len(rows), "total": sum(rows) + extra}


ARGS = (list(range(100)), 1)
EXPECTED = {"rows": 100, "total": 4951}


def alternate(calls, reps):
    samples = {name: [] for name in calls}
    for i in range(reps):
        for name in list(calls)[:: 1 if i % 2 == 0 else -1]:
            t0 = time.perf_counter()
            value = calls[name]()
            samples[name].append(time.perf_counter() - t0)
            assert value == EXPECTED, value
    return samples


def prefect_side(reps):
    from prefect import flow, task

    import amber.prefect

    plain = task(name="plain")(body)
    stepped = amber.prefect.task(SIX, name="amber")(body)
    started = time.perf_counter()
    stepped.fn.step.prepare()  # the warm env: built here, untimed
    prepare_s = time.perf_counter() - started

    @flow
    def measure():
        calls = {"amber": lambda: stepped(*ARGS), "plain": lambda: plain(*ARGS)}
        for _ in range(2):
            for call in calls.values():
                call()
        return alternate(calls, reps)

    started = time.perf_counter()
    samples = measure()
    return {**samples, "prepare": prepare_s, "flow": time.perf_counter() - started}


def ray_side(reps, work):
    import ray

    import amber.ray

    stepped = amber.step(SIX)(body)
    plain = ray.remote(body)
    remote = (work / "remote").as_uri()
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - started
    started = time.perf_counter()
    assert ray.get(amber.ray.submit(stepped, *ARGS, remote=remote)) == EXPECTED
    first_s = time.perf_counter() - started  # lock, push, hydrate in a worker, call
    calls = {
        "amber": lambda: ray.get(amber.ray.submit(stepped, *ARGS, remote=remote)),
        "plain": lambda: ray.get(plain.remote(*ARGS)),
    }
    for _ in range(2):
        for call in calls.values():
            call()
    samples = alternate(calls, reps)
    ray.shutdown()
    return {**samples, "init": init_s, "first": first_s}


if __name__ == "__main__":
    engine, reps, work = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    out = prefect_side(reps) if engine == "prefect" else ray_side(reps, work)
    print("RESULT " + json.dumps(out))

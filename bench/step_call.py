"""Benchmark 4's driver: one process calls a step again and again, as a pipeline does.

    python bench/step_call.py REPS          (AMBER_HOME from the environment)

Prepares a small PyPI-only step env (untimed), warms up, then alternates a step call
with the same call done by hand: cloudpickle the function and its arguments to a file,
``subprocess.run([ENV/bin/python, '-c', WORKER, payload, result])``, load the result.
Prints one JSON object: the samples in seconds and what the untimed checks found.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import cloudpickle

import amber

# The least a worker can do: load (function, args, kwargs), call, store the outcome.
WORKER = """\
import sys, cloudpickle
with open(sys.argv[1], "rb") as f:
    func, args, kwargs = cloudpickle.load(f)
value = func(*args, **kwargs)
with open(sys.argv[2], "wb") as f:
    cloudpickle.dump(("ok", value), f, protocol=5)
"""


@amber.step(amber.Env(pypi=["six==1.17.0"]))
def merge(rows, extra):
    import six

    return {"rows": len(rows), "total": sum(rows) + extra, "six": six.__version__}


def by_hand(python, func, *args, **kwargs):
    with tempfile.TemporaryDirectory(prefix="bench-plain-") as tmp:
        payload, result = os.path.join(tmp, "payload.pkl"), os.path.join(tmp, "result.pkl")
        with open(payload, "wb") as f:
            cloudpickle.dump((func, args, kwargs), f, protocol=5)
        subprocess.run([python, "-c", WORKER, payload, result], check=True)
        with open(result, "rb") as f:
            kind, value = cloudpickle.load(f)
    assert kind == "ok", kind
    return value


def main(reps):
    started = time.perf_counter()
    env = merge.prepare()
    prepare_s = time.perf_counter() - started
    python = str(env.python)
    args = (list(range(100)), 1)
    expected = {"rows": 100, "total": 4951, "six": "1.17.0"}
    for _ in range(2):  # warm-up: the page cache, cloudpickle's imports, the run record
        assert merge(*args) == expected
        assert by_hand(python, merge.func, *args) == expected
    samples = {"amber": [], "plain": []}
    calls = {"amber": lambda: merge(*args), "plain": lambda: by_hand(python, merge.func, *args)}
    for i in range(reps):  # alternating, the order flipping each round
        for name in list(calls)[:: 1 if i % 2 == 0 else -1]:
            t0 = time.perf_counter()
            value = calls[name]()
            samples[name].append(time.perf_counter() - t0)
            assert value == expected, value
    t0 = time.perf_counter()
    subprocess.run([python, "-c", "pass"], check=True)
    bare_s = time.perf_counter() - t0
    print(json.dumps({**samples, "prepare": prepare_s, "bare": bare_s, "python": python,
                      "full_id": env.full_id}))  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]))

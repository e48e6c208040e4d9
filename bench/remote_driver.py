"""Benchmarks 8 and 9's driver: one cold hydrate, or one push, in a process of its own.

    python bench/remote_driver.py hydrate --lock LOCK                (from the lock's own URLs)
    python bench/remote_driver.py hydrate --remote URL --ref NAME:TAG (from a remote store)
    python bench/remote_driver.py push --remote URL --lock LOCK --tag NAME:TAG

AMBER_HOME (and, for ``s3://``, the AWS variables) from the environment. ``hydrate``: with
``--lock``, ``hydrate(Lock.read(LOCK), Store())``, packages from the URLs in the lock (rattler
downloads them); with ``--remote``, what a cold machine does with a name: ``Remote.pull(REF,
store)`` (the tag, then the lock), then ``hydrate(lock, store, fetch=remote.fetch_into(store))``,
every package from the remote. ``push``: ``Remote.open(URL).push(lock, Store(), tags=[TAG])``.
Run as a subprocess and timed from outside by bench_remote.py (start-up included, as for the
CLI); prints one JSON object with the phases timed inside: importing Amber's modules, for S3
importing s3fs and creating the S3 client (separately, before the rest), then the pull, the
hydrate (fetching from the remote included, and timed apart) or the push.
"""

import argparse
import json
import time

T0 = time.perf_counter()

from amber.hydrate import hydrate  # noqa: E402
from amber.lock import Lock  # noqa: E402
from amber.remote import Remote  # noqa: E402
from amber.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["hydrate", "push"])
    parser.add_argument("--lock")
    parser.add_argument("--remote")
    parser.add_argument("--ref")
    parser.add_argument("--tag")
    args = parser.parse_args()
    out: dict = {"imports": time.perf_counter() - T0, "s3fs": 0.0, "client": 0.0}
    remote = Remote.open(args.remote) if args.remote else None
    if remote is not None and remote.url.startswith("s3://"):
        start = time.perf_counter()
        import s3fs  # noqa: F401  (what Amber imports to talk to S3)

        out["s3fs"] = time.perf_counter() - start
        start = time.perf_counter()
        remote.objects.fs.connect()  # the S3 client (botocore's models, endpoints): no request
        out["client"] = time.perf_counter() - start
    store = Store()
    if args.mode == "push":
        lock = Lock.read(args.lock)
        name, _, tag = args.tag.partition(":")
        start = time.perf_counter()
        result = remote.push(lock, store, tags=[(name, tag)])
        out["push"] = time.perf_counter() - start
        out["result"] = {
            "uploaded": result.uploaded,
            "uploaded_bytes": result.uploaded_bytes,
            "present": result.present,
            "lock_uploaded": result.lock_uploaded,
            "tags": list(result.tags),
        }
        print(json.dumps(out))
        return
    start = time.perf_counter()
    fetch, fetched = None, []
    if remote is not None:
        lock = remote.pull(args.ref, store)
        out["pull"] = time.perf_counter() - start
        into = remote.fetch_into(store)

        def fetch(packages: list) -> None:
            begin = time.perf_counter()
            into(packages)
            fetched.append((len(packages), time.perf_counter() - begin))

    else:
        lock = Lock.read(args.lock)
    begin = time.perf_counter()
    env = hydrate(lock, store, fetch=fetch)
    out["hydrate"] = time.perf_counter() - begin  # fetching from the remote included
    out["fetch"] = sum(t for _, t in fetched)
    out["fetched"] = sum(n for n, _ in fetched)
    out["env"] = str(env.path)
    out["wall"] = time.perf_counter() - T0
    print(json.dumps(out))


if __name__ == "__main__":
    main()

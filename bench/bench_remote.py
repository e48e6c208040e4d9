"""Benchmarks 8 and 9: the remote store (issue 6), run by run_benchmarks.py beside 1-7.

8. A cold machine (empty AMBER_HOME: no archives, no rattler or uv cache) hydrates one
   conda-only env from a remote store, against the same env hydrated from the HTTP test
   channel it was locked from. Both on loopback: an S3 server (moto) on 127.0.0.1, and a
   ``file://`` remote as a second figure.
9. Pushing an env whose packages are already in the remote (same lock, new tag), against
   the first push of it into an empty remote.

Every hydrate and push runs in a fresh process of its own (``remote_driver.py``, or the
``amber`` CLI) and is timed from outside, start-up included. Figures only: nothing here
asserts on a time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from common import Figure, ms, run, spread
from remote_fixtures import MotoServer

HERE = Path(__file__).resolve().parent
DRIVER = str(HERE / "remote_driver.py")
AMBER = str(Path(sys.executable).with_name("amber"))
NAME = "bench"


class CountingMoto(MotoServer):
    """The tests' moto S3 server on 127.0.0.1, counting the requests it answers by kind."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self._counting = threading.Lock()

    def _guard(self, app):
        inner = super()._guard(app)

        def counting(environ, start_response):
            method, query = environ["REQUEST_METHOD"], environ.get("QUERY_STRING", "")
            kind = "LIST" if method == "GET" and "list-type" in query else method
            with self._counting:
                self.counts[kind] += 1
            return inner(environ, start_response)

        return counting

    def snapshot(self) -> Counter[str]:
        with self._counting:
            return Counter(self.counts)


def s3_environ(endpoint: str) -> dict[str, str]:
    """The AWS chain pointed at the moto server with dummy credentials (as the tests do)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                        "AWS_ENDPOINT_URL_S3")}  # fmt: skip
    env.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/nonexistent/aws/config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws/credentials",
        AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL=endpoint,
        NO_PROXY="127.0.0.1,localhost",
    )  # fmt: skip
    return env


def cli_has(command: str) -> bool:
    """Whether the installed `amber` has ``command`` with a ``--remote`` option."""
    proc = subprocess.run([AMBER, command, "--help"], capture_output=True, text=True)
    return proc.returncode == 0 and "--remote" in proc.stdout


def timed_json(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, str]:
    """(seconds, stdout) of one subprocess, start-up included (it must succeed)."""
    start = time.perf_counter()
    out = run(cmd, cwd, env)
    return time.perf_counter() - start, out


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative, without Amber's own ``.amber/``."""
    paths = (p.relative_to(root) for p in root.rglob("*"))
    return {str(p) for p in paths if p.parts[0] != ".amber"}


def fmt_counts(counts: Counter[str]) -> str:
    order = ["HEAD", "GET", "LIST", "PUT", "POST", "DELETE"]
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k)) or "none"


def listen_backlog(channel, size: int) -> None:
    """Set the listen backlog of the channel's HTTP server (``listen(2)`` again on its socket).

    ``tests/condapkgs.py`` serves with ``http.server.ThreadingHTTPServer``, whose backlog is
    socketserver's default of 5: when rattler opens more connections than that at once, the
    kernel drops the extra SYNs and the client sends them again after 1 s. A real channel
    (a CDN) takes them all; 128 is werkzeug's (so moto's) backlog."""
    channel.server.socket.listen(size)


def listen_overflows() -> int:
    """The kernel's count of connections dropped for a full listen queue (all sockets of the
    machine; 0 where there is no /proc/net/netstat)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return 0
    rows = [line.split() for line in lines if line.startswith("TcpExt:")]
    return int(dict(zip(rows[0], rows[1], strict=True)).get("ListenOverflows", 0))


def med(values) -> float:
    return statistics.median(list(values))


class Remotes:
    """The two remote stores of 8 and 9 (an S3 bucket on moto, a directory), and how to run
    a subprocess against each."""

    def __init__(self, work: Path, server: CountingMoto) -> None:
        import boto3

        self.server = server
        self.bucket = f"amber-bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing",
                     ).create_bucket(Bucket=self.bucket)  # fmt: skip
        self.directory = work / "remote-dir"
        self.directory.mkdir()
        self.s3_env = s3_environ(server.endpoint)

    def url(self, kind: str, prefix: str) -> str:
        if kind == "s3":
            return f"s3://{self.bucket}/{prefix}"
        return (self.directory / prefix).as_uri()

    def environ(self, kind: str, home: Path) -> dict[str, str]:
        base = self.s3_env if kind == "s3" else dict(os.environ)
        return {**base, "AMBER_HOME": str(home)}


def objects_under(path: Path) -> set[str]:
    """The objects of a ``file://`` remote (not temp files of writes in progress)."""
    return {str(p.relative_to(path)) for p in path.rglob("*")
            if p.is_file() and not p.name.startswith(".")}  # fmt: skip


def push(remotes: Remotes, kind: str, prefix: str, lock: Path, home: Path, tag: str,
         cli: bool = False) -> dict:  # fmt: skip
    """One push in a fresh process (the driver's, or with ``cli`` `amber push`): its JSON (the
    driver's), its wall time, the S3 requests it made or the objects it added."""
    url = remotes.url(kind, prefix)
    before = remotes.server.snapshot()
    files = objects_under(remotes.directory / prefix) if kind == "file" else set()
    if cli:
        cmd = [AMBER, "push", "-q", str(lock), "--tag", tag, "--remote", url]
    else:
        cmd = [sys.executable, DRIVER, "push", "--remote", url, "--lock", str(lock), "--tag", tag]
    wall, out = timed_json(cmd, remotes.environ(kind, home))
    got = {} if cli else json.loads(out)
    got["wall"] = wall
    if kind == "s3":
        got["requests"] = remotes.server.snapshot() - before
    else:
        got["new_objects"] = len(objects_under(remotes.directory / prefix) - files)
    return got


# -- 8 ---------------------------------------------------------------------------------------


def bench_cold_hydrate(work: Path, remotes: Remotes, channel, lock: Path, project: Path,
                       reps: int) -> list[Figure]:  # fmt: skip
    """8. Cold hydrate from the remote (S3 and file://) vs from the HTTP channel."""
    from amber._platform import host_platform
    from amber.lock import Lock

    conda = Lock.read(lock).for_platform(host_platform()).conda
    n_packages, megabytes = len(conda), sum(p.size or 0 for p in conda) / 1e6
    cold = work / "cold"
    sides = {
        "s3": [sys.executable, DRIVER, "hydrate", "--remote", remotes.url("s3", "shared"),
               "--ref", f"{NAME}:v1"],
        "file": [sys.executable, DRIVER, "hydrate", "--remote", remotes.url("file", "shared"),
                 "--ref", f"{NAME}:v1"],
        "channel": [sys.executable, DRIVER, "hydrate", "--lock", str(lock)],
        "cli": [AMBER, "install", "-q", "-f", str(lock)],
        "backlog-5": [sys.executable, DRIVER, "hydrate", "--lock", str(lock)],
    }  # fmt: skip
    if cli_has("pull"):  # the same through the CLI, once it has `amber pull`
        for kind in ("s3", "file"):
            url = remotes.url(kind, "shared")
            sides[f"pull-{kind}"] = [AMBER, "pull", "-q", f"{NAME}:v1", "--remote", url]
    samples: dict[str, list[float]] = {k: [] for k in sides}
    inside: dict[str, list[dict]] = {k: [] for k in sides}
    channel_requests: dict[str, int] = Counter()
    overflows: dict[str, int] = Counter()
    s3_requests: list[Counter[str]] = []
    trees: dict[str, set[str]] = {}
    works = True
    for i in range(reps):  # the order flips each round
        for side in list(sides)[:: 1 if i % 2 == 0 else -1]:
            home = cold / f"{side}-{i}"  # does not exist yet: nothing cached, nothing known
            listen_backlog(channel, 5 if side == "backlog-5" else 128)
            seen, before = len(channel.requests), remotes.server.snapshot()
            dropped = listen_overflows()
            env_vars = remotes.environ("s3" if side in ("s3", "pull-s3") else "file", home)
            wall, out = timed_json(sides[side], env_vars, cwd=project)
            overflows[side] += listen_overflows() - dropped
            channel_requests[side] += len(channel.requests) - seen
            if side == "s3":
                s3_requests.append(remotes.server.snapshot() - before)
            samples[side].append(wall)
            by_cli = sides[side][0] == AMBER  # prints the env's path
            env = Path(out.strip()) if by_cli else Path(json.loads(out)["env"])
            if not by_cli:
                inside[side].append(json.loads(out))
            if i == 0 and side != "backlog-5":  # untimed checks on the first round's envs
                trees[side] = tree(env)
                check = [str(env / "bin/python"), "-c", "import greetlib, bench_pkg30"]
                works &= run(check) == ""
            shutil.rmtree(home)
    listen_backlog(channel, 128)
    same = "yes" if all(t == trees["channel"] for t in trees.values()) else "**NO**"
    fetched = sorted({o["fetched"] for side in ("s3", "file") for o in inside[side]})
    remote_sides = [k for k in sides if k in ("s3", "file", "pull-s3", "pull-file")]
    to_remotes = sum(channel_requests[k] for k in remote_sides)
    med_ = {k: med(v) for k, v in samples.items()}

    def phases(side: str) -> str:
        outs = inside[side]

        def m(key: str) -> str:
            return f"{ms(med(o[key] for o in outs)):.0f} ms"

        text = f"Amber's imports {m('imports')}"
        if side == "s3":
            text += f", importing s3fs {m('s3fs')}, creating the S3 client {m('client')}"
        if side != "channel":
            text += (f", `pull` (tag, then lock) {m('pull')}, `hydrate` {m('hydrate')} of which "
                     f"fetching the packages from the remote {m('fetch')}")  # fmt: skip
        else:
            text += f", `hydrate` {m('hydrate')}"
        return text

    figures = []
    for kind, title in (("s3", "an S3 remote (moto)"), ("file", "a `file://` remote")):
        paired = [r / c for r, c in zip(samples[kind], samples["channel"], strict=True)]
        label = (f"8{'' if kind == 's3' else 'b'}. cold hydrate ({n_packages} conda packages, "
                 f"{megabytes:.2f} MB) from {title} vs from the HTTP channel")  # fmt: skip
        notes = [
            f"{reps} rounds, order flipping, each side in a fresh process and a fresh empty "
            f"`AMBER_HOME`. Remote {spread(samples[kind])}; channel {spread(samples['channel'])}."
            f" Median of the per-round ratios: {med(paired):.2f}x. Remote - channel: "
            f"{ms(med_[kind] - med_['channel']):.0f} ms.",
            f"Inside the process (medians). Remote: {phases(kind)}. Channel: {phases('channel')}.",
        ]
        if kind == "s3":
            notes += [
                f"The channel side through the CLI instead (`amber install -q -f amber.lock`): "
                f"median {ms(med_['cli']):.0f} ms ({spread(samples['cli'])}); remote / that = "
                f"{med_['s3'] / med_['cli']:.2f}x (S3), {med_['file'] / med_['cli']:.2f}x "
                f"(`file://`)."
                + (
                    f" Both sides through the CLI (`amber pull -q {NAME}:v1 --remote URL`): "
                    f"S3 {ms(med_['pull-s3']):.0f} ms ({spread(samples['pull-s3'])}), "
                    f"{med_['pull-s3'] / med_['cli']:.2f}x `amber install`; `file://` "
                    f"{ms(med_['pull-file']):.0f} ms ({spread(samples['pull-file'])}), "
                    f"{med_['pull-file'] / med_['cli']:.2f}x."
                    if "pull-s3" in sides
                    else " (The CLI has no `amber pull` yet.)"
                ),
                f"The channel is served by the tests' `http.server` with its listen backlog "
                f"raised from 5 to 128 (as a real channel takes all of rattler's connections at "
                f"once). With the backlog of 5, rattler's extra connections wait for a SYN "
                f"retransmit (1 s): channel side median {ms(med_['backlog-5']):.0f} ms "
                f"({spread(samples['backlog-5'])}), and remote / that = "
                f"{med_['s3'] / med_['backlog-5']:.2f}x (S3), "
                f"{med_['file'] / med_['backlog-5']:.2f}x (`file://`). Connections the kernel "
                f"dropped for a full listen queue (counted machine-wide): "
                f"{overflows['backlog-5']} during the {reps} hydrates with the backlog of 5, "
                f"{overflows['channel'] + overflows['cli']} during the {2 * reps} with 128.",
                f"S3 requests per remote hydrate: {fmt_counts(s3_requests[0])}. Packages "
                f"fetched from the remote per hydrate: {', '.join(map(str, fetched))} (of "
                f"{n_packages}). Requests to the HTTP channel (up, reachable) during the remote "
                f"hydrates: {to_remotes} (none needed); "
                f"during each channel hydrate: {channel_requests['channel'] // reps}.",
                f"All {len(trees)} ways give the same files (but `.amber/`): {same}; the env "
                f"imports its packages: {'yes' if works else '**NO**'}.",
            ]
        figures.append(Figure(label, samples[kind], samples["channel"], None, True, notes))
    return figures


# -- 9 ---------------------------------------------------------------------------------------


def bench_push_again(remotes: Remotes, lock: Path, laptop: Path, reps: int,
                     first: dict[str, dict]) -> list[Figure]:  # fmt: skip
    """9. Push of an env whose packages are all in the remote (new tag) vs its first push."""
    runs: dict[str, dict[str, list[dict]]] = {}
    by_cli = cli_has("push")
    for kind in ("s3", "file"):
        runs[kind] = {"cold": [], "warm": [], "cli": []}
        for i in range(reps):  # a new, empty prefix each round: its first push is cold
            prefix = f"push-{i}"
            runs[kind]["cold"].append(push(remotes, kind, prefix, lock, laptop, f"{NAME}:v1"))
            runs[kind]["warm"].append(push(remotes, kind, prefix, lock, laptop, f"{NAME}:v2"))
            if by_cli:  # and once more through the CLI, once it has `amber push`
                again = push(remotes, kind, prefix, lock, laptop, f"{NAME}:v3", cli=True)
                runs[kind]["cli"].append(again)
    figures = []
    for kind, title in (("s3", "an S3 remote (moto)"), ("file", "a `file://` remote")):
        cold, warm = runs[kind]["cold"], runs[kind]["warm"]
        results = {json.dumps(w["result"], sort_keys=True) for w in warm}
        w = warm[0]["result"]
        only_tag = all(
            o["result"]["uploaded"] == 0 and not o["result"]["lock_uploaded"]
            and (o["requests"]["PUT"] == 1 if kind == "s3" else o["new_objects"] == 1)
            for o in warm
        )  # fmt: skip
        c = cold[0]["result"]
        if kind == "s3":
            wrote = (f"S3 requests of the push again: {fmt_counts(warm[0]['requests'])}; "
                     f"of the first push: {fmt_counts(cold[0]['requests'])}")  # fmt: skip
        else:
            wrote = (f"objects written by the push again: {warm[0]['new_objects']}; by the "
                     f"first push: {cold[0]['new_objects']}")  # fmt: skip
        label = (f"9{'' if kind == 's3' else 'b'}. push again, new tag, every package already "
                 f"in {title} vs the first push")  # fmt: skip
        notes = [
            f"{reps} rounds, each into a new empty prefix: first push (tag `{NAME}:v1`), then the "
            f"same lock again (tag `{NAME}:v2`); each in a fresh process (modules imported before "
            f"the clock inside, the process timed from outside). Push again "
            f"{spread([o['wall'] for o in warm])}; first push {spread([o['wall'] for o in cold])}."
            f" Inside the process (medians): `push` again {ms(med(o['push'] for o in warm)):.0f} "
            f"ms, first `push` {ms(med(o['push'] for o in cold)):.0f} ms"
            + (
                f", after importing s3fs ({ms(med(o['s3fs'] for o in cold + warm)):.0f} ms) and "
                f"creating the S3 client ({ms(med(o['client'] for o in cold + warm)):.0f} ms)"
                if kind == "s3"
                else ""
            )
            + ".",
            f"Push again: `PushResult(uploaded={w['uploaded']}, present={w['present']}, "
            f"lock_uploaded={w['lock_uploaded']}, tags={tuple(w['tags'])})`"
            f"{' in every round' if len(results) == 1 else ' (**varies between rounds**)'}; "
            f"first push: uploaded={c['uploaded']} ({c['uploaded_bytes'] / 1e6:.2f} MB), "
            f"present={c['present']}, lock_uploaded={c['lock_uploaded']}. {wrote}. Only the "
            f"tag written: {'yes' if only_tag else '**NO**'}.",
        ]
        if by_cli:
            cli = runs[kind]["cli"]
            wrote_cli = (fmt_counts(cli[0]["requests"]) + " requests" if kind == "s3"
                         else f"{cli[0]['new_objects']} object(s) written")  # fmt: skip
            notes.append(
                f"The same push again through the CLI (`amber push -q amber.lock --tag "
                f"{NAME}:v3 --remote URL`), after each push again: median "
                f"{ms(med(o['wall'] for o in cli)):.0f} ms ({spread([o['wall'] for o in cli])}), "
                f"{wrote_cli}."
            )
        else:
            notes.append("(The CLI has no `amber push` yet.)")
        if kind == "s3":
            f = first["s3"]
            notes.append(
                f"The very first push of this env (untimed by the rounds: its packages were not "
                f"yet in the pushing store's archive store, so it downloaded them from the HTTP "
                f"channel first) took {ms(f['wall']):.0f} ms to S3, "
                f"{ms(first['file']['wall']):.0f} ms to the directory."
            )
        verdict = "PASS" if only_tag else "FAIL"  # the check decides, not a time
        walls = [o["wall"] for o in warm], [o["wall"] for o in cold]
        figures.append(Figure(label, *walls, None, True, notes, verdict=verdict))
    return figures


# -- both ------------------------------------------------------------------------------------


def bench_remote(work: Path, channel, conda: list[str], reps: int, push_reps: int,
                 only: set[int]) -> list[Figure]:  # fmt: skip
    """8 and 9 (those of them in ``only``): one conda-only env, locked against ``channel``."""
    project = work / "remote-project"
    project.mkdir()
    lines = ["name: bench-remote", "channels:", f"  - {channel}", "dependencies:"]
    (project / "environment.yml").write_text("\n".join(lines + [f"  - {s}" for s in conda]) + "\n")
    listen_backlog(channel, 128)
    run([AMBER, "lock", "-q", "-f", "environment.yml"], project)
    lock = project / "amber.lock"
    server = CountingMoto()
    server.start()
    try:
        remotes = Remotes(work, server)
        laptop = work / "remote-laptop"  # the pushing machine: it has never installed the env
        # Untimed: the first pushes fill `shared` (what 8 hydrates from) and the laptop's
        # archive store (the S3 push downloads the archives from the channel first).
        first = {kind: push(remotes, kind, "shared", lock, laptop, f"{NAME}:v1")
                 for kind in ("s3", "file")}  # fmt: skip
        figures = []
        if 8 in only:
            figures += bench_cold_hydrate(work, remotes, channel, lock, project, reps)
        if 9 in only:
            figures += bench_push_again(remotes, lock, laptop, push_reps, first)
        return figures
    finally:
        server.stop()

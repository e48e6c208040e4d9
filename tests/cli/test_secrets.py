"""Credentials written into a spec reach no file Amber writes and no message it prints.

The spec names a channel and a wheel served by loopback servers that want them
(``https://user:pw@host/chan::pkg`` in environment.yml, ``pkg @ https://u:${TOKEN}@host/...``
in requirements.txt); every command that writes something runs; then every file under
AMBER_HOME, the project, the remote store and every archive (decompressed), and every
message, is searched for the secrets.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import condapkgs
import pytest
from helpers import files_containing, tiny_wheel, write

USER, PASSWORD, TOKEN = "amber-user", "pw-5ecret-8e1f", "tok-5ecret-41ab"


def _needles(*secrets: str) -> list[bytes]:
    """The secrets, and the basic-auth header values that carry them."""
    out = [s.encode() for s in secrets]
    for secret in secrets:
        out.append(base64.b64encode(f"{USER}:{secret}".encode()))
    return out


def _auth_file(tmp_path: Path, kind: str, secret: str) -> dict[str, str] | None:
    """Commands given an env, not the spec, find credentials where rattler keeps them
    (it has no place for a ``?token=``: those serve only commands that read the spec)."""
    if kind == "query":
        return None
    entry = (
        {"CondaToken": secret}
        if kind == "token"
        else {"BasicHTTP": {"username": USER, "password": secret}}
    )
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"127.0.0.1": entry}))
    return {"RATTLER_AUTH_FILE": str(auth)}


def _every_command(
    amber, spec: Path, tmp_path: Path, env: dict[str, str], stored: dict[str, str] | None
) -> list[str]:
    """Run everything that writes a file or prints a URL; return what it printed."""
    project, out = spec.parent, tmp_path / "out"
    out.mkdir()
    printed = []

    def run(*args: object) -> str:
        needs_store = args[0] == "push" or "--packages" in args
        done = amber(*args, cwd=project, env={**env, **(stored if needs_store else {})})
        printed.append(done.stdout + done.stderr)
        assert done.returncode == 0, done
        return done.stdout

    run("lock", "-f", spec)
    prefix = Path(run("install", "-f", spec).strip())
    run("run", "-f", spec, "--", "python", "-c", "import sys; print(sys.prefix)")
    run("env", "show", "--json", prefix.name)
    run("env", "show", prefix.name)
    run("env", "list")
    for fmt in ("environment.yml", "explicit", "conda-lock", "pixi", "requirements", "pylock",
                "cyclonedx"):  # fmt: skip
        done = amber("export", spec.parent / "amber.lock", "--format", fmt,
                     "-o", out / f"export-{fmt}", cwd=project, env=env)  # fmt: skip
        printed.append(done.stdout + done.stderr)
    run("verify", prefix.name)
    run("pack", prefix, "-o", out / "env.tar")
    run("pack", prefix, "-o", out / "env.zip")
    run("unpack", out / "env.tar", out / "unpacked")
    if stored is not None:
        run("pack", "--packages", prefix, "-o", out / "bundle.tar")
        run("env", "tag", prefix.name, "demo:v1")
        run("push", "demo:v1", "--remote", (tmp_path / "remote").as_uri())
    return printed


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_channel_credentials_never_persist(
    amber, amber_home: Path, conda_channel: Path, tmp_path: Path, kind: str
) -> None:
    env = {"RATTLER_AUTH_FILE": str(tmp_path / "none.json"), "NETRC": str(tmp_path / "none")}
    auth = {"basic_auth": (USER, PASSWORD)} if kind == "basic" else {"token": PASSWORD}
    with condapkgs.serve_directory(conda_channel, **auth) as url:
        if kind == "basic":  # https://user:pw@host/chan
            authed = url.replace("http://", f"http://{USER}:{PASSWORD}@")
        else:  # https://host/t/<token>/chan
            authed = f"{url}/t/{PASSWORD}"
        spec = write(
            tmp_path / "project" / "environment.yml",
            f"name: demo\nchannels: ['{authed}']\ndependencies: [python, '{authed}::greetlib']\n",
        )
        stored = _auth_file(tmp_path, kind, PASSWORD)
        printed = _every_command(amber, spec, tmp_path, env, stored)
    roots = [amber_home, spec.parent, tmp_path / "remote", tmp_path / "out"]
    found = files_containing(roots, _needles(PASSWORD))
    assert [f for f in found if not f.startswith(f"{spec}: ")] == []  # but the user's own
    assert [m for m in printed if PASSWORD in m] == []


@pytest.mark.parametrize("kind", ["basic", "query"])
def test_index_credentials_from_a_variable_never_persist(
    amber, amber_home: Path, tmp_path: Path, kind: str
) -> None:
    wheels = tmp_path / "wheels"
    tiny_wheel(wheels, "greetwheel", "1.0", "def hello():\n    return 'hello'\n")
    env = {"AMBER_TEST_TOKEN": TOKEN, "RATTLER_AUTH_FILE": str(tmp_path / "none.json"),
           "NETRC": str(tmp_path / "none")}  # fmt: skip
    auth = {"basic_auth": (USER, TOKEN)} if kind == "basic" else {"query_token": TOKEN}
    with condapkgs.serve_directory(wheels, **auth) as url:
        wheel = f"{url}/greetwheel-1.0-py3-none-any.whl"
        if kind == "basic":  # pkg @ https://u:${TOKEN}@host/...
            wheel = wheel.replace("http://", f"http://{USER}:${{AMBER_TEST_TOKEN}}@")
        else:  # pkg @ https://host/...?token=${TOKEN}
            wheel += "?token=${AMBER_TEST_TOKEN}"
        spec = write(tmp_path / "project" / "requirements.txt", f"greetwheel @ {wheel}\n")
        stored = _auth_file(tmp_path, kind, TOKEN)
        printed = _every_command(amber, spec, tmp_path, env, stored)
        code = "import greetwheel; print(greetwheel.hello())"
        ran = amber("run", "-f", spec, "--", "python", "-c", code, cwd=spec.parent, env=env)
        assert ran.stdout.strip() == "hello", ran
    roots = [amber_home, spec.parent, tmp_path / "remote", tmp_path / "out"]
    assert files_containing(roots, _needles(TOKEN)) == []
    assert [m for m in printed if TOKEN in m] == []


def test_a_bad_line_never_echoes_the_expanded_variable(amber, tmp_path: Path) -> None:
    env = {"AMBER_TEST_TOKEN": TOKEN}
    for line in (
        "greetwheel @ http://u:${AMBER_TEST_TOKEN}@127.0.0.1:9/x.whl --install-option=x",
        "greet wheel @ http://u:${AMBER_TEST_TOKEN}@127.0.0.1:9/x.whl",
        "--find-links http://u:${AMBER_TEST_TOKEN}@127.0.0.1:9/",
    ):
        spec = write(tmp_path / "requirements.txt", line + "\n")
        done = amber("lock", "-f", spec, env=env)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done
        assert TOKEN not in done.stdout + done.stderr, done
        assert "AMBER_TEST_TOKEN" in done.stderr or "requirements.txt" in done.stderr
    assert json.dumps(files_containing([tmp_path], _needles(TOKEN))) == "[]"

"""Channels that need credentials: install, push and pack use the ones resolve uses.

The credentials live where rattler and pixi look for them (``RATTLER_AUTH_FILE``,
``~/.netrc``); the channel is served by a loopback server that refuses anyone without
them (HTTP basic auth, or anaconda.org's ``/t/<token>/`` path segment).
"""

from __future__ import annotations

import json
from pathlib import Path

import condapkgs
import pytest
from helpers import conda_spec

USER, PASSWORD, TOKEN = "amber-user", "pw-9f2c41", "tk-7d1e0b"


def _credentials(kind: str, tmp_path: Path) -> dict[str, str]:
    """The environment that gives Amber (through rattler's storage or netrc) the secret."""
    if kind == "netrc":
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
        netrc.chmod(0o600)
        return {"NETRC": str(netrc), "RATTLER_AUTH_FILE": str(tmp_path / "no-auth.json")}
    entry = (
        {"BasicHTTP": {"username": USER, "password": PASSWORD}}
        if kind == "basic"
        else {"CondaToken": TOKEN}
    )
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"127.0.0.1": entry}))
    return {"RATTLER_AUTH_FILE": str(auth), "NETRC": str(tmp_path / "no-netrc")}


@pytest.mark.parametrize("kind", ["basic", "netrc", "token"])
def test_install_push_and_pack_from_an_authenticated_channel(
    amber, conda_channel: Path, tmp_path: Path, kind: str
) -> None:
    (tmp_path / "no-auth.json").write_text("{}")
    env = _credentials(kind, tmp_path)
    served = condapkgs.serve_directory(
        conda_channel,
        basic_auth=(USER, PASSWORD) if kind != "token" else None,
        token=TOKEN if kind == "token" else None,
    )
    with served as url:
        spec = conda_spec(tmp_path / "project", url, "python", "greetlib")
        refused = amber(
            "lock",
            "-f",
            spec,
            env={
                "RATTLER_AUTH_FILE": str(tmp_path / "no-auth.json"),
                "NETRC": str(tmp_path / "no-netrc"),
            },
        )
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused

        installed = amber("install", "-f", spec, env=env, check=True)
        prefix = Path(installed.stdout.strip())
        greet = amber("run", "--env", prefix.name, "--", "greet", env=env, check=True)
        assert greet.stdout.strip() == "hello from greetlib"

        remote = (tmp_path / "remote").as_uri()
        amber("env", "tag", prefix.name, "demo:v1", env=env, check=True)
        amber("push", "demo:v1", "--remote", remote, env=env, check=True)
        pushed = {p.name for p in (tmp_path / "remote" / "pkgs").iterdir()}
        assert len(pushed) >= 3, pushed  # python, greetlib, libfoo: downloaded by push

        bundle = tmp_path / "bundle.tar"
        amber("pack", "--packages", prefix, "-o", bundle, env=env, check=True)
        assert bundle.stat().st_size > 0

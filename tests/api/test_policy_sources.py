"""Where the policy comes from: the organisation's (``$AMBER_POLICY``, the settings'),
the project's over it, ``extends`` by path, by URL (a real HTTP server on 127.0.0.1) and
from the remote store, and conda's allow/deny lists as a source rule."""

from __future__ import annotations

from pathlib import Path

import condapkgs
import pytest
from helpers import conda_environ, write

from amber.api import Session
from amber.api.policy import policy_for
from amber.errors import PolicyError
from amber.settings import Settings

ORG = '[[bans]]\nid = "no-telnet"\nname = "telnetlib3"\nreason = "plain text"\n'


def _session(tmp_path: Path, **environ: str) -> Session:
    env = conda_environ(tmp_path / "user", AMBER_HOME=str(tmp_path / "home"), **environ)
    return Session.open(settings=Settings.from_environ(env), quiet=True)


def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The settings files are read relative to the current directory and $HOME.
    for key, value in conda_environ(tmp_path / "user").items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)


def test_extends_over_http_and_the_remote_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = write(tmp_path / "www" / "org.toml", ORG)
    remote = tmp_path / "remote"
    write(remote / "policies" / "base.toml", '[cooldown]\ndays = 5\nreason = "settle"\n')
    with condapkgs.serve_directory(served.parent) as url:
        project = write(
            tmp_path / "proj" / "amber-policy.toml",
            f'extends = ["{url}/org.toml", "remote:policies/base.toml"]\n'
            '[licenses]\ndeny = ["GPL-*"]\n',
        )
        session = _session(tmp_path, AMBER_REMOTE=remote.as_uri())
        _isolate(tmp_path, monkeypatch)
        policy = policy_for(session, project.parent / "environment.yml")
    assert policy is not None
    assert [b.id for b in policy.bans] == ["no-telnet"]
    assert policy.cooldown.days == 5 and policy.licenses.deny == ("GPL-*",)
    missing = write(tmp_path / "p2" / "amber-policy.toml", 'extends = ["remote:nope.toml"]\n')
    with pytest.raises(PolicyError, match="remote:nope.toml: no such object"):
        policy_for(_session(tmp_path, AMBER_REMOTE=remote.as_uri()), missing)


def test_organisation_under_project_and_condarc_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "org" / "org.toml", ORG + "[cooldown]\ndays = 3\n")
    settings = write(tmp_path / "org" / "config.toml", 'policy = "org.toml"\n')
    write(tmp_path / ".condarc", "denylist_channels: [https://bad.example.org/chan]\n")
    project = write(tmp_path / "proj" / "amber-policy.toml", "[cooldown]\ndays = 1\n")
    session = _session(tmp_path, AMBER_CONFIG=str(settings), CONDARC=str(tmp_path / ".condarc"))
    _isolate(tmp_path, monkeypatch)
    monkeypatch.setenv("AMBER_CONFIG", str(settings))
    monkeypatch.setenv("CONDARC", str(tmp_path / ".condarc"))
    policy = policy_for(session, project.parent / "environment.yml")
    assert policy is not None
    assert [b.id for b in policy.bans] == ["no-telnet"]  # the project cannot drop it
    assert policy.cooldown.days == 3  # nor shorten the organisation's cooldown
    rule = policy.source_refusal("conda", "https://bad.example.org/chan")
    assert rule is not None and rule.id == "condarc" and ".condarc" in rule.reason
    env_policy = _session(tmp_path, AMBER_POLICY=str(project))
    assert policy_for(env_policy, None).cooldown.days == 1

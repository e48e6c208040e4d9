"""Steps in named envs (``amber.step(env="team/proj/env:v2")``), from this store or the
remote one, and ``amber.Env(named=...)``: a named env's spec that steps extend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write

import amber
from amber import api
from amber.api.session import Session
from amber.errors import EnvNotFoundError
from amber.remote import Remote


def test_steps_in_a_named_env_and_on_a_named_base(
    amber_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @amber.step(pypi=["six==1.16.0"])
    def base_step() -> str:
        import six

        return six.__version__

    assert base_step() == "1.16.0"
    base_env = base_step.prepare()
    session = Session.open(amber_home, quiet=True)
    api.tag_env(base_env, "mlp/proj/base:v1", session=session)

    @amber.step(env="mlp/proj/base:v1")
    def named() -> str:
        import six

        return six.__version__

    assert named() == "1.16.0"
    assert named.prepare().full_id == base_env.full_id

    # The base's requested specs, the step's additions, resolved again: a real lock.
    flow_base = amber.Env(named="mlp/proj/base:v1", pypi=["idna==3.7"])
    assert "six==1.16.0" in flow_base.pypi and "idna==3.7" in flow_base.pypi

    @amber.step(flow_base, pypi=["six==1.17.0"])
    def extended() -> tuple[str, str]:
        import idna
        import six

        return six.__version__, idna.__version__

    assert extended() == ("1.17.0", "3.7")  # the step's pin wins over the base's
    assert extended.prepare().full_id != base_env.full_id

    with pytest.raises(EnvNotFoundError, match=r"no tag mlp/proj/nothing:v1 here"):
        amber.Env(named="mlp/proj/nothing:v1")

    # Another machine: the env and its tag only in the remote store.
    remote = (tmp_path / "remote").as_uri()
    lock = api.lock_for_ref("mlp/proj/base:v1", session=session)
    Remote.open(remote).push(lock, session.store, tags=[("mlp/proj/base", "v1")])
    flow = write(
        tmp_path / "flow.py",
        """
        import amber

        @amber.step(env="mlp/proj/base:v1")
        def named():
            import six
            return six.__version__

        @amber.step(amber.Env(named="mlp/proj/base:v1", pypi=["idna==3.7"]))
        def extended():
            import idna, six
            return six.__version__ + " " + idna.__version__

        print(named(), extended())
        """,
    )
    other = {"AMBER_HOME": str(tmp_path / "other"), "AMBER_REMOTE": remote}
    ran = subprocess.run(
        [sys.executable, str(flow)], capture_output=True, text=True,
        env={**os.environ, **other},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["1.16.0", "1.16.0", "3.7"]

"""Errors carry what the user must fix as fields beside the message, never a credential."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from helpers import conda_spec, write

from amber import api
from amber.api.session import Session
from amber.errors import (
    CommandNotFoundError,
    EnvNotFoundError,
    LockFileError,
    SourceError,
    SpecError,
)
from amber.formats import requirements
from amber.lock import Lock
from amber.run import exec_in_env
from amber.spec import Spec, read_spec

SECRETS = ("s3cret", "tk-42", "qtoken")


@pytest.fixture
def session(tmp_path: Path) -> Session:
    return Session.open(tmp_path / "home", quiet=True)


def test_malformed_spec_names_its_file_and_line(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "environment.yml",
        """
        name: demo
        dependencies:
          - python
          - {bad: entry}
        """,
    )
    with pytest.raises(SpecError, match="unknown dependency section") as info:
        read_spec(spec)
    assert (Path(str(info.value.path)), info.value.line) == (spec, 4)


def test_bad_lock_entry_names_its_file_and_line(tmp_path: Path) -> None:
    hashed = write(
        tmp_path / "requirements.txt",
        """
        # platform: linux-64
        six==1.16.0 --hash=sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926
        idna==3.7
        """,
    )
    with pytest.raises(LockFileError, match=r"idna has no --hash") as info:
        requirements.read(hashed, uv_cache=tmp_path / "uv")
    assert (info.value.path, info.value.line) == (hashed, 3)


def test_hand_edited_lock_names_the_file_and_package(
    session: Session, conda_channel: Path, tmp_path: Path
) -> None:
    lock = api.lock(read_spec(conda_spec(tmp_path, conda_channel, "footool")), session=session)
    edited = write(
        tmp_path / "amber.lock", lock.dumps().replace("version: '1.0'", "version: '9.9'")
    )
    with pytest.raises(LockFileError, match="does not match its file") as info:
        Lock.read(edited)
    assert (info.value.path, info.value.package) == (str(edited), "footool")


def test_unknown_env_ref_is_named(session: Session) -> None:
    with pytest.raises(EnvNotFoundError, match="no environment matches 'ghost'") as info:
        api.find_env("ghost", session=session)
    assert info.value.ref == "ghost"


def test_missing_command_is_named(session: Session, conda_channel: Path, tmp_path: Path) -> None:
    env = api.env_for_file(conda_spec(tmp_path, conda_channel, "python"), session=session)
    with pytest.raises(CommandNotFoundError, match="command not found in the env") as info:
        exec_in_env(env, ["amber-no-such-command", "-v"], tmp_path / "in-use.lock")
    assert info.value.command == "amber-no-such-command"
    assert info.value.exit_code == 127


def test_unreachable_channel_is_named_without_its_credentials(session: Session) -> None:
    # Port 9 (discard) on loopback refuses: nothing listens there.
    channel = "http://user:s3cret@127.0.0.1:9/t/tk-42/demo?token=qtoken"
    spec = Spec.create(conda=["python"], channels=[channel], platforms=["linux-64"])
    with pytest.raises(SourceError) as info:
        api.lock(spec, session=session)
    url = info.value.url
    assert url is not None and url.startswith("http://127.0.0.1:9/") and url.endswith("/demo")
    assert not any(s in url for s in SECRETS)
    # The message redacts as lock files do (``amber._urls.redact``: user, password, /t/,
    # credential query parameters).
    assert not any(s in str(info.value) for s in SECRETS), str(info.value)


def test_fields_survive_pickling() -> None:
    """Step workers send errors across processes: the fields come along."""
    error = pickle.loads(pickle.dumps(EnvNotFoundError("no such env", ref="demo:v1")))
    assert (str(error), error.ref) == ("no such env", "demo:v1")
    assert SourceError("x", url="https://u:pw@host/t/tok/c?token=a").url == "https://host/c"

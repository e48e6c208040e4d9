"""The central values: ``Spec``, ``Lock`` and their parts are immutable, hashable and equal
by content; a lock read back is the lock written."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
import yaml

from amber._frozen import FrozenMap
from amber.errors import LockFileError, SpecError
from amber.lock import Lock, LockedPypi, PlatformLock
from amber.resolve import ResolveCaches, resolve
from amber.spec import Spec
from amber.store.env import Activation

_SIX = LockedPypi(
    name="six",
    version="1.16.0",
    url="https://files.pythonhosted.org/packages/d9/5a/six-1.16.0-py2.py3-none-any.whl",
    sha256="8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
)


def _pypi_lock(spec: Spec) -> Lock:
    body = PlatformLock(platform="linux-64", python="3.11", pypi=(_SIX,), provided={"six": "six"})
    return Lock(spec=spec, req_id=spec.req_id, platforms={"linux-64": body})


@pytest.fixture
def pypi_spec() -> Spec:
    return Spec.create(pypi=["six==1.16.0"], python="3.11", platforms=["linux-64"])


def test_spec_equal_by_content_and_hashable() -> None:
    a = Spec.create(pypi=["Six>=1", "attrs"], python="3.11", platforms=["osx-64", "linux-64"])
    b = Spec.create(pypi=["attrs", "six>=1"], python="3.11", platforms=["linux-64", "osx-64"])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a.req_id == b.req_id
    assert Spec.create(pypi=["attrs"]) != a


def test_spec_is_immutable_and_req_id_is_computed_once(pypi_spec: Spec) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        pypi_spec.pypi = ("attrs",)  # type: ignore[misc]
    assert isinstance(pypi_spec.pypi, tuple)
    assert pypi_spec.req_id is pypi_spec.req_id
    assert "req_id" in vars(pypi_spec)


@pytest.mark.parametrize(
    ("fields", "quoted"),
    [
        ({"conda": ["numpy >=>1"]}, "'numpy >=>1'"),
        ({"pypi": ["not a requirement!"]}, "'not a requirement!'"),
        ({"python": "three"}, "'three'"),
        ({"platforms": ["amiga-68k"]}, "'amiga-68k'"),
        ({"as_of": "last tuesday"}, "'last tuesday'"),
        ({"system_requirements": {"gpu": "1"}}, "'gpu'"),
        ({"system_requirements": {"cuda": "12 or so"}}, "'12 or so'"),
    ],
)
def test_spec_create_bad_input_raises_spec_error_quoting_it(
    fields: dict[str, object], quoted: str
) -> None:
    with pytest.raises(SpecError) as caught:
        Spec.create(**fields)  # type: ignore[arg-type]
    assert quoted in str(caught.value)


def test_spec_changes_raise_spec_error(pypi_spec: Spec) -> None:
    with pytest.raises(SpecError, match="'amiga-68k'"):
        pypi_spec.with_platforms(["amiga-68k"])
    with pytest.raises(SpecError, match="'soon'"):
        pypi_spec.with_as_of("soon")
    with pytest.raises(SpecError, match="'@@'"):
        pypi_spec.merge(Spec(pypi=("@@",)))


def test_lock_spec_is_the_spec_it_was_made_from(pypi_spec: Spec, tmp_path: Path) -> None:
    lock = _pypi_lock(pypi_spec)
    assert isinstance(lock.spec, Spec) and lock.spec == pypi_spec
    assert lock.spec.req_id == lock.req_id == pypi_spec.req_id
    path = tmp_path / "amber.lock"
    lock.write(path)
    again = Lock.read(path)
    assert again == lock and hash(again) == hash(lock)
    assert isinstance(again.spec, Spec) and again.spec == pypi_spec
    assert again.dumps() == path.read_text() and again.full_id == lock.full_id


def test_lock_spec_keeps_no_secrets() -> None:
    spec = Spec.create(
        pypi=["six==1.16.0"],
        python="3.11",
        platforms=["linux-64"],
        index_url="https://user:secret@pypi.example/simple",
    )
    lock = _pypi_lock(spec)
    assert lock.spec.index_url == "https://pypi.example/simple"
    assert lock.spec.req_id == spec.req_id
    assert "secret" not in lock.dumps() and Lock.loads(lock.dumps()) == lock


def test_lock_and_parts_are_immutable(pypi_spec: Spec) -> None:
    lock = _pypi_lock(pypi_spec)
    body = lock.platforms["linux-64"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        lock.spec = pypi_spec  # type: ignore[misc]
    with pytest.raises(TypeError):
        lock.platforms["osx-64"] = body  # type: ignore[index]
    with pytest.raises(TypeError):
        body.provided["attrs"] = "attrs"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        body.pypi[0].version = "2"  # type: ignore[misc]
    assert lock.full_id is lock.full_id and "full_id" in vars(lock)
    assert len({lock, _pypi_lock(pypi_spec), body, body.pypi[0]}) == 3


def test_lock_survives_pickling(pypi_spec: Spec) -> None:
    lock = _pypi_lock(pypi_spec)
    again = pickle.loads(pickle.dumps(lock))
    assert again == lock and hash(again) == hash(lock) and again.dumps() == lock.dumps()


def test_resolved_conda_lock_reads_back_equal(conda_channel_url: str, tmp_path: Path) -> None:
    spec = Spec.create(conda=["python=3.11", "greetlib"], channels=[conda_channel_url],
                       platforms=["linux-64"])  # fmt: skip
    caches = ResolveCaches(tmp_path / "repodata", tmp_path / "uv", tmp_path / "pkgs")
    lock = resolve(spec, caches)
    assert lock.spec == spec and lock.is_conda
    again = Lock.loads(lock.dumps())
    assert again == lock and hash(again) == hash(lock)
    assert {*again.platforms["linux-64"].conda} == {*lock.platforms["linux-64"].conda}


@pytest.mark.parametrize(
    "bad", [5, {"schema": 1, "conda": "numpy"}, {"schema": 1, "colour": "red"}, {"schema": 9}]
)
def test_malformed_spec_table_names_the_lock_file(
    pypi_spec: Spec, tmp_path: Path, bad: object
) -> None:
    path = tmp_path / "amber.lock"
    data = yaml.safe_load(_pypi_lock(pypi_spec).dumps())
    data["spec"] = bad
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(LockFileError, match=f"{path}: malformed 'spec' table"):
        Lock.read(path)


def test_activation_is_a_value() -> None:
    a = Activation(set={"B": "2", "A": "1"}, path_prepend=("/env/bin",))
    b = Activation(set={"A": "1", "B": "2"}, path_prepend=("/env/bin",))
    assert a == b and hash(a) == hash(b)
    assert Activation.from_json(a.to_json()) == a
    with pytest.raises(TypeError):
        a.set["C"] = "3"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.path_prepend = ()  # type: ignore[misc]


def test_frozen_map() -> None:
    m = FrozenMap({"a": 1, "b": 2})
    assert m == {"b": 2, "a": 1} and hash(m) == hash(FrozenMap([("b", 2), ("a", 1)]))
    assert m != FrozenMap({"a": 1}) and pickle.loads(pickle.dumps(m)) == m
    with pytest.raises(TypeError):
        m["c"] = 3  # type: ignore[index]
    with pytest.raises(AttributeError):
        m.extra = 1  # type: ignore[attr-defined]


def test_a_lock_makes_its_text_once(amber_home, tmp_path):
    # `amber lock` stores the lock and writes it: one YAML dump serves both.
    lock = Lock(spec=Spec.create(pypi=["six"]), req_id="r", platforms={})
    assert lock.dumps() is lock.dumps()
    lock.write(tmp_path / "a.lock")
    assert (tmp_path / "a.lock").read_text() == lock.dumps()

"""Jupyter kernels: an env with ipykernel registered, then started for real by jupyter_client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from amber import api
from amber.errors import AmberError
from amber.run.kernel import install_kernel, list_kernels, remove_kernel
from amber.spec import Spec
from amber.store import Store


@pytest.fixture(scope="module")
def kernel_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("kernel-store"))


@pytest.fixture(scope="module")
def ipykernel_env(kernel_store: Store):
    """A PyPI-only env with ipykernel (from the real PyPI)."""
    return api.install(Spec.create(pypi=["ipykernel"], name="notebooks"), kernel_store)


@pytest.fixture
def jupyter_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Jupyter data dir, and no other kernels in the way."""
    data = tmp_path / "jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    return data


def test_kernel_runs_inside_the_env(ipykernel_env, kernel_store: Store, jupyter_dir: Path):
    jupyter_client = pytest.importorskip("jupyter_client")
    from jupyter_client.kernelspec import KernelSpecManager

    env = ipykernel_env
    path = install_kernel(env, store=kernel_store)

    name = f"amber-{env.full_id[:12]}"
    assert path == jupyter_dir / "kernels" / name
    spec = json.loads((path / "kernel.json").read_text())
    assert spec["argv"][:6] == [sys.executable, "-m", "amber", "run", "--env", env.full_id]
    assert spec["argv"][6:] == [
        "--",
        "python",
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]
    assert spec["language"] == "python"
    assert spec["display_name"] == "Python {}.{} (amber: notebooks)".format(*sys.version_info)
    assert spec["metadata"]["amber"]["full_id"] == env.full_id
    assert spec["env"] == {"AMBER_HOME": str(kernel_store.home)}
    (listed,) = list_kernels()
    assert (listed.name, listed.full_id, listed.path) == (name, env.full_id, path)
    assert listed.env_exists()

    # Jupyter starts it (without AMBER_HOME of its own): it runs in the env.
    environ = {k: v for k, v in os.environ.items() if k != "AMBER_HOME"}
    ksm = KernelSpecManager(kernel_dirs=[str(jupyter_dir / "kernels")])
    km = jupyter_client.KernelManager(kernel_name=name, kernel_spec_manager=ksm)
    km.start_kernel(env=environ)
    kc = km.client()
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        out: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = kc.execute_interactive(
            "import sys; print(sys.prefix)", timeout=60, output_hook=hook
        )
        assert reply["content"]["status"] == "ok"
        assert os.path.realpath("".join(out).strip()) == os.path.realpath(env.path)
        # A running kernel holds its env: it cannot be removed under it.
        with pytest.raises(AmberError, match="in use"):
            api.remove_env(env, kernel_store)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_kernel_without_ipykernel_is_refused(kernel_store: Store, jupyter_dir: Path):
    env = api.install(Spec.create(pypi=["iniconfig==2.0.0"]), kernel_store)
    with pytest.raises(AmberError, match="no ipykernel.*add `ipykernel` to its spec"):
        install_kernel(env, store=kernel_store)
    assert not (jupyter_dir / "kernels").exists()


def test_rm_and_names(ipykernel_env, kernel_store: Store, jupyter_dir: Path):
    env = ipykernel_env
    path = install_kernel(env, "My-Analysis", "Analysis", store=kernel_store)
    assert path == jupyter_dir / "kernels" / "my-analysis"
    assert json.loads((path / "kernel.json").read_text())["display_name"] == "Analysis"
    # Installing again replaces amber's own kernel.
    assert install_kernel(env, "my-analysis", store=kernel_store) == path
    with pytest.raises(AmberError, match="invalid kernel name"):
        install_kernel(env, "no spaces", store=kernel_store)

    # A kernel that is not amber's is left alone.
    other = jupyter_dir / "kernels" / "python3"
    other.mkdir(parents=True)
    (other / "kernel.json").write_text(json.dumps({"argv": ["python"], "display_name": "Py"}))
    with pytest.raises(AmberError, match="not made by amber"):
        install_kernel(env, "python3", store=kernel_store)
    with pytest.raises(AmberError, match="not made by amber"):
        remove_kernel("python3")
    assert [k.name for k in list_kernels()] == ["my-analysis"]

    assert remove_kernel("my-analysis") == path
    assert not path.exists()
    assert list_kernels() == []
    with pytest.raises(AmberError, match="no kernel named 'my-analysis'"):
        remove_kernel("my-analysis")
    assert other.is_dir()

"""uv reaches PyPI indexes through the same network settings as the conda downloads:
``proxy_servers`` (uv's ``HTTP_PROXY``/``HTTPS_PROXY``), ``ssl_verify: <CA bundle>`` (its
``SSL_CERT_FILE``) and ``ssl_verify: false`` (its ``--allow-insecure-host`` for the hosts
Amber hands it, as pixi does), when Amber resolves and when it installs.

Against a PEP 503 index on 127.0.0.1 serving one real wheel: over HTTPS with a throwaway
CA, and over HTTP behind a loopback proxy that lists what it forwarded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import condapkgs
import pytest
from helpers import ForwardingProxy, serve_tls, tiny_wheel, tls_certificates, write

NAME = "amberuvnet"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PEP 503 simple index (``simple/<name>/``) with one wheel under ``files/``."""
    root = tmp_path_factory.mktemp("index")
    wheel = tiny_wheel(root / "files", NAME, "1.0", "ANSWER = 42\n")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    write(
        root / "simple" / NAME / "index.html",
        f'<html><body><a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a>'
        "</body></html>\n",
    )
    write(
        root / "simple" / "index.html", f'<html><body><a href="{NAME}/">{NAME}</a></body></html>\n'
    )
    return root


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return tls_certificates(tmp_path_factory.mktemp("tls"))


def _project(directory: Path, index_url: str) -> Path:
    return write(directory / "requirements.txt", f"--index-url {index_url}/simple\n{NAME}==1.0\n")


def _runs(amber, spec: Path, env: dict[str, str]) -> None:
    installed = amber("install", "-f", spec, env=env, check=True)
    prefix = Path(installed.stdout.strip())
    said = amber(
        "run", "--env", prefix.name, "--", "python", "-c", f"import {NAME}; print({NAME}.ANSWER)",
        env=env, check=True,
    )  # fmt: skip
    assert said.stdout.strip() == "42"


def test_an_index_behind_a_private_ca_is_reached_with_ssl_verify_a_bundle(
    amber, index: Path, tmp_path: Path, certificates: tuple[Path, Path, Path]
) -> None:
    ca, cert, key = certificates
    with serve_tls(index, cert, key) as url:
        spec = _project(tmp_path / "project", url)
        refused = amber("lock", "-f", spec)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused
        assert not (tmp_path / "project" / "amber.lock").exists()

        config = write(tmp_path / "amber.toml", f'ssl_verify = "{ca}"\n')
        env = {"AMBER_CONFIG": str(config)}
        amber("lock", "-f", spec, env=env, check=True)
        _runs(amber, spec, env)
        assert any(r.endswith(".whl") for r in url.requests), url.requests

        listed = amber("config", "list", "--json", env=env, check=True)
        shown = {s["key"]: s for s in json.loads(listed.stdout)}
        assert shown["uv.SSL_CERT_FILE"]["value"] == str(ca.resolve())
        assert str(config) in shown["uv.SSL_CERT_FILE"]["origin"], shown["uv.SSL_CERT_FILE"]


def test_ssl_verify_false_lets_uv_reach_the_index_unverified(
    amber, index: Path, tmp_path: Path, certificates: tuple[Path, Path, Path]
) -> None:
    _, cert, key = certificates
    with serve_tls(index, cert, key) as url:
        spec = _project(tmp_path / "project", url)
        env = {"CONDA_SSL_VERIFY": "false"}
        amber("lock", "-f", spec, env=env, check=True)
        _runs(amber, spec, env)
        listed = amber("config", "get", "uv.UV_INSECURE_HOST", "--json", env=env)
        assert listed.returncode == 0, listed


def test_proxy_servers_carry_uv_requests(amber, index: Path, tmp_path: Path) -> None:
    proxy = ForwardingProxy()
    try:
        with condapkgs.serve_directory(index) as url:
            spec = _project(tmp_path / "project", url.url)
            config = write(
                tmp_path / "amber.toml",
                f'[proxy_servers]\nhttp = "{proxy.url}"\nhttps = "{proxy.url}"\n',
            )
            env = {"AMBER_CONFIG": str(config), "NO_PROXY": "", "no_proxy": ""}
            amber("lock", "-f", spec, env=env, check=True)
            forwarded = [target for _, target in proxy.seen]
            assert any(f"/simple/{NAME}" in t for t in forwarded), forwarded
            _runs(amber, spec, env)
            forwarded = [target for _, target in proxy.seen]
            assert any(t.endswith(".whl") for t in forwarded), forwarded
            assert all(t.startswith(url.url) for t in forwarded), forwarded
            listed = amber("config", "list", "--json", env=env, check=True)
            shown = {s["key"]: s for s in json.loads(listed.stdout)}
            assert shown["uv.HTTP_PROXY"]["value"] == proxy.url
            assert str(config) in shown["uv.HTTP_PROXY"]["origin"]
    finally:
        proxy.stop()


def test_adopting_an_env_looks_its_pip_packages_up_through_the_proxy(index: Path, tmp_path: Path):
    """`amber import` of an existing env finds the release files of its pip-installed
    packages with uv: through the same proxy settings."""
    import asyncio

    from amber._frozen import FrozenMap
    from amber.inspect.adopt import _compile_each, _PipDist
    from amber.settings import Network

    proxy = ForwardingProxy()
    try:
        with condapkgs.serve_directory(index) as url:
            network = Network(proxy_servers=FrozenMap({"http": proxy.url, "https": proxy.url}))
            dist = _PipDist(NAME, "1.0", tmp_path, frozenset())
            found = asyncio.run(
                _compile_each([dist], "3.11", f"{url.url}/simple", (), tmp_path / "uv", network)
            )
            assert [f.url.rsplit("/", 1)[-1] for f in found[NAME]] == [
                f"{NAME}-1.0-py3-none-any.whl"
            ]
            forwarded = [target for _, target in proxy.seen]
            assert any(f"/simple/{NAME}" in t for t in forwarded), forwarded
    finally:
        proxy.stop()

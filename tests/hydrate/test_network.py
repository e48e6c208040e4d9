"""How downloads reach the channels: mirrors, a CA of one's own, proxies.

A team behind a proxy repository and a team without one share locks: a mirror serves
every download while the lock keeps the channel's URL. Corporate users with their own CA
(``ssl_verify``) and proxies (``proxy_servers``) lock, install and push. Everything runs
against loopback servers: plain HTTP, HTTPS with a throwaway CA, an HTTP proxy.
"""

from __future__ import annotations

import json
from pathlib import Path

import condapkgs
import pytest
from helpers import ForwardingProxy, conda_environ, conda_spec, serve_tls, tls_certificates, write

from amber import condarc
from amber.errors import ConfigError
from amber.settings import Network, Settings

PACKAGE_SUFFIXES = (".conda", ".tar.bz2")


def _packages(requests: list[str]) -> list[str]:
    return [r for r in requests if r.endswith(PACKAGE_SUFFIXES)]


def test_a_mirror_serves_every_download_and_the_lock_keeps_the_channel_url(
    amber, conda_channel: Path, tmp_path: Path
) -> None:
    with (
        condapkgs.serve_directory(conda_channel) as upstream,
        condapkgs.serve_directory(conda_channel) as mirror,
    ):
        spec = conda_spec(tmp_path / "project", upstream, "python", "greetlib")
        # $AMBER_MIRRORS for the lock, the settings file's [mirrors] for what follows.
        env = {"AMBER_MIRRORS": json.dumps({upstream.url: [mirror.url]})}
        amber("lock", "-f", spec, env=env, check=True)
        text = (tmp_path / "project" / "amber.lock").read_text()
        assert f"{upstream.url}/" in text and mirror.url not in text
        assert upstream.requests == []
        assert mirror.requests, "the mirror was never asked"

        upstream.stop()  # the team behind the proxy repository cannot reach the channel
        config = write(
            tmp_path / "amber.toml",
            f'[mirrors]\n"{upstream.url}" = ["{mirror.url}"]\n',
        )
        env = {"AMBER_CONFIG": str(config)}
        installed = amber("install", "-f", spec, env=env, check=True)
        assert len(_packages(mirror.requests)) >= 3, mirror.requests
        prefix = Path(installed.stdout.strip())
        greet = amber("run", "--env", prefix.name, "--", "greet", env=env, check=True)
        assert greet.stdout.strip() == "hello from greetlib"

        # Amber's own downloads (push takes the archives from their channels) too.
        before = len(_packages(mirror.requests))
        amber("env", "tag", prefix.name, "demo:v1", env=env, check=True)
        remote = (tmp_path / "remote").as_uri()
        amber("push", "demo:v1", "--remote", remote, env=env, check=True)
        assert len(_packages(mirror.requests)) >= before + 3, mirror.requests
        assert (tmp_path / "project" / "amber.lock").read_text() == text


def test_malformed_network_settings_are_refused_naming_them(
    amber, tmp_path: Path, conda_channel_url: str
) -> None:
    spec = conda_spec(tmp_path / "project", conda_channel_url, "python")
    bad = amber("lock", "-f", spec, env={"AMBER_MIRRORS": "{not json"})
    assert bad.returncode == 2 and "AMBER_MIRRORS" in bad.stderr, bad
    assert "Traceback" not in bad.stderr
    config = write(tmp_path / "amber.toml", '[mirrors]\n"conda-forge" = "mirror"\n')
    bad = amber("lock", "-f", spec, env={"AMBER_CONFIG": str(config)})
    assert bad.returncode == 2 and "'conda-forge'" in bad.stderr and str(config) in bad.stderr
    assert not (tmp_path / "project" / "amber.lock").exists()
    with pytest.raises(ConfigError, match="ssl_verify"):
        Network.of(ssl_verify=str(tmp_path / "no-such-ca.pem"))
    with pytest.raises(ConfigError, match="proxy_servers"):
        Network.of(proxy_servers={"ftp": "http://proxy:1"})


def test_settings_read_network_and_priority_from_the_file_and_conda_variables(
    tmp_path: Path,
) -> None:
    ca = write(tmp_path / "ca.pem", "not checked here\n")
    config = write(
        tmp_path / "amber.toml",
        f"""
        channel-priority = "strict"
        ssl-verify = "{ca}"
        [proxy-servers]
        https = "http://proxy.example:3128"
        [mirrors]
        "https://conda.anaconda.org/conda-forge/" = ["https://mirror.example/cf/"]
        """,
    )
    environ = conda_environ(tmp_path / "home", AMBER_HOME=str(tmp_path), AMBER_CONFIG=str(config))

    def read(environ: dict[str, str]) -> tuple[Network, str | None]:
        # The edge: Amber's variables, then the one reader of the settings files.
        conda = condarc.load_for(Settings.from_environ(environ), environ)
        return condarc.network_of(conda), conda.channel_priority

    network, priority = read(environ)
    assert priority == "strict"
    assert network.ssl_verify == str(ca.resolve())
    assert dict(network.proxy_servers) == {"https": "http://proxy.example:3128"}
    url = "https://conda.anaconda.org/conda-forge/noarch/x-1-0.conda"
    assert network.mirrored(url) == "https://mirror.example/cf/noarch/x-1-0.conda"
    assert network.mirrored("https://conda.anaconda.org/conda-forge-x/a") == (
        "https://conda.anaconda.org/conda-forge-x/a"
    )
    over = {**environ, "CONDA_SSL_VERIFY": "false", "CONDA_CHANNEL_PRIORITY": "disabled"}
    network, priority = read(over)
    assert (network.ssl_verify, priority) == (False, "disabled")
    # $AMBER_MIRRORS over the file's, prefix by prefix.
    mirrors = {"https://conda.anaconda.org/conda-forge": ["https://env.example/cf"]}
    network, _ = read({**environ, "AMBER_MIRRORS": json.dumps(mirrors)})
    assert network.mirrored(url) == "https://env.example/cf/noarch/x-1-0.conda"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return tls_certificates(tmp_path_factory.mktemp("tls"))


def test_a_channel_behind_a_private_ca_needs_ssl_verify(
    amber, conda_channel: Path, tmp_path: Path, certificates: tuple[Path, Path, Path]
) -> None:
    ca, cert, key = certificates
    with serve_tls(conda_channel, cert, key) as url:
        spec = conda_spec(tmp_path / "project", url, "python", "greetlib")
        refused = amber("lock", "-f", spec)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused
        assert "certificate" in refused.stderr.lower(), refused.stderr

        config = write(tmp_path / "amber.toml", f'ssl_verify = "{ca}"\n')
        env = {"AMBER_CONFIG": str(config)}
        amber("lock", "-f", spec, env=env, check=True)
        installed = amber("install", "-f", spec, env=env, check=True)
        prefix = Path(installed.stdout.strip())
        amber("env", "tag", prefix.name, "demo:v1", env=env, check=True)
        remote = (tmp_path / "remote").as_uri()
        pushed = amber("push", "demo:v1", "--remote", remote, env=env, check=True)
        assert pushed.returncode == 0
        assert len(_packages(url.requests)) >= 6, url.requests  # rattler's and Amber's

        # conda's ssl_verify: false (here from $CONDA_SSL_VERIFY) verifies nothing.
        other = conda_spec(tmp_path / "other", url, "python")
        amber("lock", "-f", other, env={"CONDA_SSL_VERIFY": "false"}, check=True)


def test_proxy_servers_carry_every_request(amber, conda_channel: Path, tmp_path: Path) -> None:
    proxy = ForwardingProxy()
    try:
        with condapkgs.serve_directory(conda_channel) as url:
            spec = conda_spec(tmp_path / "project", url, "python", "greetlib")
            config = write(
                tmp_path / "amber.toml",
                f'[proxy_servers]\nhttp = "{proxy.url}"\nhttps = "{proxy.url}"\n',
            )
            env = {"AMBER_CONFIG": str(config), "NO_PROXY": "", "no_proxy": ""}
            amber("lock", "-f", spec, env=env, check=True)
            installed = amber("install", "-f", spec, env=env, check=True)
            prefix = Path(installed.stdout.strip())
            amber("env", "tag", prefix.name, "demo:v1", env=env, check=True)
            remote = (tmp_path / "remote").as_uri()
            amber("push", "demo:v1", "--remote", remote, env=env, check=True)
            forwarded = [target for _, target in proxy.seen]
            assert any("repodata" in t for t in forwarded), forwarded
            # rattler's package downloads and Amber's own (push): each archive twice.
            assert len(_packages(forwarded)) >= 6, forwarded
            assert all(t.startswith(url.url) for t in forwarded)
    finally:
        proxy.stop()

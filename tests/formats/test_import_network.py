"""Importing already-resolved conda files (explicit, conda-lock) reaches the channels the
way resolve and hydrate do: through the mirrors and proxies of the settings.

An explicit file without hashes makes Amber ask the channel for each package's record
(its repodata; the archive itself when the repodata lacks it): every one of those requests
goes to the mirror, or through the proxy, while the lock keeps the channel's own URL.
"""

from __future__ import annotations

from pathlib import Path

import condapkgs
from helpers import ForwardingProxy, write

PACKAGE_SUFFIXES = (".conda", ".tar.bz2")


def _explicit(directory: Path, base: str, channel: Path) -> Path:
    """An explicit file naming every linux-64 and noarch archive of ``channel`` under the
    URL ``base``, without hashes."""
    urls = sorted(
        f"{base}/{archive.parent.name}/{archive.name}"
        for subdir in ("linux-64", "noarch")
        for archive in (channel / subdir).iterdir()
        if archive.name.endswith(PACKAGE_SUFFIXES)
        and archive.name.startswith(("greetlib", "python-"))
    )
    assert urls, list(channel.rglob("*"))
    return write(directory / "explicit.txt", "@EXPLICIT\n" + "\n".join(urls) + "\n")


def test_an_explicit_file_without_hashes_downloads_through_the_mirror(
    amber, conda_channel: Path, tmp_path: Path
) -> None:
    with (
        condapkgs.serve_directory(conda_channel) as upstream,
        condapkgs.serve_directory(conda_channel) as mirror,
    ):
        source = _explicit(tmp_path / "project", upstream.url, conda_channel)
        config = write(tmp_path / "amber.toml", f'[mirrors]\n"{upstream.url}" = ["{mirror.url}"]\n')
        amber("lock", "-f", source, env={"AMBER_CONFIG": str(config)}, check=True)
        text = (tmp_path / "project" / "amber.lock").read_text()
        assert f"{upstream.url}/" in text and mirror.url not in text
        assert upstream.requests == [], upstream.requests
        assert len(mirror.requests) >= 2, mirror.requests


def test_an_explicit_file_without_hashes_downloads_through_the_proxy(
    amber, conda_channel: Path, tmp_path: Path
) -> None:
    proxy = ForwardingProxy()
    try:
        with condapkgs.serve_directory(conda_channel) as url:
            source = _explicit(tmp_path / "project", url.url, conda_channel)
            config = write(
                tmp_path / "amber.toml",
                f'[proxy_servers]\nhttp = "{proxy.url}"\nhttps = "{proxy.url}"\n',
            )
            env = {"AMBER_CONFIG": str(config), "NO_PROXY": "", "no_proxy": ""}
            amber("lock", "-f", source, env=env, check=True)
            forwarded = [target for _, target in proxy.seen]
            assert len(forwarded) >= 2 and all(t.startswith(url.url) for t in forwarded), proxy.seen
            assert sorted(forwarded) == sorted(url.url + r for r in url.requests)
    finally:
        proxy.stop()

"""The fetch step: package archives into the store's content-addressed archive store.

From each package's own URL (``file://`` or ``http(s)``), kept only under the sha256
the lock gives it, never reading more than the lock's size, and reading no local file a
lock names but a package file of a local conda channel (``local_archive_path``).
Standard library only: remote stores and bundles use it too, and none of them should
load the solver for it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urlsplit

from amber import _auth
from amber._urls import redact
from amber.errors import HydrateError
from amber.lock import LockedConda, LockedPypi
from amber.settings import Network
from amber.store import Store

if TYPE_CHECKING:
    import urllib.request

__all__ = [
    "download_archives",
    "Package",
    "copy_bounded",
    "local_copies",
    "local_archive_path",
    "open_local_archive",
    "opener",
]

Package = LockedConda | LockedPypi


def download_archives(packages: Sequence[Package], store: Store) -> None:
    """Put each package's archive into the store's archive store from its own URL
    (file:// or http(s)), checking its sha256; never more bytes than the lock's size.
    Over the network, through ``store.network``: a mirror of the URL's channel, the CA
    bundle and proxies of the settings."""
    missing = [p for p in packages if not store.find_archive(p.sha256)]
    if not missing:
        return  # the warm path: no settings file read, no TLS context (its CA bundle) loaded
    network = store.network
    client = functools.cache(lambda: opener(network))  # only for a download over the network

    def fetch(package: Package, tmp: Path) -> None:
        limit = package.size if isinstance(package, LockedConda) else None
        if package.url.startswith("file://"):
            source = open_local_archive(package)
        else:
            # A mirror's own credentials (remembered under its URL) go to it, not the channel's.
            url, headers = _auth.request(network.mirrored(package.url))
            import urllib.request  # noqa: PLC0415 - see `opener`

            request = urllib.request.Request(url, headers=headers)
            source = client().open(request, timeout=120)
        with source, open(tmp, "wb") as out:
            copy_bounded(source, out.write, limit, package)

    for package in missing:
        if store.find_archive(package.sha256):
            continue  # the same archive, twice in the list
        mirror = network.mirrored(package.url)
        where = package.url if mirror == package.url else f"{redact(mirror)} (its mirror)"
        try:
            actual = store.add_archive(
                package.sha256, package.file_name, functools.partial(fetch, package)
            )
        except OSError as exc:
            hint = ""
            if getattr(exc, "code", None) in (401, 403):
                hint = (
                    ": it wants credentials. Give them where rattler and pixi read them "
                    "($RATTLER_AUTH_FILE, ~/.rattler/credentials.json or ~/.netrc); those "
                    "written into a spec's URLs serve only the commands that read that spec"
                )
            raise HydrateError(
                f"cannot download {package.file_name} from {where}: {exc}{hint}",
                package=package.file_name,
            ) from None
        if actual != package.sha256:
            raise HydrateError(
                f"hash mismatch for {package.file_name} from {where}: the lock expects "
                f"sha256 {package.sha256}, the file has {actual}",
                package=package.file_name,
            )


def opener(network: Network) -> urllib.request.OpenerDirector:
    """urllib's opener for ``network``: its proxies (else the environment's, as urllib reads
    them) and its TLS verification (a CA bundle, or none with ``ssl_verify: false``)."""
    # urllib.request and ssl (http.client, email, socket...) only load for a download: a warm
    # hydrate, with every archive in the store, never needs them.
    import ssl  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    if network.ssl_verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(network.ssl_verify, str):
        context = ssl.create_default_context(cafile=network.ssl_verify)
    else:
        context = ssl.create_default_context()
    handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPSHandler(context=context)]
    if network.proxy_servers:
        handlers.append(urllib.request.ProxyHandler(dict(network.proxy_servers)))
    return urllib.request.build_opener(*handlers)


def copy_bounded(
    source: IO[bytes], write: Callable[[bytes], object], limit: int | None, package: Package
) -> None:
    """Hand the bytes of ``source`` to ``write``, refusing (and stopping) past ``limit``."""
    copied = 0
    while chunk := source.read(1 << 20):
        copied += len(chunk)
        if limit is not None and copied > limit:
            raise _too_large(package, limit)
        write(chunk)


def _too_large(package: Package, limit: int) -> HydrateError:
    return HydrateError(
        f"{package.file_name} at {package.url} is larger than the {limit} bytes its lock "
        "records: it is not the package the lock pins. Nothing was installed from it; "
        "restore the package or re-lock with `amber lock`.",
        package=package.file_name,
    )


def local_archive_path(package: Package) -> Path:
    """The local file a ``file://`` package URL names, if a lock may make Amber read it.

    A lock may name only a package file of a conda channel directory: the URL is
    ``<channel>/<subdir>/<file name>``, with no ``..``, query or fragment, and the
    channel's ``<subdir>/repodata.json`` beside it. Anything else (a device, ``/etc/...``,
    a path leading out of the channel) is refused before it is opened, so no lock, local
    or pulled from a remote, makes Amber read an arbitrary local file.
    """
    parts = urlsplit(package.url)
    path = unquote(parts.path)
    allowed = not parts.query and not parts.fragment and parts.netloc in ("", "localhost")
    allowed = allowed and "/../" not in f"{path}/" and "/./" not in f"{path}/"
    allowed = allowed and path.rsplit("/", 1)[-1] == package.file_name
    if allowed and isinstance(package, LockedConda):
        channel = urlsplit(package.channel)
        root = unquote(channel.path).rstrip("/")
        allowed = (
            channel.scheme == "file" and path == f"{root}/{package.subdir}/{package.file_name}"
        )
        allowed = allowed and os.path.isfile(f"{root}/{package.subdir}/repodata.json")
    elif allowed:
        allowed = package.file_name.endswith((".whl", ".tar.gz", ".zip"))
    if not allowed:
        raise HydrateError(
            f"the lock names {package.file_name} at {package.url}, which is not a package "
            "file of a local conda channel (<channel>/<subdir>/<file> beside its "
            "repodata.json): Amber reads no other local file a lock names. Nothing was read "
            "from it; re-lock with `amber lock` against the channel that has the package.",
            package=package.file_name,
        )
    return Path(path)


def open_local_archive(package: Package) -> IO[bytes]:
    """The ``file://`` archive of ``package``, opened for reading: only a regular file
    (never a device or a FIFO, which are not even opened blocking), no larger than the
    lock's size."""
    path = local_archive_path(package)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise HydrateError(
            f"cannot read {package.file_name} at {path}: {exc.strerror}",
            package=package.file_name,
        ) from None
    info = os.fstat(fd)
    limit = package.size if isinstance(package, LockedConda) else None
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = HydrateError(
            f"{package.file_name} at {path} is not a regular file: Amber reads no device, "
            "FIFO or directory a lock names. Nothing was read from it.",
            package=package.file_name,
        )
    elif limit is not None and info.st_size > limit:
        problem = _too_large(package, limit)
    if problem is not None:
        os.close(fd)
        raise problem
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


_P = TypeVar("_P", LockedConda, LockedPypi)


def local_copies(packages: Sequence[_P], store: Store) -> list[_P]:
    """The packages, pointing at the store's archive copy where it has one."""
    out: list[_P] = []
    for package in packages:
        archive = store.find_archive(package.sha256)
        out.append(dataclasses.replace(package, url=archive.as_uri()) if archive else package)
    return out

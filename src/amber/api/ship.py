"""``amber pack``: an env as a relocatable archive, or envs' locks and packages as a bundle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from amber._platform import host_platform
from amber._progress import Progress
from amber.api import find_env, lock_for_ref, resolve_ref
from amber.ship.bundle import BundleInfo, write_bundle
from amber.ship.pack import PackResult, pack_env
from amber.store import Store
from amber.store.refs import split_ref

__all__ = ["pack", "bundle"]


def pack(ref: str, output: Path, store: Store, progress: Progress) -> PackResult:
    """Pack the env ``ref`` names into ``output`` (``amber unpack`` puts it anywhere)."""
    return pack_env(find_env(ref, store), output, progress)


def bundle(
    refs: Sequence[str],
    platforms: Sequence[str],
    output: Path,
    store: Store,
    progress: Progress,
) -> BundleInfo:
    """The locks of ``refs`` and every package of ``platforms`` (default: this one) in a bundle."""
    locks = [lock_for_ref(ref, store) for ref in refs]
    tags = []
    for ref, lock in zip(refs, locks, strict=True):
        named = split_ref(ref) if resolve_ref(ref, store) == lock.full_id else None
        if named is not None:  # packed by NAME:TAG: the tag travels with the bundle
            tags.append((*named, lock.full_id))
    chosen = platforms or (host_platform(),)
    return write_bundle(locks, chosen, store, output, progress, tags=tags)

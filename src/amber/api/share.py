"""``amber push``: an env's lock and packages to the remote store, then its tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amber._progress import Progress
from amber.api import lock_for_ref, mutable_tags, parse_tag, resolve_ref
from amber.api.envs import author
from amber.lock import Lock
from amber.remote import PushResult, Remote
from amber.settings import Settings
from amber.store import Store

__all__ = ["Pushed", "push"]


@dataclass(frozen=True)
class Pushed:
    """The lock pushed and what the remote store did with it."""

    lock: Lock
    result: PushResult


def push(
    ref: str,
    tags: Sequence[str],
    url: str | None,
    store: Store,
    progress: Progress,
    *,
    verify: bool = False,
) -> Pushed:
    """Push the env ``ref`` names (and tag it ``tags``, and ``ref`` itself when it is a tag)."""
    lock = lock_for_ref(ref, store)
    wanted = [parse_tag(t) for t in tags]
    if resolve_ref(ref, store) is not None:
        wanted.insert(0, parse_tag(ref))
    who = author(Settings.from_environ())
    result = Remote.open(url).push(
        lock, store, tags=wanted, progress=progress, mutable_tags=mutable_tags(), verify=verify,
        author=who,
    )  # fmt: skip
    for name, tag in wanted:
        store.tag(name, tag, lock.full_id, who)
    return Pushed(lock, result)

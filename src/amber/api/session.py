"""The session: settings, store, remote store and progress, built once at the edge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from amber._progress import Progress
from amber.settings import Network, Settings
from amber.store import Store

if TYPE_CHECKING:
    from amber.channels import CondaConfig
    from amber.policy import Policy
    from amber.remote import Remote
    from amber.store.fetch import Package

__all__ = ["Session", "using"]


class Session:
    """What every API call works with; lower packages get the parts they need as arguments.

    The remote store is opened, and the settings files (``.condarc``, Amber's TOML files)
    read, on first use, so a session that needs neither costs nothing.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        progress: Progress,
        remote_url: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.progress = progress
        self.remote_url = remote_url or settings.remote_url
        self._remote: Remote | None = None
        self._conda: CondaConfig | None = None
        self.policy_ref: str | None = None  # --policy: the project's policy, as given
        # The policies read, by (folder, --policy): ``amber.api.policy.policy_for``.
        self.policies: dict[tuple[str, str], Policy | None] = {}

    @classmethod
    def open(
        cls,
        home: Path | None = None,
        remote: str | None = None,
        *,
        quiet: bool = False,
        settings: Settings | None = None,
    ) -> Session:
        """A session over ``home`` (default: the settings') and ``remote`` (default:
        ``$AMBER_REMOTE``), reading the environment once."""
        return _over(settings or Settings.from_environ(), Progress(quiet=quiet), home, remote)

    @property
    def remote(self) -> Remote | None:
        """The remote store given or configured, if any."""
        if self._remote is None and self.remote_url:
            # Only commands that use a remote store pay for its module (and the solver's).
            from amber.remote import Remote  # noqa: PLC0415 - see above

            self._remote = Remote.open(self.remote_url)
        return self._remote

    @property
    def conda(self) -> CondaConfig:
        """The settings of the files (``.condarc`` as conda reads it, Amber's settings
        files, ``$CONDA_*``, ``$AMBER_MIRRORS``), read on first use: the one reader of them."""
        if self._conda is None:
            # Read (and its reader loaded) only when a command needs them: a warm hydrate
            # of a lock downloads nothing and never does.
            from amber import condarc  # noqa: PLC0415 - see above

            self._conda = condarc.load_for(self.settings)
        return self._conda

    @property
    def network(self) -> Network:
        """How downloads reach the channels (mirrors, ``ssl_verify``, ``proxy_servers``),
        from ``conda``: what the store this session opens carries."""
        from amber import condarc  # noqa: PLC0415 - see `conda`

        return condarc.network_of(self.conda)

    def fetch_hook(
        self, progress: Progress | None = None
    ) -> Callable[[list[Package]], None] | None:
        """hydrate's ``fetch``: packages from the remote store, if there is one."""
        remote = self.remote
        return remote.fetch_into(self.store, progress) if remote is not None else None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def using(
    session: Session | None, store: Store | None = None, progress: Progress | None = None
) -> Session:
    """``session``, or one over the ``store`` and ``progress`` a caller passed (the
    settings' store and a quiet display for those not given)."""
    if session is not None:
        if store is None and progress is None:
            return session
        derived = Session(
            store or session.store, session.settings, progress or session.progress,
            session.remote_url,
        )  # fmt: skip
        derived._conda = session._conda
        derived.policy_ref, derived.policies = session.policy_ref, session.policies
        return derived
    return _over(Settings.from_environ(), progress or Progress(quiet=True), store=store)


def _over(
    settings: Settings,
    progress: Progress,
    home: Path | None = None,
    remote: str | None = None,
    store: Store | None = None,
) -> Session:
    """A session over ``store``, else over the settings' store (or ``home``), whose
    network settings come from the session's settings files when a download needs them."""
    session: Session
    if store is None:
        # The session, made below, reads the files when the store first needs the network.
        network = lambda: session.network  # noqa: E731 - bound to the session made below
        store = Store(
            home or settings.home,
            settings.link_mode,
            network,
            link_scripts=settings.link_scripts,
        )
    session = Session(store, settings, progress, remote)
    return session

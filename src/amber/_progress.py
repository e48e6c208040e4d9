"""The only place that draws progress: rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from amber._units import human_bytes

__all__ = ["Progress"]


class Progress:
    """Reports long work. ``quiet`` silences everything but errors."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.fancy = (
            not quiet
            and hasattr(self.stream, "isatty")
            and self.stream.isatty()
            and os.environ.get("TERM") != "dumb"
        )
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console  # noqa: PLC0415 - rich only when drawing (hot path)

            self._console = Console(file=self.stream, highlight=False)
        return self._console

    def message(self, text: str) -> None:
        if self.quiet:
            return
        if self.fancy:
            self.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    @contextmanager
    def task(self, description: str) -> Iterator[None]:
        """A step of unknown length: a spinner on a terminal, two lines otherwise."""
        if self.quiet:
            yield
            return
        start = time.perf_counter()
        if self.fancy:
            with self.console.status(description):
                yield
            self.console.print(f"[green]✓[/] {description} [dim]({_seconds(start)})[/]")
        else:
            print(f"{description} ...", file=self.stream, flush=True)
            yield
            print(f"{description}: done ({_seconds(start)})", file=self.stream, flush=True)

    @contextmanager
    def installer(self, description: str, total: int) -> Iterator[Any]:
        """A rattler ``InstallerReporter`` drawing a bar of linked packages (or None)."""
        if not self.fancy or total == 0:
            with self.task(description):
                yield None
            return
        with self._rich_bar(description, total, "MofNCompleteColumn") as (bar, task):
            yield _Reporter(bar, task)

    @contextmanager
    def bar(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        """A bar of ``total`` bytes; yields ``advance(n)``."""
        if not self.fancy or total == 0:
            with self.task(description):
                yield lambda n: None
            return
        columns = ("DownloadColumn", "TransferSpeedColumn")
        with self._rich_bar(description, total, *columns) as (bar, task):
            yield lambda n: bar.advance(task, n)

    @contextmanager
    def _rich_bar(self, description: str, total: int, *counters: str) -> Iterator[Any]:
        """A transient rich bar with ``counters`` (rich.progress column names); yields
        (progress, task id) and prints a tick line once the block ends."""
        from rich import progress as rp  # noqa: PLC0415 - rich only when drawing (hot path)

        # Bytes in the unit system of every other figure Amber prints (see _units).
        columns = [
            rp.DownloadColumn(binary_units=True)
            if name == "DownloadColumn"
            else getattr(rp, name)()
            for name in counters
        ]
        bar = rp.Progress(
            rp.TextColumn("{task.description}"),
            rp.BarColumn(),
            *columns,
            rp.TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        task = bar.add_task(description, total=total)
        with bar:
            yield bar, task
        self.console.print(f"[green]✓[/] {description}")


class _Reporter:
    """rattler's InstallerReporter protocol: a bar of linked packages, one of downloaded bytes.

    rattler calls it from its own threads; rich's progress is thread-safe.
    """

    def __init__(self, bar: Any, task: Any) -> None:
        self.bar, self.task = bar, task
        self.done = 0
        self.downloads: dict[int, tuple[int, int]] = {}
        self.download_task: Any = None

    def on_transaction_start(self, total_operations: int) -> None:
        total = max(total_operations, 1)
        self.bar.update(self.task, total=total, count=f"{self.done}/{total}")

    def on_transaction_operation_complete(self, operation: int) -> None:
        self.done += 1
        total = int(self.bar.tasks[self.task].total or 0)
        self.bar.update(self.task, advance=1, count=f"{self.done}/{total}")

    def on_download_start(self, cache_entry: int) -> int:
        if self.download_task is None:
            self.download_task = self.bar.add_task("Downloading", total=None, count="")
        self.downloads[cache_entry] = (0, 0)
        return cache_entry

    def on_download_progress(self, download_idx: int, progress: int, total: int | None) -> None:
        self.downloads[download_idx] = (progress, total or progress)
        done = sum(p for p, _ in self.downloads.values())
        size = sum(t for _, t in self.downloads.values())
        self.bar.update(
            self.download_task, completed=done, total=size or None,
            count=f"{human_bytes(done)}/{human_bytes(size)}",
        )  # fmt: skip

    def __getattr__(self, name: str) -> Any:
        # Every other callback of the protocol is a no-op for us.
        if name.startswith("on_"):
            return lambda *args, **kwargs: 0
        raise AttributeError(name)


def _seconds(start: float) -> str:
    return f"{time.perf_counter() - start:.1f}s"

"""One unit system for sizes: the same bytes print the same in every command and the bar."""

from __future__ import annotations

import io
import re
from pathlib import Path

from helpers import conda_spec

from amber._progress import Progress
from amber._units import human_bytes
from amber.store import Store
from amber.store.du import disk_usage
from amber.store.gc import collect

_SIZE = re.compile(r"\d+(?:\.\d)? (?:B|KiB|MiB|GiB|TiB)\b")
_OTHER_UNITS = re.compile(r"\d (?:KB|MB|GB|kB)\b")


def test_human_bytes_is_iec():
    assert human_bytes(0) == "0 B"
    assert human_bytes(1023) == "1023 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024**2) == "5.0 MiB"
    assert human_bytes(3 * 1024**3) == "3.0 GiB"
    assert human_bytes(None) == "-"


def test_same_bytes_same_figure_in_env_list_du_and_gc(
    amber, amber_home: Path, conda_channel: Path, tmp_path: Path
):
    spec = conda_spec(tmp_path, conda_channel, "python", "libfoo")
    amber("install", "-f", spec, check=True)
    store = Store(amber_home)
    (listed,) = store.envs()
    usage = disk_usage(store)
    report = collect(store, older_than=0, dry_run=True, prune_uv=False)
    store.close()

    table = amber("env", "list", check=True).stdout
    assert human_bytes(listed.size) in table
    du = amber("du", check=True).stdout
    assert human_bytes(usage.total) in du
    gc = amber("gc", "--older-than", "0s", "--dry-run", check=True).stderr
    assert human_bytes(report.bytes_freed) in gc
    for text in (table, du, gc):
        assert _SIZE.search(text) and not _OTHER_UNITS.search(text), text


def test_progress_bar_counts_bytes_in_the_same_units():
    from rich.console import Console

    out = io.StringIO()
    progress = Progress(stream=out)
    progress.fancy = True  # as on a terminal
    progress._console = Console(file=out, force_terminal=True, width=150, highlight=False)
    with progress.bar("Fetching", 3 * 1024**2) as advance:
        advance(1536 * 1024)
    drawn = out.getvalue()
    assert "1.5/3.0 MiB" in drawn and " MB" not in drawn
    assert human_bytes(1536 * 1024) == "1.5 MiB" and human_bytes(3 * 1024**2) == "3.0 MiB"

    with progress.installer("Linking", 3) as reporter:
        index = reporter.on_download_start(0)
        reporter.on_download_progress(index, 1536 * 1024, 3 * 1024**2)
        task = reporter.bar.tasks[reporter.download_task]
        assert task.fields["count"] == "1.5 MiB/3.0 MiB"

"""amber._fs: one walk of a tree (and du.inodes: each inode once); outputs written atomically
onto regular files and through anything else."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from amber._fs import atomic_output, walk_tree, write_atomic
from amber.errors import OutputError
from amber.store.du import inodes


def _tree(root: Path) -> Path:
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a").mkdir()
    (root / "a" / "one.txt").write_bytes(b"x" * 10)
    os.link(root / "a" / "one.txt", root / "b" / "same.txt")  # a second link, same inode
    (root / "b" / "deep" / "two.txt").write_bytes(b"y" * 3)
    (root / "top.txt").write_bytes(b"z")
    (root / "to-b").symlink_to("b")  # a symlink to a directory: never followed
    os.mkfifo(root / "pipe")
    return root


def test_walk_order_kinds_and_skip(tmp_path: Path):
    root = _tree(tmp_path / "t")
    entries = list(walk_tree(root))
    # Each directory's entries sorted, before those of its subdirectories.
    assert [e.rel for e in entries] == [
        "a", "b", "pipe", "to-b", "top.txt",
        os.path.join("a", "one.txt"),
        os.path.join("b", "deep"), os.path.join("b", "same.txt"),
        os.path.join("b", "deep", "two.txt"),
    ]  # fmt: skip
    kinds = {e.rel: e.kind for e in entries}
    assert kinds["a"] == "dir" and kinds["to-b"] == "link" and kinds["pipe"] == "other"
    assert kinds["top.txt"] == "file"
    assert all(e.path == os.path.join(root, e.rel) for e in entries)
    assert next(e for e in entries if e.rel == "to-b").stat.st_ino == os.lstat(root / "to-b").st_ino

    skipped = [e.rel for e in walk_tree(root, skip=lambda e: e.rel == "b")]
    assert not any(rel == "b" or rel.startswith("b" + os.sep) for rel in skipped)
    assert "to-b" in skipped


def test_walk_errors_are_passed_over_or_raised(tmp_path: Path):
    assert list(walk_tree(tmp_path / "missing")) == []
    errors: list[OSError] = []
    assert list(walk_tree(tmp_path / "missing", onerror=errors.append)) == []
    assert len(errors) == 1 and isinstance(errors[0], FileNotFoundError)


def test_inodes_count_hardlinks_once(tmp_path: Path):
    root = _tree(tmp_path / "t")
    found = inodes([root])
    one = os.stat(root / "a" / "one.txt")
    shared = found[(one.st_dev, one.st_ino)]
    assert (shared.size, shared.nlink, shared.found) == (10, 2, 2)
    # Files, the symlink and the fifo, each inode once; directories not counted.
    assert len(found) == 5
    names = ("a/one.txt", "b/deep/two.txt", "top.txt", "to-b", "pipe")
    assert sum(i.size for i in found.values()) == sum(os.lstat(root / p).st_size for p in names)
    # Only one of the two links under the roots: the inode is not all theirs.
    half = inodes([root / "a", root / "top.txt", tmp_path / "gone"])
    assert half[(one.st_dev, one.st_ino)].found == 1
    assert sum(i.found for i in half.values()) == 2


# -- outputs: atomic onto regular files, through anything else ---------------------------


def _read_fifo(path: Path) -> tuple[threading.Thread, list[bytes]]:
    """A reader of the FIFO ``path`` in a thread (a writer's open() waits for one)."""
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as f:
            got.append(f.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


def test_outputs_replace_regular_files_and_make_new_ones(tmp_path: Path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    inode = target.stat().st_ino
    write_atomic(target, "new")
    assert target.read_text() == "new" and target.stat().st_ino != inode  # renamed over
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    with atomic_output(tmp_path / "sub" / "new.bin") as out:
        out.write(b"bytes")
    assert (tmp_path / "sub" / "new.bin").read_bytes() == b"bytes"
    assert not [p for p in tmp_path.rglob("*.part")]


def test_output_through_a_symlink_keeps_the_link(tmp_path: Path):
    real = tmp_path / "real" / "amber.lock"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.lock"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    with atomic_output(link) as out:
        out.write(b"binary")
    assert link.is_symlink() and real.read_bytes() == b"binary"
    # A dangling link: the file it names is created, the link stays.
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "real" / "later.txt")
    write_atomic(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "real" / "later.txt").read_text() == "made"
    assert not [p for p in tmp_path.rglob("*.part")]


def _null_device(directory: Path) -> Path:
    """A character device like /dev/null (1, 3) of the test's own: a broken write replaces
    it, not the machine's. Skips where device nodes cannot be made."""
    node = directory / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot make a device node here (not root)")
    return node


def test_output_onto_a_device_writes_through(tmp_path: Path):
    null = _null_device(tmp_path)
    before = os.stat(null)
    write_atomic(null, "discarded")
    with atomic_output(null) as out:
        out.write(b"discarded")
    after = os.stat(null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    # Through a symlink to it too.
    link = tmp_path / "link"
    link.symlink_to(null)
    write_atomic(link, "discarded")
    assert link.is_symlink() and os.stat(null).st_ino == before.st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "null"]


def test_output_onto_a_fifo_writes_through(tmp_path: Path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = _read_fifo(fifo)
    write_atomic(fifo, "text through the pipe")
    thread.join(60)
    assert got == [b"text through the pipe"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    thread, got = _read_fifo(fifo)
    with atomic_output(fifo) as out:
        out.write(b"bytes through the pipe")
    thread.join(60)
    assert got == [b"bytes through the pipe"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


@pytest.mark.parametrize("where", ["directory", "under a file", "proc"])
def test_output_that_cannot_be_written_is_a_clear_error(tmp_path: Path, where: str):
    (tmp_path / "file.txt").write_text("kept")
    target = {
        "directory": tmp_path,
        "under a file": tmp_path / "file.txt" / "out.lock",
        "proc": Path("/proc/amber-cannot-write-here.lock"),  # read-only, even for root
    }[where]
    before = sorted(p.name for p in tmp_path.iterdir())
    for write in (lambda: write_atomic(target, "x"), lambda: atomic_output(target).__enter__()):
        with pytest.raises(OutputError) as caught:
            write()
        assert caught.value.path == target and str(target) in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written
    assert (tmp_path / "file.txt").read_text() == "kept"
    if where == "directory":
        assert "directory" in str(caught.value)

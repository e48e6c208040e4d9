"""amber._fs.walk_tree and amber.store.du.inodes: one walk of a tree, each inode once."""

from __future__ import annotations

import os
from pathlib import Path

from amber._fs import walk_tree
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

"""Move an unpacked env to where it now lives: rewrite the prefix it embeds.

This module is copied verbatim into every packed env as ``bin/amber-unpack``
(after a few lines of shell that find a Python), so it runs on machines without
Amber, under whatever Python the env carries: the standard library only, and
syntax back to Python 3.6 (no annotations, no walrus).

``amber pack`` records, in ``.amber/pack.json``, the prefix the env was built at
and every file that embeds it (found by scanning the content, with conda's own
``file_mode`` where conda-meta records one), plus absolute symlinks into it.
Relocating rewrites those files the way conda installs them:

- text: every occurrence replaced; a ``#!`` line that ends up longer than 127
  bytes or with a space in it becomes a ``/bin/sh`` trampoline (Python) or
  ``#!/usr/bin/env NAME`` (anything else), as conda and uv write them;
- binary: within each NUL-terminated string, padded with NULs to keep the
  file's length, and growing into the NUL padding that conda packages leave
  behind their (255-byte) placeholders, so a longer prefix fits too.

The hashes conda-meta and ``RECORD`` keep for the rewritten files are updated,
so ``amber verify`` passes on the moved env. The manifest then records the new
prefix: relocating is idempotent, and moving the directory again works.
"""

import base64
import csv
import hashlib
import io
import json
import os
import stat
import sys
import tempfile

MANIFEST = os.path.join(".amber", "pack.json")
SHEBANG_MAX = 127
# Reads are bounded: a manifest, a conda-meta record or a RECORD larger than this is not
# one `amber pack` wrote; a file to rewrite larger than MAX_FILE is refused, not loaded.
MAX_MANIFEST = 64 << 20
MAX_RECORD = 64 << 20
MAX_FILE = 2 << 30
_MAX_HOPS = 40  # symlinks followed while resolving one path (the kernel's own limit)


class RelocateError(Exception):
    pass


def relocate(root, new_prefix=None):
    """Rewrite the env unpacked at ``root`` for ``new_prefix`` (default: ``root``).
    Returns the number of files rewritten.

    Whatever the manifest names must lie inside ``root``, symlinks on the way followed
    as the moved env will follow them: nothing outside it is read, written or repointed."""
    root = os.path.realpath(root)
    manifest_path = _member(root, MANIFEST, MANIFEST, ())
    manifest = _load_manifest(root, manifest_path)
    old = manifest["prefix"]
    new = os.path.abspath(new_prefix or root)
    prefixes = (old, new)
    files = [(_member(root, rel, _entry("files", i, rel), prefixes), rel, mode)
             for i, (rel, mode) in enumerate(manifest["files"])]  # fmt: skip
    links = [(_member(root, rel, _entry("links", i, rel), prefixes, link=True), rel)
             for i, rel in enumerate(manifest["links"])]  # fmt: skip
    if old == new:
        return 0
    old_b, new_b = old.encode(), new.encode()
    hashes = {}
    for path, rel, mode in files:
        data = _read(path, MAX_FILE, rel)
        if mode == "binary":
            out = replace_binary(data, old_b, new_b, rel)
        else:
            out = replace_text(data, old_b, new_b)
        if out != data:
            _rewrite(path, out)
        hashes[os.path.normpath(rel)] = (hashlib.sha256(out).hexdigest(), len(out))
    for path, rel in links:
        target = os.readlink(path)
        if target == old or target.startswith(old + "/"):
            rest = target[len(old) :]
            if _resolve(root, rest, prefixes) is None:
                raise RelocateError(
                    f"{MANIFEST}: links[] entry {rel!r} points outside the env ({target})"
                )
            os.unlink(path)
            os.symlink(new + rest, path)
    _update_records(root, hashes, prefixes)
    manifest["prefix"] = new
    _rewrite(manifest_path, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return len(hashes)


def _entry(key, index, value):
    return f"{key}[{index}] {value!r}"


def _load_manifest(root, path):
    """The manifest, its shape checked: the prefix, files as [path, mode], links as paths."""
    try:
        data = _read(path, MAX_MANIFEST, MANIFEST)
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise RelocateError(f"{root}: {MANIFEST} is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(manifest, dict):
        raise RelocateError(f"{root}: {MANIFEST} must be an object")
    missing = [key for key in ("prefix", "files", "links") if key not in manifest]
    if missing:
        raise RelocateError(
            "{}: {} is missing {}: not made by `amber pack`".format(
                root, MANIFEST, ", ".join(missing)
            )
        )
    prefix = manifest["prefix"]
    if not isinstance(prefix, str) or not prefix.startswith("/") or "\0" in prefix:
        raise RelocateError(f"{MANIFEST}: prefix must be an absolute path, not {_short(prefix)}")
    manifest["prefix"] = prefix.rstrip("/") or "/"
    for key in ("files", "links"):
        if not isinstance(manifest[key], list):
            raise RelocateError(f"{MANIFEST}: {key} must be a list")
    for i, item in enumerate(manifest["files"]):
        ok = isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
        if not ok or item[1] not in ("text", "binary"):
            raise RelocateError(
                f'{MANIFEST}: files[{i}] must be [path, "text" or "binary"], not {_short(item)}'
            )
    for i, item in enumerate(manifest["links"]):
        if not isinstance(item, str):
            raise RelocateError(f"{MANIFEST}: links[{i}] must be a path, not {_short(item)}")
    return manifest


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _resolve(root, rel, prefixes):
    """Where ``rel`` leads inside ``root``, following symlinks as the env will once it
    lives at one of ``prefixes`` (an absolute link into a prefix stays in the env); None
    when the path leaves ``root``. The result has no symlink in it but perhaps its last
    component (checked by the caller, who decides whether to follow it)."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    done = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if not done:
                return None
            done.pop()
            continue
        here = os.path.join(root, *(done + [part]))
        if not parts or not os.path.islink(here):  # the last component is not followed
            done.append(part)
            continue
        hops += 1
        if hops > _MAX_HOPS:
            return None
        target = os.readlink(here)
        if target.startswith("/"):
            inside = [p for p in prefixes if target == p or target.startswith(p.rstrip("/") + "/")]
            if not inside:
                return None
            target = target[len(inside[0]) :]
            done = []
        parts = [p for p in target.split("/") if p not in ("", ".")] + parts
    return os.path.join(root, *done)


def _member(root, rel, what, prefixes, link=False):
    """The path of manifest entry ``rel`` inside ``root``: a regular file (``link``: a
    symlink), reached without leaving ``root``; a RelocateError naming ``what`` else."""
    if not rel or "\0" in rel or rel.startswith("/"):
        raise RelocateError(f"{MANIFEST}: {what} is outside the env")
    path = _resolve(root, rel, prefixes)
    if path is None or path == root:
        raise RelocateError(f"{MANIFEST}: {what} is outside the env")
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise RelocateError(f"{MANIFEST}: {what}: {exc.strerror}") from None
    if link and not stat.S_ISLNK(st.st_mode):
        raise RelocateError(f"{MANIFEST}: {what} is not a symlink")
    if not link and not stat.S_ISREG(st.st_mode):
        raise RelocateError(f"{MANIFEST}: {what} is not a regular file")
    return path


def _read(path, limit, name):
    """At most ``limit`` bytes of the regular file ``path``, never following a last link."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RelocateError(f"{name}: not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise RelocateError(f"{name}: too large (over {limit >> 20} MB)")
    return data


def replace_text(data, old, new):
    out = data.replace(old, new)
    if out.startswith(b"#!" + new):
        out = _fix_shebang(out, new)
    return out


def _fix_shebang(data, prefix):
    """A ``#!`` line the kernel would cut (> 127 bytes) or split (a space in the prefix)."""
    line, nl, rest = data.partition(b"\n")
    if len(line) <= SHEBANG_MAX and b" " not in prefix:
        return data
    exe, _, args = line[2 + len(prefix) :].strip().partition(b" ")
    args = b" " + args if args else b""
    name = exe.rsplit(b"/", 1)[-1]
    if name.startswith(b"python"):  # uv's trampoline: sh runs it, Python reads a string
        interpreter = b"'" + prefix + exe + b"'"
        head = b"#!/bin/sh\n" + b"'''exec' " + interpreter + args + b' "$0" "$@"\n'
        return head + b"' " + b"'''\n" + rest
    return b"#!/usr/bin/env " + name + args + nl + rest


def replace_binary(data, old, new, name="file"):
    """``old`` -> ``new`` inside NUL-terminated strings, keeping the length of ``data``."""
    out = []
    pos = 0
    while True:
        start = data.find(old, pos)
        if start < 0:
            out.append(data[pos:])
            return b"".join(out)
        end = data.find(b"\0", start)
        if end < 0:
            end = len(data)
        string = data[start:end].replace(old, new)
        grow = len(string) - (end - start)
        out.append(data[pos:start])
        out.append(string)
        if grow <= 0:
            out.append(b"\0" * -grow)
            pos = end
        elif data[end : end + grow + 1] == b"\0" * (grow + 1):
            pos = end + grow
        else:
            raise RelocateError(
                f"{name}: the new prefix {new.decode()} is {grow} bytes longer than this "
                "binary file has room for; choose a shorter path"
            )


def _rewrite(path, data):
    mode = os.lstat(path).st_mode & 0o777  # no setuid, setgid or sticky bit survives
    # A fresh name of our own (O_EXCL, no link followed), never one the archive shipped.
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".amber-tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)  # a fresh inode: never writes through a hardlink
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _kind(path):
    try:
        return stat.S_IFMT(os.lstat(path).st_mode)
    except OSError:
        return None


def _inside(root, rel, prefixes, kind):
    """``rel`` resolved inside ``root`` when it is of ``kind`` there (not a link), else None."""
    path = _resolve(root, rel, prefixes)
    return path if path is not None and _kind(path) == kind else None


def _update_records(root, hashes, prefixes):
    """conda-meta ``sha256_in_prefix`` and PyPI ``RECORD`` lines of the rewritten files;
    only records inside ``root`` are read, each bounded in size."""
    if not hashes:
        return
    meta = _inside(root, "conda-meta", prefixes, stat.S_IFDIR)
    for name in sorted(os.listdir(meta)) if meta else []:
        path = os.path.join(meta, name)
        if not name.endswith(".json") or _kind(path) != stat.S_IFREG:
            continue
        where = "conda-meta/" + name
        try:
            record = json.loads(_read(path, MAX_RECORD, where).decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise RelocateError(f"{where}: not valid JSON: {str(exc)[:200]}") from None
        paths_data = record.get("paths_data") if isinstance(record, dict) else None
        entries = paths_data.get("paths") if isinstance(paths_data, dict) else None
        changed = False
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("_path"), str):
                continue
            new = hashes.get(entry["_path"])
            if new is not None and entry.get("sha256_in_prefix") != new[0]:
                entry["sha256_in_prefix"] = new[0]
                if not entry.get("prefix_placeholder"):
                    entry["size_in_bytes"] = new[1]  # the installed size (entry points)
                changed = True
        if changed:
            _rewrite(path, json.dumps(record, indent=2, sort_keys=True).encode() + b"\n")
    lib = _inside(root, "lib", prefixes, stat.S_IFDIR)
    for entry in sorted(os.listdir(lib)) if lib else []:
        if not entry.startswith("python"):
            continue
        site = _inside(root, f"lib/{entry}/site-packages", prefixes, stat.S_IFDIR)
        if site is None:
            continue
        for dist in sorted(os.listdir(site)):
            record = os.path.join(site, dist, "RECORD")
            if dist.endswith(".dist-info") and _kind(os.path.join(site, dist)) == stat.S_IFDIR:
                if _kind(record) == stat.S_IFREG:
                    _update_record(root, site, record, hashes)


def _update_record(root, site, record, hashes):
    text = _read(record, MAX_RECORD, os.path.relpath(record, root)).decode("utf-8", "replace")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise RelocateError(f"{os.path.relpath(record, root)}: not a RECORD file: {exc}") from None
    changed = False
    for row in rows:
        if len(row) < 3 or not row[1]:
            continue
        rel = os.path.relpath(os.path.normpath(os.path.join(site, row[0])), root)
        if rel.startswith(".."):
            continue
        new = hashes.get(rel)
        if new is None:
            continue
        digest = base64.urlsafe_b64encode(bytes.fromhex(new[0])).rstrip(b"=").decode()
        if row[1] != "sha256=" + digest:
            row[1], row[2] = "sha256=" + digest, str(new[1])
            changed = True
    if changed:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        _rewrite(record, out.getvalue().encode())


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(argv[0])))
    try:
        count = relocate(root)
    except (RelocateError, OSError) as exc:
        sys.stderr.write(f"amber-unpack: {exc}\n")
        return 1
    sys.stdout.write(f"amber-unpack: {root} ready ({count} files rewritten)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

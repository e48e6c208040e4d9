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
import sys

MANIFEST = os.path.join(".amber", "pack.json")
SHEBANG_MAX = 127


class RelocateError(Exception):
    pass


def relocate(root, new_prefix=None):
    """Rewrite the env unpacked at ``root`` for ``new_prefix`` (default: ``root``).
    Returns the number of files rewritten."""
    root = os.path.abspath(root)
    manifest_path = os.path.join(root, MANIFEST)
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise RelocateError(f"{root} is not an env made by `amber pack`: {exc}") from None
    old = manifest["prefix"]
    new = os.path.abspath(new_prefix or root)
    if old == new:
        return 0
    old_b, new_b = old.encode(), new.encode()
    hashes = {}
    for rel, mode in manifest["files"]:
        path = os.path.join(root, rel)
        with open(path, "rb") as f:
            data = f.read()
        if mode == "binary":
            out = replace_binary(data, old_b, new_b, rel)
        else:
            out = replace_text(data, old_b, new_b)
        if out != data:
            _rewrite(path, out)
        hashes[rel] = (hashlib.sha256(out).hexdigest(), len(out))
    for rel in manifest.get("links", []):
        path = os.path.join(root, rel)
        target = os.readlink(path)
        if target == old or target.startswith(old + "/"):
            os.unlink(path)
            os.symlink(new + target[len(old) :], path)
    _update_records(root, hashes)
    manifest["prefix"] = new
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    os.replace(tmp, manifest_path)
    return len(hashes)


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
    mode = os.stat(path).st_mode & 0o7777
    tmp = path + ".amber-tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)  # a fresh inode: never writes through a hardlink


def _update_records(root, hashes):
    """conda-meta ``sha256_in_prefix`` and PyPI ``RECORD`` lines of the rewritten files."""
    if not hashes:
        return
    meta = os.path.join(root, "conda-meta")
    for name in sorted(os.listdir(meta)) if os.path.isdir(meta) else []:
        if not name.endswith(".json"):
            continue
        path = os.path.join(meta, name)
        with open(path) as f:
            record = json.load(f)
        changed = False
        for entry in (record.get("paths_data") or {}).get("paths", []):
            new = hashes.get(entry.get("_path"))
            if new is not None and entry.get("sha256_in_prefix") != new[0]:
                entry["sha256_in_prefix"] = new[0]
                if not entry.get("prefix_placeholder"):
                    entry["size_in_bytes"] = new[1]  # the installed size (entry points)
                changed = True
        if changed:
            _rewrite(path, json.dumps(record, indent=2, sort_keys=True).encode() + b"\n")
    by_dir = {}
    for rel in hashes:
        by_dir.setdefault(os.path.dirname(rel), []).append(rel)
    lib = os.path.join(root, "lib")
    for entry in sorted(os.listdir(lib)) if os.path.isdir(lib) else []:
        site = os.path.join(lib, entry, "site-packages")
        if not entry.startswith("python") or not os.path.isdir(site):
            continue
        for dist in sorted(os.listdir(site)):
            record = os.path.join(site, dist, "RECORD")
            if dist.endswith(".dist-info") and os.path.isfile(record):
                _update_record(root, site, record, hashes)


def _update_record(root, site, record, hashes):
    with open(record, newline="") as f:
        rows = list(csv.reader(f))
    changed = False
    for row in rows:
        if len(row) < 3 or not row[1]:
            continue
        rel = os.path.relpath(os.path.normpath(os.path.join(site, row[0])), root)
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

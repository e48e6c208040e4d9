"""The baseline of the hydrate benchmark: Amber's two installers called directly, nothing else.

    python bench/raw_install.py LOCK PLATFORM PREFIX AMBER_HOME [--online]

Reads an amber lock, installs its conda records with ``rattler.install`` into PREFIX
(rattler's package cache: AMBER_HOME/pkgs/conda), then its PyPI lines with
``uv pip install --no-deps --require-hashes`` (uv's cache: AMBER_HOME/pkgs/uv).
``--offline`` unless ``--online``: uv then may revalidate cached wheels with the index.
Run as a subprocess by run_benchmarks.py, so its start-up counts as Amber's does.
"""

import asyncio
import os
import subprocess
import sys
import tempfile

import rattler
import uv

from amber.lock import Lock

lock_file, platform, prefix, home = sys.argv[1:5]
packages = Lock.read(lock_file).for_platform(platform)
records = [c.to_record() for c in packages.conda]
conda_cache = os.path.join(home, "pkgs", "conda")
asyncio.run(rattler.install(records, prefix, cache_dir=conda_cache, show_progress=False))
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as reqs:
    reqs.write("".join(p.requirement_line() + "\n" for p in packages.pypi))
python = os.path.join(prefix, "bin", "python")
cmd = [uv.find_uv_bin(), "pip", "install", "--python", python, "--no-deps", "--require-hashes"]
cmd += ["--quiet", "-r", reqs.name] + ([] if "--online" in sys.argv else ["--offline"])
subprocess.run(cmd, check=True, env=dict(os.environ, UV_CACHE_DIR=os.path.join(home, "pkgs", "uv")))
os.unlink(reqs.name)

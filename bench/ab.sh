#!/bin/bash
# Side-by-side check that a change made no benchmark worse: run some benchmarks at an older
# commit and at the working tree, one after the other, in the same Python environment.
#   bench/ab.sh OLD_COMMIT 4,7,9      -> prints both tables' rows for those benchmarks
# The old code is checked out in a temporary worktree and put first on PYTHONPATH (which the
# `amber` script of the benchmarks' subprocesses inherits); neither run writes docs/BENCHMARKS.md.
set -euo pipefail
old=${1:?old commit}; only=${2:?benchmarks, e.g. 4,7,9}
here=$(cd "$(dirname "$0")/.." && pwd); py=${PYTHON:-$here/.venv/bin/python}
tmp=$(mktemp -d); trap 'git -C "$here" worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git -C "$here" worktree add -q --detach "$tmp/old" "$old"
(cd "$tmp/old" && PYTHONPATH="$tmp/old/src" "$py" bench/run_benchmarks.py --only "$only" >"$tmp/old.txt" 2>&1)
(cd "$here" && "$py" bench/run_benchmarks.py --only "$only" >"$tmp/new.txt" 2>&1)
for side in old new; do
  echo "== $side ($( [ $side = old ] && echo "$old" || git -C "$here" rev-parse --short HEAD)+worktree)"
  grep -E '^\| [0-9]' "$tmp/$side.txt" || tail -20 "$tmp/$side.txt"
done

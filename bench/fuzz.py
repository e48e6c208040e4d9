"""The bad-input fuzz suite in its long mode, with the counts the issue's closing note needs.

    python bench/fuzz.py                 # 2,000 examples per property
    python bench/fuzz.py --examples 500

Runs ``tests/test_fuzz_inputs.py`` with ``AMBER_FUZZ_EXAMPLES`` set and every outcome
recorded (``AMBER_FUZZ_REPORT``) rather than stopping at the first failure, then prints
how many inputs were tried and how many ended in a traceback, a hang, another exit code or
an over-long line, per file kind, with one example of each distinct cause. Exit 1 when any
did. Not a timing benchmark: nothing here measures time.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ("traceback", "hang", "exit", "long_line")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="per property (default 2000)")
    parser.add_argument("-k", default=None, help="only the properties pytest -k selects")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="amber-fuzz-") as tmp:
        report = Path(tmp) / "outcomes.jsonl"
        env = {**os.environ, "AMBER_FUZZ_EXAMPLES": str(args.examples),
               "AMBER_FUZZ_REPORT": str(report)}  # fmt: skip
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:xdist",
               "-p", "no:cacheprovider", str(ROOT / "tests" / "test_fuzz_inputs.py")]  # fmt: skip
        if args.k:
            cmd += ["-k", args.k]
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        records = (
            [json.loads(line) for line in report.read_text().splitlines()]
            if (report.exists())
            else []
        )
    if not records:
        print(run.stdout[-3000:], run.stderr[-3000:], sep="\n")
        return 1
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    causes: dict[tuple[str, str], dict] = {}
    for r in records:
        kind = r["kind"].split(":")[0]
        by_kind[kind]["inputs"] += 1
        for problem in PROBLEMS:
            if r[problem]:
                by_kind[kind][problem] += 1
                lines = [line for line in r.get("detail", "").splitlines() if line.strip()]
                last = re.sub(r"'/[^']*'?", "'PATH'", lines[-1]) if lines else ""
                causes.setdefault((problem, last[:120]), r)
    total = collections.Counter()
    print(f"{'input kind':<22}{'inputs':>8}" + "".join(f"{p:>11}" for p in PROBLEMS))
    for kind in sorted(by_kind):
        counts = by_kind[kind]
        total.update(counts)
        print(f"{kind:<22}{counts['inputs']:>8}" + "".join(f"{counts[p]:>11}" for p in PROBLEMS))
    print(f"{'all':<22}{total['inputs']:>8}" + "".join(f"{total[p]:>11}" for p in PROBLEMS))
    print(f"\n{len(causes)} distinct causes")
    for (problem, last), r in sorted(causes.items()):
        print(f"- {problem}: {last}\n    amber {' '.join(a[:80] for a in r['argv'])}")
    return 1 if any(total[p] for p in PROBLEMS) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run several recipe variants of the quality benchmark in parallel (for tuning).

Each line of a plan file is ``NAME key=JSON key=JSON ...``; every variant runs
``quality.py --steps N`` in its own process and the rows are collected into one JSON.
Quality at a fixed step count does not depend on the hardware, so a sweep can run on a
bigger machine and be translated to a CPU time budget with the measured s/step.

    python benchmarks/sweep.py plan.txt --steps 1200 --device cuda --out results.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("plan", type=Path)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--looks", default="sepia,cartoon,charcoal,oil")
    ap.add_argument("--photos", default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    variants = []
    for line in args.plan.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, *sets = line.split()
            variants.append((name, sets))
    tmp = Path(tempfile.mkdtemp())
    procs = []
    for name, sets in variants:
        cmd = [sys.executable, str(HERE / "quality.py"), "--steps", str(args.steps), "--device", args.device,
               "--looks", args.looks, "--out", str(tmp / name), "--no-images"]  # fmt: skip
        if args.photos:
            cmd += ["--photos", args.photos]
        for s in sets:
            key, _, value = s.partition("=")
            if key in ("method", "generator"):
                cmd += [f"--{key}", value]
            else:
                cmd += ["--set", s]
        procs.append((name, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    results = {}
    for name, p in procs:
        out, _ = p.communicate()
        print(f"=== {name}\n{out}", flush=True)
        f = tmp / name / "results.json"
        if f.exists():
            results[name] = json.loads(f.read_text())
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

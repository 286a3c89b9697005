"""Run several recipe variants of the quality benchmark in parallel (for tuning).

Each line of a plan file is ``NAME key=JSON key=JSON ...`` (``steps=N`` sets that variant's
step count); every (variant, look) runs ``quality.py`` in its own process, at most
``--procs`` at a time, each process's output going to ``--logs``; the rows are collected
into one JSON and a table of gains. Quality at a fixed step count does not depend on the
hardware, so a sweep can run on a bigger machine and be translated to a CPU time budget
with the measured s/step.

    python benchmarks/sweep.py plan.txt --steps 1900 --device cuda --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("plan", type=Path)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--looks", default="sepia,cartoon,charcoal,oil")
    ap.add_argument("--photos", default=None)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="processes at a time")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    ap.add_argument("--logs", type=Path, default=None, help="folder for each process's output")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--probe-every", type=int, default=0, help="passed to quality.py: score C during training")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    logs = args.logs or tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    jobs = []
    for line in args.plan.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, *sets = line.split()
        steps = args.steps
        cmd_sets: list[str] = []
        for s in sets:
            key, _, value = s.partition("=")
            if key == "steps":
                steps = int(value)
            elif key in ("method", "generator", "pairs"):
                cmd_sets += [f"--{key}", value]
            else:
                cmd_sets += ["--set", s]
        for look in args.looks.split(","):
            cmd = [sys.executable, str(HERE / "quality.py"), "--steps", str(steps), "--device", args.device,
                   "--looks", look, "--out", str(tmp / name / look), "--no-images", *cmd_sets]  # fmt: skip
            if args.photos:
                cmd += ["--photos", args.photos]
            if args.probe_every:
                cmd += ["--probe-every", str(args.probe_every)]
            jobs.append((name, look, cmd))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONUNBUFFERED": "1"}
    running: list[tuple[str, str, subprocess.Popen[bytes], float, IO[bytes]]] = []
    t0 = time.time()
    while jobs or running:
        while jobs and len(running) < args.procs:
            name, look, cmd = jobs.pop(0)
            log = open(logs / f"{name}_{look}.log", "wb")
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            running.append((name, look, p, time.time(), log))
        for item in list(running):
            name, look, p, start, log = item
            if p.poll() is not None:
                running.remove(item)
                log.close()
                print(
                    f"[{time.time() - t0:6.0f}s] {name} {look} done (rc {p.returncode}, {time.time() - start:.0f}s)",
                    flush=True,
                )
        time.sleep(0.5)
    results: dict[str, dict[str, object]] = {}
    for vdir in sorted(tmp.glob("*/")):
        for f in sorted(vdir.glob("*/results.json")):
            rows = json.loads(f.read_text())["rows"]
            results.setdefault(vdir.name, {}).update({r["look"]: r for r in rows})
    args.out.write_text(json.dumps(results, indent=2))
    looks = args.looks.split(",")
    print(f"{'variant':24s} " + " ".join(f"{lk:>9s}" for lk in looks) + f" {'mean':>7s} {'worst':>7s}")
    for name, rows in results.items():
        gains = [rows[lk]["gain_db"] if lk in rows else float("nan") for lk in looks]  # type: ignore[index]
        print(
            f"{name:24s} "
            + " ".join(f"{g:+9.2f}" for g in gains)
            + f" {sum(gains) / len(gains):+7.2f} {min(gains):+7.2f}"
        )


if __name__ == "__main__":
    main()

"""Crash safety, measured: kill a training run with SIGKILL at random moments, resume it each
time, and check that it completes, that no file in the run or style folder is ever partial,
and that the final style equals an uninterrupted run's, bit for bit (CPU, same seed).

    python benchmarks/kill_resume.py --kills 20 --steps 200
    python benchmarks/kill_resume.py --kills 3 --steps 24      # the test suite's short version

Each kill lands at a random moment between the end of a fresh start-up (a resumed one, which
also loads the checkpoint, takes longer) and about two kills' share of the training time later,
so the kills spread over the run: start-up, steps, checkpoint and sample writes, the style
write. Prints one line per kill and a summary; exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.torch import load_file

TINY = {
    "generator_kwargs": {"ngf": 4, "n_blocks": 1, "lut_size": 5}, "d_ndf": 8, "num_patches": 16,
    "max_side": 64, "sample_every": 3, "checkpoint_every": 2, "precision": "fp32",
    "teacher": "", "colour_start": "identity",  # no set-level fits: the run is all steps and writes
}  # fmt: skip


def make_images(folder: Path, n: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    return folder


def train_cmd(style: Path, content: Path, name: str, steps: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-c", "from brushwork.cli import main; raise SystemExit(main())", "train", str(style), "--content", str(content), "--name", name,
           "--steps", str(steps), "--size", "32", "--seed", "3", "--generator", "lite", "--quiet"]  # fmt: skip
    for k, v in TINY.items():
        cmd += ["--set", f"{k}={json.dumps(v)}"]
    return [*cmd, "--resume"] if resume else cmd


def check_whole(folder: Path) -> list[str]:
    """Every file a reader would use parses completely (temporary files, hidden by a leading
    dot or ending in .tmp, are the atomic writes' own and never read)."""
    bad = []
    if not folder.exists():
        return bad
    for p in folder.rglob("*"):
        if (
            not p.is_file()
            or p.name.startswith(".")
            or any(part.startswith(".") for part in p.relative_to(folder).parts)
        ):
            continue
        try:
            if p.suffix == ".safetensors":
                load_file(str(p))
            elif p.suffix == ".json":
                json.loads(p.read_text())
            elif p.suffix == ".jsonl":
                for line in p.read_text().splitlines():
                    json.loads(line)
            elif p.suffix == ".png":
                with Image.open(p) as im:
                    im.load()
        except Exception as exc:
            bad.append(f"{p}: {exc}")
    return bad


def run(kills: int, steps: int, seed: int) -> int:
    rnd = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        style, content = make_images(root / "style", 3, 1), make_images(root / "content", 4, 2)
        env = {**os.environ, "BRUSHWORK_HOME": str(root / "home"), "OMP_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        subprocess.run(train_cmd(style, content, "clean", steps, False), env=env, check=True)
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([*train_cmd(style, content, "dry", steps, False), "--dry-run"], env=env, check=True)
        startup = min(time.perf_counter() - t0, full)
        print(f"uninterrupted run: {full:.1f} s for {steps} steps, of which {startup:.1f} s starting up")
        home = root / "home"
        failures: list[str] = []
        done, resume, attempts, killed = False, False, 0, 0
        while not done:
            attempts += 1
            proc = subprocess.Popen(train_cmd(style, content, "k", steps, resume), env=env, stderr=subprocess.PIPE)
            if killed < kills:
                # spread over the whole run rather than the first kill taking most of it
                delay = rnd.uniform(startup, 1.5 * startup + 2 * (full - startup) / kills)
                try:
                    proc.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    killed += 1
                    ckpt = home / "runs" / "k" / "checkpoint.safetensors"
                    step = "none"
                    if ckpt.exists():
                        from brushwork.checkpoint import load_state

                        try:
                            step = str(int(load_state(ckpt)["budget"]["step"]))
                        except Exception:
                            step = "unreadable"
                    bad = check_whole(home / "runs" / "k") + check_whole(home / "styles" / "k")
                    failures += bad
                    print(f"kill {killed:2d} at {delay:5.2f} s: checkpoint step {step}; partial files: {len(bad)}")
                    resume = (home / "runs" / "k" / "training_options.json").exists()
                    continue
            err = proc.communicate()[1].decode()
            if proc.returncode != 0:
                failures.append(f"attempt {attempts} exited {proc.returncode}: {err.strip()[-300:]}")
                break
            done = True
        a = load_file(str(home / "styles" / "clean" / "generator.safetensors"))
        b = load_file(str(home / "styles" / "k" / "generator.safetensors")) if done else {}
        same = done and a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
        if not same:
            failures.append("the final style differs from the uninterrupted run's")
        print(f"{killed} kills, {attempts} starts: completed {done}; bitwise equal to the uninterrupted run: {same}")
        for f in failures:
            print("FAILED:", f)
        shutil.rmtree(home, ignore_errors=True)
        return 1 if failures else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    args = ap.parse_args()
    sys.exit(run(args.kills, args.steps, args.seed))


if __name__ == "__main__":
    main()

"""Training-step speed at 256x256: the default CPU recipe versus CycleGAN + resnet.

Each configuration runs in its own process (so peak resident memory is its own), trains
a few warm-up steps and then times steps on real photo crops; the printed ratio is
measured in this one run, on this machine.

    python benchmarks/train_speed.py              # default recipe vs --method cyclegan --generator resnet
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = {
    "default (cut + lite)": {"method": "cut", "generator": "lite", "steps": 25, "warmup": 5},
    "cyclegan + resnet": {"method": "cyclegan", "generator": "resnet", "steps": 4, "warmup": 1},
}


def child(method: str, generator: str, steps: int, warmup: int, size: int) -> None:
    from brushwork.data import ImageBank, builtin_dir
    from brushwork.io import load_folder
    from brushwork.training.loop import Budget
    from brushwork.training.recipe import default_recipe
    from brushwork.training.style import train_style_run

    photos = load_folder(builtin_dir("photos")).images
    styles = load_folder(builtin_dir("styles/vangogh")).images
    content, style = ImageBank(photos, size), ImageBank(styles, size)
    r = default_recipe(
        len(style), method=method, generator=generator, size=size, sample_every=10**6, checkpoint_every=10**6
    )
    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        train_style_run(
            content=content, style=style, pairs=None, recipe=r, run_dir=Path(tmp) / "run", style_dir=Path(tmp) / "s",
            budget=Budget(steps=steps), device="cpu", quiet=True, on_step=lambda s, st: stamps.append(time.perf_counter()),
        )  # fmt: skip
    times = [b - a for a, b in zip(stamps[warmup:], stamps[warmup + 1 :], strict=False)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds_per_step": statistics.median(times), "peak_mb": peak_mb, "precision": r.precision}))


def measure(size: int = 256) -> dict[str, dict[str, float]]:
    out = {}
    for name, c in CONFIGS.items():
        cmd = [
            sys.executable,
            __file__,
            "--child",
            c["method"],
            c["generator"],
            str(c["steps"]),
            str(c["warmup"]),
            str(size),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[name] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def report(res: dict[str, dict[str, float]]) -> str:
    lines = [f"{'training step at 256x256':28s} {'s/step':>8s} {'peak MB':>8s}"]
    for name, r in res.items():
        lines.append(f"{name:28s} {r['seconds_per_step']:8.3f} {r['peak_mb']:8.0f}")
    a, b = (r["seconds_per_step"] for r in res.values())
    lines.append(f"default step = 1/{b / a:.1f} of a cyclegan+resnet step (goal: at most 1/30)")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        m, g, n, w, s = sys.argv[2:7]
        child(m, g, int(n), int(w), int(s))
    else:
        ap = argparse.ArgumentParser(description=__doc__)
        ap.add_argument("--size", type=int, default=256)
        print(report(measure(ap.parse_args().size)))

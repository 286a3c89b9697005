"""GAN benchmark: our FastGAN-class and DCGAN-class pairs versus the textbook MLP GAN, same
data, loss (least squares) and wall-clock budget, on crops of the Van Gogh paintings; then a
small usefulness test of ``augment`` for a classifier trained on few labelled images.

    python benchmarks/gan_bench.py --minutes 30 --sizes 128 --archs fastgan   # SWD over time, FD, grids
    python benchmarks/gan_bench.py --usefulness --minutes 1 --archs dcgan   # augment vs no augment

SWD is the multi-scale patch sliced-Wasserstein distance (x1000) between 256 samples and
256 real crops, FD the Frechet distance in the style predictor's pooled MobileNetV2 features;
lower is better; "real vs real" is the floor set by sampling noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from brushwork.data import ImageBank, relative_crops
from brushwork.io import load_folder, save_image_atomic, tensor_to_pil
from brushwork.metrics import swd_distance
from brushwork.training.gan import default_gan_recipe, sample_noise, train_gan_run
from brushwork.training.loop import Budget

VANGOGH = Path(__file__).resolve().parents[2] / "shared" / "data" / "styles" / "vangogh"


def grid(x: torch.Tensor, cols: int = 8) -> torch.Tensor:
    rows = [torch.cat(list(x[i : i + cols]), dim=2) for i in range(0, len(x), cols)]
    return torch.cat(rows, dim=1)


def run_quality(minutes: float, sizes: list[int], out: Path, images: Path, archs: list[str], seed: int) -> dict:
    """Each architecture trained for ``minutes`` per size, scored over time by SWD (probe
    time kept out of the budget), then by ``gan.evaluate``: SWD and the Frechet distance in
    pretrained features against their real-vs-real floors, the memorisation check, frame and
    checkerboard. Models are kept in ``out/models`` for sampling."""
    import shutil

    from brushwork.gan import evaluate, format_report, generate

    rep = load_folder(images, max_side=512)
    results: dict = {}
    for size in sizes:
        bank = ImageBank(rep.images, size)
        real = relative_crops(bank, 256, size, (0.5, 1.0), torch.Generator().manual_seed(123))
        for arch in archs:
            r = default_gan_recipe(len(bank), size=size, arch=arch)
            if arch == "mlp":  # the textbook: no augmentation or R1, least squares, separate optimizers
                r.diffaug, r.lambda_r1 = "", 0.0
            curve: list[tuple[int, float, float]] = []
            z = sample_noise(256, r.z_dim, 99)

            def probe(step: int, secs: float, g: nn.Module, z: torch.Tensor = z, curve: list = curve,
                      real: torch.Tensor = real, arch: str = arch, size: int = size) -> None:  # fmt: skip
                was = g.training
                g.eval()
                with torch.no_grad():
                    fake = torch.cat([g(z[i : i + 64]).float().cpu() for i in range(0, 256, 64)])
                g.train(was)
                curve.append((step, round(secs / 60, 2), round(swd_distance(fake, real), 2)))
                print(f"  {arch} {size}px step {step:6d} {secs / 60:5.1f} min  SWD {curve[-1][2]:.1f}", flush=True)

            model = out / "models" / f"{arch}-{size}-s{seed}"
            shutil.rmtree(model, ignore_errors=True)
            with tempfile.TemporaryDirectory() as tmp:
                train_gan_run(images=bank, recipe=r, run_dir=Path(tmp) / "run", model_dir=model, seed=seed,
                              budget=Budget(minutes=minutes), device="cpu", quiet=True, probe=probe,
                              probe_every=100 if arch != "mlp" else 400, sources={"images_dir": str(images)})  # fmt: skip
            report = evaluate(model, images)
            steps = json.loads((model / "style.json").read_text())["training"]["steps"]
            results[f"{arch}-{size}"] = {**report, "steps": steps, "curve": curve}
            fake = generate(model, 32, seed=1)
            save_image_atomic(tensor_to_pil(grid(fake)), out / f"gan_{arch}_{size}_s{seed}.png")
            print(f"{arch} {size}px, {steps} steps in {minutes} min:\n{format_report(report)}", flush=True)
    return results


# ---- usefulness: few labelled images of drawn shapes ------------------------------------
def shapes(n: int, cls: int, gen: torch.Generator, size: int = 32) -> torch.Tensor:
    """Noisy drawn shapes: 0 circle, 1 square, 2 triangle; random position, size, colours."""
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    out = []
    for _ in range(n):
        cx, cy = (torch.rand(2, generator=gen) * 0.4 + 0.3) * size
        r = (torch.rand((), generator=gen) * 0.12 + 0.22) * size
        if cls == 0:
            m = ((xs - cx) ** 2 + (ys - cy) ** 2) < r**2
        elif cls == 1:
            m = ((xs - cx).abs() < r * 0.85) & ((ys - cy).abs() < r * 0.85)
        else:
            m = (ys - cy < r * 0.8) & (ys - cy > -r * 0.8) & ((xs - cx).abs() < (ys - cy + r * 0.8) * 0.6)
        # a dark shape on a light ground, random colours: the shape (not the colour) is the label
        fg = torch.rand(3, 1, 1, generator=gen) * 0.5
        bg = 0.5 + torch.rand(3, 1, 1, generator=gen) * 0.5
        img = torch.where(m[None], fg, bg) + torch.randn(3, size, size, generator=gen) * 0.08
        out.append(img.clamp(0, 1) * 2 - 1)
    return torch.stack(out)


def classifier() -> nn.Module:
    """A small CNN with global average pooling (position does not matter for the label)."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(64, 3),
    )  # fmt: skip


def fit_eval(x: torch.Tensor, y: torch.Tensor, xt: torch.Tensor, yt: torch.Tensor, seed: int) -> float:
    torch.manual_seed(seed)
    net = classifier()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(600):
        idx = torch.randint(0, len(x), (32,))
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return (net(xt).argmax(1) == yt).float().mean().item()


def run_usefulness(minutes: float, per_class_real: int, synth: int, seeds: int, arch: str) -> dict:
    """Real only, and real plus generated images from ``augment --mode generate``: with
    ``--no-check`` (class GANs on all real images) ``synth`` per class and fewer (as many as
    the real ones); and the default, whose held-out check keeps as many as help a probe."""
    from brushwork.augment import augment
    from brushwork.io import load_image, pil_to_tensor

    gen = torch.Generator().manual_seed(0)
    test_x = torch.cat([shapes(200, c, gen) for c in range(3)])
    test_y = torch.arange(3).repeat_interleave(200)
    rows: dict[str, list[float]] = {}
    for seed in range(seeds):
        g = torch.Generator().manual_seed(100 + seed)
        real = [shapes(per_class_real, c, g) for c in range(3)]
        x = torch.cat(real)
        y = torch.arange(3).repeat_interleave(per_class_real)
        with tempfile.TemporaryDirectory() as tmp:
            # the class generators stay out of the user's library
            os.environ["BRUSHWORK_HOME"] = str(Path(tmp) / "home")
            data = Path(tmp) / "data"
            for c, imgs in enumerate(real):
                for i, t in enumerate(imgs):
                    save_image_atomic(tensor_to_pil(t), data / f"class{c}" / f"{i}.png")
            cands, kept = [], []
            for check in (False, True):  # the images as generated, and what the default held-out check keeps
                out = augment(data, Path(tmp) / f"aug{int(check)}", mode="generate", per_class=synth,
                              minutes=minutes, size=32, seed=seed, quiet=True, originals=False,
                              recipe={"arch": arch}, check=check)  # fmt: skip
                cands.append([
                    torch.stack([pil_to_tensor(load_image(p)) for p in sorted((out / f"class{c}").glob("*.png"))])
                    if (out / f"class{c}").is_dir() else torch.zeros(0, 3, 32, 32)
                    for c in range(3)
                ])  # fmt: skip
                if check:
                    report = json.loads((out / "check.json").read_text())
                    kept.append(report["kept_per_class"])
                    print(f"seed {seed}: held-out check {report['counts']}", flush=True)
        variants = {
            "real only": [],
            f"+ {synth} generated": [cs[:synth] for cs in cands[0]],
            f"+ {per_class_real} generated": [cs[:per_class_real] for cs in cands[0]],
            "+ generated, held-out check (default)": cands[1],
        }
        rows.setdefault("kept per class", []).extend(kept)
        line = []
        for name, extra in variants.items():
            xa = torch.cat([x, *extra])
            ya = torch.cat([y, *[torch.full((len(e),), c) for c, e in enumerate(extra)]])
            acc = fit_eval(xa, ya, test_x, test_y, seed)
            rows.setdefault(name, []).append(acc)
            line.append(f"{name} {acc:.3f}")
        print(f"seed {seed}: " + ", ".join(line), flush=True)
    for k, v in rows.items():
        if k == "kept per class":
            print(f"the check kept {v} generated images per class")
            continue
        print(f"{k:40s} accuracy {statistics.mean(v):.3f} +- {statistics.pstdev(v):.3f} over {len(v)} seeds")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--sizes", default="64,128")
    ap.add_argument("--archs", default="fastgan,dcgan,mlp", help="GAN pairs to compare (quality)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--images", type=Path, default=VANGOGH)
    ap.add_argument("--out", type=Path, default=Path("bench-out/gan"))
    ap.add_argument("--usefulness", action="store_true")
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--synthetic", type=int, default=40)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(torch.get_num_threads())
    if args.usefulness:
        arch = args.archs.split(",")[0]
        res = run_usefulness(args.minutes, args.per_class, args.synthetic, args.seeds, arch)
        name = f"usefulness_{arch}.json"
    else:
        res = run_quality(args.minutes, [int(s) for s in args.sizes.split(",")], args.out, args.images,
                          args.archs.split(","), args.seed)  # fmt: skip
        name = f"gan_results_{'_'.join(args.archs.split(','))}_{args.sizes.replace(',', '_')}_s{args.seed}.json"
    (args.out / name).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    sys.exit(main())

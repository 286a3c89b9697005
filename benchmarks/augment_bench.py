"""Does stylize augmentation help a classifier meet a shift of look?

The task (labelled crops of the shared photos): four kinds of subject (buildings, boats,
people, nature), 256-px square crops; the training crops come from three photos of each kind,
the test crops from two or three other photos of it (``SUBJECTS``). 12 labelled crops per
kind to train, 30 per kind to test.

For each look (fresh seeds from ``../shared/looks``: ``make_look`` and ``make_preset``, drawn
and printed), the model meets test images in the look; brushwork sees 20 *unlabelled* images
in the look (other composites) and learns it with ``augment --mode stylize --look FOLDER``
(the default generator, ``--minutes`` of training). Rows, each training set with classic
augmentation (flips, crops, colour jitter) on top:

* classic: the 48 labelled images only;
* + IDT: plus a copy of each recoloured by set-level iterative distribution transfer to the
  20 look images (the strongest classical colour transfer);
* + brushwork: plus a copy of each from ``augment --mode stylize --look``;
* + true look: plus a copy of each in the true look (the ceiling).

A sheet per look (``sheet_<kind><seed>.jpg``): one training crop per kind of subject, as
the rows see it: the photo, IDT, brushwork, the true look.

Two classifiers: a linear probe on frozen pretrained features (the pooled 1280-d MobileNetV2
features of Magenta's style predictor, ``nets/magenta.py``) and a small CNN trained from
scratch at 64 px (mean of ``--cnn-seeds`` runs). Accuracy on 30 test images per class in the
look, and at home (the same test images without the look).

    OMP_NUM_THREADS=1 python benchmarks/augment_bench.py --looks 2 --presets 2 --minutes 3 --tag _a
    python benchmarks/augment_bench.py --table bench-out/augment/results_*.json
    python benchmarks/augment_bench.py --speed sepia,pencil,vangogh      # StyleAugment's images/s
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from brushwork.metrics import linear_probe
from brushwork.nets.magenta import pooled_features

SHARED = Path(__file__).resolve().parents[2] / "shared"
PHOTOS = SHARED / "data" / "photos"
SIDE = 256


# ---- the labelled task -------------------------------------------------------------------
# four kinds of subject; training crops come from the first photos, test crops from the others
SUBJECTS = {
    "buildings": (["kodim01", "kodim08", "kodim24"], ["kodim22", "kodim19"]),
    "boats": (["kodim06", "kodim10", "kodim14"], ["kodim09", "kodim11"]),
    "people": (["kodim04", "kodim12", "kodim18"], ["kodim15", "grace_hopper", "astronaut"]),
    "nature": (["kodim13", "kodim16", "kodim21"], ["kodim23", "flower"]),
}
CLASSES = tuple(SUBJECTS)


def _photo(name: str) -> Image.Image:
    folder = PHOTOS / ("kodak24" if name.startswith("kodim") else "samples")
    return Image.open(next(folder.glob(f"{name}.*"))).convert("RGB")


def _crop(rng: np.random.Generator, photo: Image.Image) -> Image.Image:
    s = int(rng.uniform(0.55, 0.95) * min(photo.size))
    x, y = int(rng.integers(0, photo.width - s + 1)), int(rng.integers(0, photo.height - s + 1))
    im = photo.crop((x, y, x + s, y + s)).resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    return im.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else im


def crops(n_per_class: int, split: int, seed: int) -> tuple[list[Image.Image], list[int]]:
    """n labelled square crops per kind of subject from its training (split 0) or test (1)
    photos, taken in turn from each photo."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for cls, kind in enumerate(CLASSES):
        photos = [_photo(n) for n in SUBJECTS[kind][split]]
        for i in range(n_per_class):
            images.append(_crop(rng, photos[i % len(photos)]))
            labels.append(cls)
    return images, labels


# ---- looks -------------------------------------------------------------------------------
def look_of(kind: str, seed: int):
    sys.path.insert(0, str(SHARED / "looks"))
    from random_looks import make_look, make_preset

    return make_look(seed) if kind == "look" else make_preset(seed)


def styled(look, images: list[Image.Image]) -> list[Image.Image]:
    return [Image.fromarray(look(np.asarray(im))) for im in images]


def fresh(kind: str, n: int) -> list[int]:
    out: list[int] = []
    while len(out) < n:
        s = secrets.randbelow(10**6)
        try:  # a few seeds of random_looks.py cannot be applied (a bad filter size): skip them
            styled(look_of(kind, s), [Image.new("RGB", (64, 64), (90, 120, 150))])
        except Exception:
            continue
        out.append(s)
    return out


# ---- classifiers -------------------------------------------------------------------------
def to_tensor(im: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(im, np.float32) / 127.5 - 1).permute(2, 0, 1)


def classic(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flips, a random crop of 70-100% resized back, brightness/contrast/saturation jitter."""
    b, _, h, w = x.shape
    out = []
    for i in range(b):
        t = x[i]
        if torch.rand(1, generator=gen) < 0.5:
            t = t.flip(-1)
        s = float(torch.empty(1).uniform_(0.7, 1.0, generator=gen))
        ch, cw = int(h * s), int(w * s)
        top = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
        left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
        t = F.interpolate(t[None, :, top : top + ch, left : left + cw], size=(h, w), mode="bilinear")[0]
        br, co, sa = (float(torch.empty(1).uniform_(0.75, 1.25, generator=gen)) for _ in range(3))
        grey = t.mean(0, keepdim=True)
        t = grey + (t - grey) * sa
        t = (t - t.mean()) * co + t.mean()
        t = (t + 1) * br - 1
        out.append(t.clamp(-1, 1))
    return torch.stack(out)


def probe(xtr: torch.Tensor, ytr: torch.Tensor, tests: dict[str, tuple[torch.Tensor, torch.Tensor]],
          views: int, seed: int) -> dict[str, float]:  # fmt: skip
    """A linear probe (``metrics.linear_probe``) on the pooled features of ``views`` classic
    views of each training image, scored on ``tests`` (their features and labels)."""
    gen = torch.Generator().manual_seed(seed)
    f = torch.cat([pooled_features(classic(xtr, gen)) for _ in range(views)])
    logits = linear_probe(f, ytr.repeat(views), len(CLASSES))
    with torch.no_grad():
        return {k: (logits(ft).argmax(1) == t).float().mean().item() for k, (ft, t) in tests.items()}


def small_cnn() -> nn.Module:
    def block(i: int, o: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 64), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(64, len(CLASSES)))  # fmt: skip


def cnn(xtr: torch.Tensor, ytr: torch.Tensor, tests: dict[str, tuple[torch.Tensor, torch.Tensor]], seed: int,
        steps: int = 400) -> dict[str, float]:  # fmt: skip
    small = F.interpolate(xtr, size=(64, 64), mode="area")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = small_cnn()
    opt = torch.optim.Adam(net.parameters(), 2e-3, weight_decay=1e-4)
    for _ in range(steps):
        idx = torch.randint(0, len(small), (32,), generator=gen)
        loss = F.cross_entropy(net(classic(small[idx], gen)), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        return {k: (net(F.interpolate(x, size=(64, 64), mode="area")).argmax(1) == t).float().mean().item()
                for k, (x, t) in tests.items()}  # fmt: skip


# ---- one look ----------------------------------------------------------------------------
def brushwork_copies(train: list[Image.Image], labels: list[int], unlabelled: list[Image.Image], minutes: float,
                     seed: int, tmp: Path) -> tuple[list[Image.Image], str]:  # fmt: skip
    """``augment --mode stylize --look`` on the labelled set, as a user would run it."""
    from brushwork.augment import augment

    data, look = tmp / "data", tmp / "look"
    for i, (im, c) in enumerate(zip(train, labels, strict=True)):
        (data / CLASSES[c]).mkdir(parents=True, exist_ok=True)
        im.save(data / CLASSES[c] / f"{i:03d}.png")
    look.mkdir()
    for i, im in enumerate(unlabelled):
        im.save(look / f"{i:03d}.png")
    out = augment(data, tmp / "aug", mode="stylize", look=look, minutes=minutes, seed=seed, originals=False, quiet=True)
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    by_source = {Path(r["source"]).name: out / r["file"] for r in rows}
    style = json.loads((Path(rows[0]["style_path"]) / "style.json").read_text())
    generator = style["generator"]["name"]
    return [Image.open(by_source[f"{i:03d}.png"]).convert("RGB") for i in range(len(train))], generator


def run_look(kind: str, seed: int, args: argparse.Namespace, task: dict) -> dict:
    from brushwork.look.transport import fit_idt

    look = look_of(kind, seed)
    print(f"{kind} {seed}: {look.describe()}", flush=True)
    train, labels = task["train"]
    unlabelled = styled(look, task["unlabelled"])
    test_home, test_labels = task["test"]
    t_look = torch.stack([to_tensor(im) for im in styled(look, test_home)])
    t_home = torch.stack([to_tensor(im) for im in test_home])
    yt = torch.tensor(test_labels)
    tests = {"look": (t_look, yt), "home": (t_home, yt)}
    test_feats = {k: (pooled_features(x), t) for k, (x, t) in tests.items()}  # once per look: every row uses them
    x0 = torch.stack([to_tensor(im) for im in train])
    y0 = torch.tensor(labels)
    idt = fit_idt([x for x in x0], [to_tensor(im) for im in unlabelled], seed=seed)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BRUSHWORK_HOME"] = str(Path(tmp) / "home")  # the learned looks stay out of the library
        ours, family = brushwork_copies(train, labels, unlabelled, args.minutes, seed, Path(tmp))
    learn_s = time.time() - t0
    extra = {
        "classic": None,
        "+ IDT": torch.stack([idt(x).clamp(-1, 1) for x in x0]),
        "+ brushwork": torch.stack([to_tensor(im) for im in ours]),
        "+ true look": torch.stack([to_tensor(im) for im in styled(look, train)]),
    }
    # what --mix 0.5 writes: copies of a random half of the labelled crops
    half = torch.randperm(len(x0), generator=torch.Generator().manual_seed(seed))[: len(x0) // 2].sort().values
    sheet = [torch.cat([extra[k][i] if extra[k] is not None else x0[i] for k in extra], 2) for i in (0, 12, 24, 36)]
    from brushwork.io import save_image_atomic, tensor_to_pil

    save_image_atomic(tensor_to_pil(torch.cat(sheet, 1)).reduce(2), args.out / f"sheet_{kind}{seed}.jpg")
    result: dict = {"kind": kind, "seed": seed, "look": look.describe(), "generator": family, "learn_s": learn_s,
                    "rows": {}}  # fmt: skip
    for row, copies in [*extra.items(), ("+ brushwork, mix 0.5", extra["+ brushwork"][half])]:
        xtr = x0 if copies is None else torch.cat([x0, copies])
        ytr = y0 if copies is None else torch.cat([y0, y0 if len(copies) == len(y0) else y0[half]])
        lin = probe(xtr, ytr, test_feats, args.views, seed)
        runs = [cnn(xtr, ytr, tests, seed * 10 + k, args.cnn_steps) for k in range(args.cnn_seeds)]
        small = {k: float(np.mean([r[k] for r in runs])) for k in tests}
        result["rows"][row] = {"probe": lin, "cnn": small}
        print(f"  {row:22s} probe look {lin['look']:.3f} home {lin['home']:.3f} | "
              f"cnn look {small['look']:.3f} home {small['home']:.3f}", flush=True)  # fmt: skip
    return result


def make_task(seed: int) -> dict:
    return {
        "train": crops(12, 0, seed),
        "unlabelled": crops(5, 0, seed + 1)[0],  # 20 other crops, their labels unused
        "test": crops(30, 1, seed + 2),
    }


# ---- the table ---------------------------------------------------------------------------
def table(files: list[Path]) -> None:
    results = [r for f in files for r in json.loads(f.read_text())["looks"]]
    rows = ["classic", "+ IDT", "+ brushwork", "+ brushwork, mix 0.5", "+ true look"]
    rows = [k for k in rows if all(k in r["rows"] for r in results)]  # (results from before the mix row)
    for clf in ("probe", "cnn"):
        print(f"\n{clf}: accuracy on the look's test images (at home in brackets)\n")
        print("| look | " + " | ".join(rows) + " | brushwork - classic |")
        print("|---" * (len(rows) + 2) + "|")
        gains = []
        for r in results:
            cells = [f"{r['rows'][k][clf]['look']:.3f} ({r['rows'][k][clf]['home']:.3f})" for k in rows]
            g = r["rows"]["+ brushwork"][clf]["look"] - r["rows"]["classic"][clf]["look"]
            gains.append(g)
            name = f"{'p' if r['kind'] == 'preset' else 'r'}{r['seed']} ({r['generator']})"
            print(f"| {name} | " + " | ".join(cells) + f" | {100 * g:+.1f} |")
        means = [
            f"{np.mean([r['rows'][k][clf]['look'] for r in results]):.3f} "
            f"({np.mean([r['rows'][k][clf]['home'] for r in results]):.3f})"
            for k in rows
        ]
        print("| **mean** | " + " | ".join(means) + f" | **{100 * np.mean(gains):+.1f}** |")


def speed(styles: list[str], n: int) -> None:
    """Images/s of ``StyleAugment`` (p=1) on 256-px crops, one style at a time, against the
    classic augmentation above in the same process (its ratio is what a data loader feels)."""
    from brushwork.augment import StyleAugment

    images = crops(n // len(CLASSES) + 1, 0, 5)[0][:n]
    tensors = [to_tensor(im)[None] for im in images]
    gen = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    for x in tensors:
        classic(x, gen)
    ref = n / (time.perf_counter() - t)
    print(f"{torch.get_num_threads()} threads; classic augmentation: {ref:.0f} images/s at {SIDE} px")
    for name in styles:
        aug = StyleAugment([name], p=1.0, seed=0)
        aug(images[0])  # warm-up (first call loads and compiles)
        t = time.perf_counter()
        for im in images:
            aug(im)
        rate = n / (time.perf_counter() - t)
        family = aug.stylizers[0].meta["generator"]["name"]
        print(f"StyleAugment {name} ({family}): {rate:.1f} images/s, {ref / rate:.0f}x the classic augmentation's time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--looks", type=int, default=4, help="fresh make_look seeds")
    ap.add_argument("--presets", type=int, default=4, help="fresh make_preset seeds")
    ap.add_argument("--look-seeds", default="", help="given make_look seeds instead, comma-separated")
    ap.add_argument("--preset-seeds", default="", help="given make_preset seeds instead, comma-separated")
    ap.add_argument("--minutes", type=float, default=3.0, help="brushwork's time to learn each look")
    ap.add_argument("--views", type=int, default=4, help="classic-augmented views per image for the probe")
    ap.add_argument("--cnn-seeds", type=int, default=3)
    ap.add_argument("--cnn-steps", type=int, default=400)
    ap.add_argument("--task-seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("bench-out/augment"))
    ap.add_argument("--tag", default="")
    ap.add_argument("--table", nargs="*", type=Path, help="print the tables of saved results and stop")
    ap.add_argument("--speed", help="time StyleAugment with these styles (comma-separated) and stop")
    ap.add_argument("--speed-images", type=int, default=64)
    args = ap.parse_args()
    if args.speed:
        speed(args.speed.split(","), args.speed_images)
        return
    if args.table:
        table(args.table)
        return
    looks = [int(s) for s in args.look_seeds.split(",") if s] or fresh("look", args.looks)
    presets = [int(s) for s in args.preset_seeds.split(",") if s] or fresh("preset", args.presets)
    print(f"make_look seeds {looks}, make_preset seeds {presets}", flush=True)
    task = make_task(args.task_seed)
    results = []
    args.out.mkdir(parents=True, exist_ok=True)
    dest = args.out / f"results{args.tag}.json"
    for kind, seeds in (("look", looks), ("preset", presets)):
        for s in seeds:
            results.append(run_look(kind, s, args, task))
            dest.write_text(json.dumps({"args": vars(args) | {"out": str(args.out), "table": None},
                                        "looks": results}, indent=1))  # fmt: skip
    table([dest])


if __name__ == "__main__":
    main()

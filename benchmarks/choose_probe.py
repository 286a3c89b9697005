"""Can the style set alone say where training should start? A probe, kept with its negative result.

Three starting points, each fitted on style images and applied to photos: the photo itself,
set-level IDT (lite's start) and the painter's pretrained start (Magenta's transfer network
with the set's mean style vector). Without ground truth, the candidate rule picks the start
whose outputs on the content photos land closest to style images in multi-scale patch
distribution (``losses.swd.set_patch_swd``), measured on images the starts were not fitted on
(4-fold cross-validation over the style set; ``--in-sample`` fits and measures on all of
them). On random looks the ground truth is known, so the probe prints, per look, each start's
blurred PSNR on held-out photos, the distances and whether the rule picked the best start.

    python benchmarks/choose_probe.py --random 12
    python benchmarks/choose_probe.py --seeds 359835,891929 --in-sample

Findings (docs/benchmarks.md, "Choosing where to start"): not a rule that holds, so the
product does not use it.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brushwork.colortransfer import fit_idt
from brushwork.losses.swd import set_patch_swd
from brushwork.nets import create
from brushwork.nets.magenta import style_encoder
from looks import parse_seeds, styled_sets
from quality import SHARED, score, split_photos

SIDE = 384
FOLDS = 4


def small(t: torch.Tensor) -> torch.Tensor:
    s = SIDE / max(t.shape[-2:])
    return F.interpolate(t[None], scale_factor=s, mode="bilinear", antialias=True)[0] if s < 1 else t


def folds(n: int, in_sample: bool) -> list[tuple[list[int], list[int]]]:
    if in_sample or n < FOLDS:
        return [(list(range(n)), list(range(n)))]
    return [([i for i in range(n) if i % FOLDS != f], [i for i in range(n) if i % FOLDS == f]) for f in range(FOLDS)]


@torch.no_grad()
def starts(content: list[torch.Tensor], fit: list[torch.Tensor], painter: torch.nn.Module, vec: torch.Tensor):
    idt = fit_idt(content, fit, seed=0)
    painter.style.copy_(vec)
    return {
        "photo": content,
        "idt": [idt(t[None])[0] for t in content],
        "painter": [painter(t[None])[0] for t in content],
    }


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", type=int, default=0, help="this many random looks with fresh seeds")
    ap.add_argument("--seeds", default="", help="look seeds, e.g. 3,7,10-12")
    ap.add_argument("--in-sample", action="store_true", help="fit and measure the starts on all style images")
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds) if args.seeds else [secrets.randbelow(10**6) for _ in range(args.random)]
    print(f"seeds: {','.join(map(str, seeds))}  ({'in-sample' if args.in_sample else f'{FOLDS}-fold'})", flush=True)
    torch.set_num_threads(1)
    a, b, c, _ = split_photos(SHARED)
    a, b, c = [small(t) for t in a], [small(t) for t in b], [small(t) for t in c]
    painter = create("generator", "painter")
    painter.load_pretrained()
    painter.eval()
    enc = style_encoder()
    hits, n, regret = 0, 0, 0.0
    for seed in seeds:
        looked = styled_sets(seed, b, c)
        if looked is None:
            continue
        desc, (style, truth) = looked
        vecs = torch.stack([enc(t[None])[0] for t in style])
        # ground truth: each start fitted on the whole set, scored on held-out photos
        held_out = starts(c, style, painter, vecs.mean(0))
        bp = {k: score(v, truth)["bpsnr"] for k, v in held_out.items()}
        dist = dict.fromkeys(bp, 0.0)
        splits = folds(len(style), args.in_sample)
        for fit_ids, held_ids in splits:
            outs = starts(a, [style[i] for i in fit_ids], painter, vecs[fit_ids].mean(0))
            for k, v in outs.items():
                dist[k] += set_patch_swd(v, [style[i] for i in held_ids]) / len(splits)
        best, pick = max(bp, key=lambda k: bp[k]), min(dist, key=lambda k: dist[k])
        n += 1
        hits += best == pick
        regret += bp[best] - bp[pick]
        print(
            f"{seed:7d} {desc.split(':', 1)[1][:44]:44s} bPSNR "
            + " ".join(f"{k} {v:5.2f}" for k, v in bp.items())
            + " | distance "
            + " ".join(f"{k} {v:.4f}" for k, v in dist.items())
            + f" | {'ok' if best == pick else 'MISS: ' + pick}",
            flush=True,
        )
    print(f"picked the best start on {hits}/{n} looks; mean bPSNR lost to wrong picks {regret / max(n, 1):.2f} dB")


if __name__ == "__main__":
    main()

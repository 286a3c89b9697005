"""Does the measured grain match a look's, and what does adding it do?

No training: for random looks (fresh seeds unless ``--seeds``; printed), lite is built as
the default recipe starts it (the colour transport from the content photos A to the styled
photos B, the screen fitted to B, then the grain measured against its outputs on A:
``LiteGenerator.start_texture``), and its start is scored on the held-out photos C with the
grain as fitted and with none: blurred PSNR, raw PSNR and the Magenta style distance to B
(peer.py), beside the true outputs'. The look's own grain (``texture(kind=grain)``, its
amount in [0, 1] units, so twice that in brushwork's [-1, 1]) is printed where it has one.
``--styles DIR ...``: style folders with no ground truth (real art): the fitted spread only.

    python benchmarks/grain_probe.py --random 8
    python benchmarks/grain_probe.py --grainy 3       # fresh looks that have grain
    python benchmarks/grain_probe.py --seeds 821171,865033,704335
    python benchmarks/grain_probe.py --styles ../shared/data/styles/vangogh ../shared/data/styles/raphael
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer
from brushwork import nets
from brushwork.io import list_images, load_image, pil_to_tensor
from brushwork.look.screen import fit_screen
from brushwork.look.transport import COLOUR_SMOOTH, fit_colour_transport
from looks import parse_seeds, random_look, styled_sets
from quality import SHARED, score, split_photos


def start(content: list[torch.Tensor], style: list[torch.Tensor]) -> torch.nn.Module:
    """lite at the default recipe's start: colour transport, screen and grain fitted."""
    torch.manual_seed(0)
    freqs = [f for pair in fit_screen(content, style) for f in pair] or None
    g = nets.create("generator", "lite", structure=True, screen=freqs, grain=True).eval()
    g.start_colour(fit_colour_transport(content, style, seed=0), smooth=COLOUR_SMOOTH)
    g.start_texture(style, seed=0, content_images=content)
    return g


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", type=int, default=0)
    ap.add_argument("--seeds", default="")
    ap.add_argument("--grainy", type=int, default=0, help="draw this many random looks that have grain")
    ap.add_argument("--styles", nargs="*", type=Path, default=[])
    args = ap.parse_args()
    a, b, c, _ = split_photos(SHARED)
    for folder in args.styles:
        ims = [pil_to_tensor(load_image(p)) for p in list_images(folder)]
        # at most 768 px, about the size training works at on this machine
        ims = [F.interpolate(t[None], scale_factor=min(1.0, 768 / max(t.shape[-2:])), mode="area")[0] for t in ims]
        print(f"{folder}: fitted grain {float(start(a, ims).grain.amount):.4f}", flush=True)
    seeds = parse_seeds(args.seeds) if args.seeds else []
    seeds += [secrets.randbelow(10**6) for _ in range(args.random)]
    while sum("kind=grain" in random_look(s)[1] for s in seeds) < args.grainy:
        s = secrets.randbelow(10**6)
        if "kind=grain" in random_look(s)[1]:
            seeds.append(s)
    if not seeds:
        return
    print(f"random look seeds: {','.join(map(str, seeds))}")
    mag = peer.Magenta()
    for s in seeds:
        looked = styled_sets(s, b, c)
        if looked is None:
            continue
        desc, (style, truth) = looked
        g = start(a, style)
        fitted = float(g.grain.amount)
        target = mag.set_vector(style)
        cells = []
        for amount in (fitted, 0.0):
            g.grain.amount.fill_(amount)
            with torch.no_grad():
                outs = [g.texture(g(t[None]))[0].clamp(-1, 1) for t in c]
            sc = score(outs, truth)
            cells.append(
                f"grain {amount:.3f}: bPSNR {sc['bpsnr']:.2f} PSNR {sc['psnr']:.2f} style {mag.distance(outs, target):.3f}"
            )
        print(f"r{s}: {desc}", flush=True)
        print(f"    {' | '.join(cells)} | true outputs' style {mag.distance(truth, target):.3f}", flush=True)


if __name__ == "__main__":
    main()

"""Does ``--generator auto`` choose the painter for drawn looks and lite for the rest?

No training: for random looks with fresh seeds (printed), the measure ``look.choose``
reads from the sets (how much of the style's colour local structure explains beyond the
photos', on the style images with their vignette and screen taken out) and the generator it
picks, beside the look's own stages. The rule is right when it picks the painter exactly for
the looks that draw (a ``drawing`` stage: paper and pencil placed by the photo's structure),
where the painter was as good in blurred PSNR and half the style distance (docs/benchmarks.md,
"Choosing the generator"). ``--art`` adds the real-art sets of shared/data/styles.

    python benchmarks/generator_probe.py --random 24
    python benchmarks/generator_probe.py --drawings 6 --textured 6 --random 6   # fresh seeds of each kind
    python benchmarks/generator_probe.py --art
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brushwork.data import builtin_dir
from brushwork.io import list_images, load_image, pil_to_tensor
from brushwork.look.choose import choose_generator
from looks import fresh_seeds, parse_seeds, styled_sets
from quality import SHARED, split_photos

STYLES = SHARED.parent / "styles"


def art_set(name: str, side: int = 1024) -> list[torch.Tensor]:
    ims = []
    for p in list_images(STYLES / name):
        t = pil_to_tensor(load_image(p))
        s = side / max(t.shape[-2:])
        ims.append(F.interpolate(t[None], scale_factor=s, mode="area")[0] if s < 1 else t)
    return ims


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=0, help="this many fresh seeds")
    ap.add_argument("--drawings", type=int, default=0, help="this many fresh seeds whose looks draw")
    ap.add_argument(
        "--textured", type=int, default=0, help="this many fresh seeds of halftone or hatching over a grade"
    )
    ap.add_argument("--flat", type=int, default=0, help="this many fresh seeds of flat colour (no drawing)")
    ap.add_argument("--grainy", type=int, default=0, help="this many fresh seeds of grain (no drawing)")
    ap.add_argument("--seeds", default="", help="repeat given seeds")
    ap.add_argument("--art", action="store_true", help="also the real-art sets (no truth: which it picks)")
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds) if args.seeds else []
    seeds += fresh_seeds(args.drawings, "drawing") + fresh_seeds(args.textured, "textured")
    seeds += fresh_seeds(args.flat, "flat") + fresh_seeds(args.grainy, "grainy")
    seeds += [secrets.randbelow(10**6) for _ in range(args.random)]
    print(f"random look seeds: {','.join(map(str, seeds))}", flush=True)
    a, b, _, _ = split_photos(SHARED)
    cases: list[tuple[str, str, list[torch.Tensor], bool | None]] = []
    if args.art:
        builtin = [pil_to_tensor(load_image(p)) for p in list_images(builtin_dir("styles/vangogh"))]
        cases += [("vangogh12", "the 12 built-in Van Gogh paintings", builtin, None)]
        cases += [(name, name, art_set(name), None) for name in ("vangogh", "raphael")]
        singles = list_images(STYLES / "singles")  # each one painting, as a user with one would have
        cases += [(p.stem[:9], p.stem, [t], None) for p, t in zip(singles, art_set("singles"), strict=True)]
    right = total = 0
    for name, desc, style, draws in cases + [(f"r{s}", "", [], None) for s in seeds]:
        if not style:
            looked = styled_sets(int(name[1:]), b)
            if looked is None:
                continue
            desc, (style,) = looked
            draws = "drawing(" in desc
        t0 = time.perf_counter()
        generator, why = choose_generator(a, style)
        verdict = ""
        if draws is not None:
            ok = (generator == "painter") == draws
            right, total = right + ok, total + 1
            verdict = "right" if ok else "WRONG"
        stages = " -> ".join(p.split("(")[0] for p in desc.split(": ", 1)[-1].split(" -> "))
        if draws is None:
            stages = desc
        print(f"{name:9s} drawn share {why['drawn_share']:.2f} strokes {why['stroke_excess']:.2f}x "
              f"-> {generator:7s} {verdict:5s} "
              f"({time.perf_counter() - t0:.0f} s)  {stages}", flush=True)  # fmt: skip
    if total:
        print(f"right on {right} of {total} random looks")


if __name__ == "__main__":
    main()

"""Dark blobs on paper: does a learned drawing style leave dark blots where the true look
leaves the paper white?

For a random look (``--seed``) and a style learned from it (``--style``, a style folder, e.g.
one kept by ``quality.py --keep-styles``): each held-out photo of ``quality.py``'s split is
stylized at full resolution and compared with the look's own output. A pixel is *dark on
paper* when the truth is light (luminance above 0.6 of [-1, 1]) and the output is darker than
it by more than 0.6; a *blob* pixel is one that survives a 5x5 morphological opening of that
mask (a solid dark patch at least 5 px across, not a stroke). Prints both counts per photo
and writes truth | output side by side to ``--out``.

    python benchmarks/quality.py --minutes 10 --seeds 494028 --out runs/q --keep-styles --no-peer
    python benchmarks/blob_check.py --seed 494028 --style runs/q/style_r494028 --out runs/blobs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brushwork.io import tensor_to_pil
from brushwork.metrics import dark_blobs
from brushwork.stylizer import Stylizer
from looks import random_look
from quality import SHARED, split_photos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True, help="the random look the style learned")
    ap.add_argument("--style", type=Path, required=True, help="the learned style's folder")
    ap.add_argument("--out", type=Path, help="write truth | output images here")
    ap.add_argument("--photos", type=Path, default=SHARED)
    args = ap.parse_args()
    _, _, held_out, names = split_photos(args.photos)
    look, desc = random_look(args.seed)
    print(desc)
    st = Stylizer.load(args.style, device="cpu")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, photo in zip(names, held_out, strict=True):
        out, truth = st.stylize_tensor(photo[None])[0], look(photo)
        dark, blobs = dark_blobs(out, truth)
        total += blobs
        print(f"{name:10s} {tuple(photo.shape[-2:])}  dark on paper {dark:6d} px  in blobs {blobs:5d} px", flush=True)
        if args.out:
            tensor_to_pil(torch.cat([truth, out.clamp(-1, 1)], 2)).save(args.out / f"{name}.png")
    print(f"blob pixels in all: {total}")


if __name__ == "__main__":
    main()

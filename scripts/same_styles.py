"""Same seed, same style: train short styles (the default recipe, a fixed number of steps)
on random looks and mild presets from ``../shared/looks`` and print a hash of each saved
style's weights, so that a change meant to keep behaviour can be checked bit for bit: run it
before and after with the same seeds and compare the lines.

    python scripts/same_styles.py --looks 890843,5683,246412,471894 --presets 982665 [--steps 25]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def small(path: Path) -> np.ndarray:
    im = Image.open(path).convert("RGB")
    im.thumbnail((256, 256))
    return np.asarray(im)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--looks", default="", help="make_look seeds, comma-separated")
    ap.add_argument("--presets", default="", help="make_preset seeds, comma-separated")
    ap.add_argument("--steps", type=int, default=25)
    args = ap.parse_args()
    sys.path.insert(0, str(SHARED / "looks"))
    from random_looks import make_look, make_preset

    home = Path(tempfile.mkdtemp())
    os.environ["BRUSHWORK_HOME"] = str(home)  # a library of its own
    import brushwork

    photos = sorted((SHARED / "data" / "photos" / "kodak24").glob("*.png"))[:16]
    runs = [("look", int(s)) for s in args.looks.split(",") if s] + [
        ("preset", int(s)) for s in args.presets.split(",") if s
    ]
    for kind, seed in runs:
        look = make_look(seed) if kind == "look" else make_preset(seed)
        content, style = home / f"{kind}{seed}-content", home / f"{kind}{seed}-style"
        content.mkdir()
        style.mkdir()
        for i, p in enumerate(photos):  # even photos are the content, odd ones carry the look
            arr = small(p)
            Image.fromarray(arr if i % 2 == 0 else look(arr)).save((content if i % 2 == 0 else style) / f"{p.stem}.png")
        path = brushwork.train_style(style, content, name=f"{kind}{seed}", steps=args.steps, seed=seed, quiet=True)
        digest = hashlib.sha256((path / "generator.safetensors").read_bytes()).hexdigest()[:16]
        meta = json.loads((path / "style.json").read_text())
        print(kind, seed, digest, meta["generator"]["name"], meta["training"]["vignette"], flush=True)


if __name__ == "__main__":
    main()

"""Make the README's before/after gallery (``docs/images/gallery.jpg``) from built-in data.

Six looks, each shown on a built-in photo that no style below learned from: three built-in
styles (a grade, a pencil drawing, Van Gogh's paintings) and three learned here by the
default recipe (``--generator auto``) from designed looks (``benchmarks/looks.py``) applied to
half of the built-in photos, the other half as content: a halftone print, a mild photo preset
and a comic (flat colour, outlines; learned with ``lines=always``, as the default draws no
outlines). Training uses a temporary library; nothing of the user's
is touched.

    python scripts/gallery.py [--minutes 3] [--out docs/images/gallery.jpg]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from brushwork.data import builtin_dir  # noqa: E402
from brushwork.io import list_images, load_image, pil_to_tensor, save_image_atomic, tensor_to_pil  # noqa: E402
from brushwork.library import builtin_dir as library_dir  # noqa: E402
from brushwork.stylizer import Stylizer  # noqa: E402
from looks import EXTRA_LOOKS, LOOKS  # noqa: E402

# (caption, a built-in style or a designed look to learn, the photo it is shown on, recipe
# settings for learning it)
ROWS: list[tuple[str, str, str, dict[str, str]]] = [
    ("colour grade (built-in teal-orange)", "builtin:teal-orange", "kodim13", {}),
    ("pencil drawing (built-in pencil)", "builtin:pencil", "kodim23", {}),
    ("halftone print (learned, 1 ink)", "look:halftone", "kodim15", {}),
    ("painting (built-in vangogh)", "builtin:vangogh", "kodim07", {}),
    ("mild preset (learned: fade, warmth, vignette)", "look:faded", "kodim11", {}),
    # outlines are drawn on request only (docs/usage.md)
    ("comic: flat colour, outlines (learned, --set lines=always)", "look:cartoon", "kodim21", {"lines": "always"}),
]
HEIGHT = 220


def photo(name: str) -> torch.Tensor:
    hits = [p for p in list_images(builtin_dir("photos")) if p.stem == name]
    shared = ROOT.parent / "shared" / "data" / "photos" / "kodak24" / f"{name}.png"
    path = hits[0] if hits else shared
    return pil_to_tensor(load_image(path))


def learn(look: str, minutes: float, shown: set[str], home: Path, recipe: dict[str, str]) -> Stylizer:
    """Learn a designed look from the built-in photos not shown in the gallery."""
    from brushwork.api import train_style

    fn = {**LOOKS, **EXTRA_LOOKS}[look]
    paths = [p for p in list_images(builtin_dir("photos")) if p.stem not in shown]
    content, style = home / f"{look}_content", home / f"{look}_style"
    content.mkdir()
    style.mkdir()
    for i, p in enumerate(paths):
        t = pil_to_tensor(load_image(p))
        if i % 2 == 0:
            save_image_atomic(tensor_to_pil(t), content / f"{p.stem}.png")
        else:
            y = fn(((t + 1) / 2)[None])[0] * 2 - 1
            save_image_atomic(tensor_to_pil(y.clamp(-1, 1)), style / f"{p.stem}.png")
    path = train_style(style, content, name=f"gallery-{look}", minutes=minutes, quiet=True, recipe=recipe or None)
    return Stylizer.load(path, device="cpu")


def fit(t: torch.Tensor) -> torch.Tensor:
    h, w = t.shape[-2:]
    return F.interpolate(t[None], size=(HEIGHT, round(w * HEIGHT / h)), mode="bilinear", antialias=True)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=3.0, help="training time of each learned look")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "gallery.jpg")
    args = ap.parse_args()
    shown = {r[2] for r in ROWS}
    pairs: list[tuple[str, Image.Image]] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BRUSHWORK_HOME"] = tmp  # a library of its own for the learned looks
        for caption, source, name, recipe in ROWS:
            kind, _, what = source.partition(":")
            st = (
                Stylizer.load(library_dir() / what)
                if kind == "builtin"
                else learn(what, args.minutes, shown, Path(tmp), recipe)
            )
            x = photo(name)
            with torch.no_grad():
                y = st.stylize_tensor(x[None])[0].clamp(-1, 1)
            pair = tensor_to_pil(torch.cat([fit(x), fit(y)], 2))
            pairs.append((caption, pair))
            print(f"{caption}: done", flush=True)
    width = max(p.width for _, p in pairs)
    band = 22
    sheet = Image.new("RGB", (2 * width + 8, 3 * (HEIGHT + band)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (caption, p) in enumerate(pairs):
        x0, y0 = (i % 2) * (width + 8), (i // 2) * (HEIGHT + band)
        sheet.paste(p, (x0, y0 + band))
        draw.text((x0 + 4, y0 + 5), f"{caption}: before | after", fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_image_atomic(sheet, args.out, quality=85)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()

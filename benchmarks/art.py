"""Real art, no ground truth: learn a painter's style from a folder and compare with the peer.

Learns a style from ``--style`` (default: the 12 built-in Van Gogh paintings) with the
default recipe, applies it to ``--photos`` (default: shared/data/photos/samples) and
reports, for the photos themselves, set-level IDT, Magenta arbitrary stylization (the
mean style vector of the same folder) and the learned style: the distance of the outputs'
mean Magenta style vector to a reference set's (``--reference``, default the 35 Van Gogh
paintings of shared/data/styles/vangogh) and the content SSIM (output against the photo,
on luminance), and a second measure that no training loss optimises: a classifier two-sample
test on patches (``metrics.patch_c2st``: a small CNN trained fresh to tell the outputs from the
reference images, scored on regions it did not see; 0.5 = cannot tell). Writes a sheet:
photo | IDT | Magenta | learned.

    python benchmarks/art.py --minutes 10
    python benchmarks/art.py --minutes 10 --style ../shared/data/styles/raphael --reference ../shared/data/styles/raphael
    python benchmarks/art.py --builtin starry-night --reference ../shared/data/styles/singles/starry_night.jpg
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer
from brushwork.color import luminance
from brushwork.data import ImageBank, builtin_dir
from brushwork.io import list_images, load_image, pil_to_tensor, save_image_atomic, tensor_to_pil
from brushwork.library import builtin_dir as library_dir
from brushwork.look.choose import resolve_generator
from brushwork.look.transport import fit_idt
from brushwork.metrics import patch_c2st, ssim
from brushwork.stylizer import Stylizer
from brushwork.training.loop import Budget
from brushwork.training.recipe import default_recipe
from brushwork.training.style import train_style_run

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def load(folder: Path, max_side: int = 768) -> list[torch.Tensor]:
    out = []
    for p in [folder] if folder.is_file() else list_images(folder):
        im = load_image(p)
        if max(im.size) > max_side:
            im.thumbnail((max_side, max_side))
        out.append(pil_to_tensor(im))
    return out


def content_ssim(outs: list[torch.Tensor], photos: list[torch.Tensor]) -> float:
    vals = [ssim((luminance(o[None]) + 1) / 2, (luminance(p[None]) + 1) / 2) for o, p in zip(outs, photos, strict=True)]
    return sum(vals) / len(vals)


def learn(
    args: argparse.Namespace, content: list[torch.Tensor], style: list[torch.Tensor], photos: list[torch.Tensor]
) -> tuple[str, dict | None, float, int, list[torch.Tensor]]:
    """Train a style from ``style`` by the default recipe; its outputs on ``photos``."""
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    with tempfile.TemporaryDirectory() as tmp:
        generator, choice = args.generator, None
        if generator == "auto":  # as brushwork train chooses it (look/choose.py)
            generator, choice = resolve_generator(content, style, False, args.seed)
            print(f"generator {generator}: {choice['why']}", flush=True)
        r = default_recipe(len(style), generator=generator, choice=choice, **overrides)
        t0 = time.perf_counter()
        path = train_style_run(
            content=ImageBank.from_tensors(content), style=ImageBank.from_tensors(style), pairs=None, recipe=r,
            run_dir=Path(tmp) / "run", style_dir=Path(tmp) / "style", budget=Budget(minutes=args.minutes),
            seed=args.seed, device="cpu", quiet=True, choice=choice,
        )  # fmt: skip
        st = Stylizer.load(path, device="cpu")
        outs = [st.stylize_tensor(t[None])[0] for t in photos]
        return generator, choice, (time.perf_counter() - t0) / 60, st.meta["training"]["steps"], outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--style", type=Path, default=builtin_dir("styles/vangogh"))
    ap.add_argument("--reference", type=Path, default=SHARED / "styles" / "vangogh")
    ap.add_argument("--photos", type=Path, default=SHARED / "photos" / "samples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("bench-out/art"))
    ap.add_argument("--set", action="append", default=[], help="recipe override key=JSON")
    ap.add_argument("--generator", default="auto", help="auto (as brushwork train chooses), lite, painter, resnet")
    ap.add_argument("--tag", default="", help="suffix of the sheet's and results' names")
    ap.add_argument("--builtin", default="", help="measure this shipped built-in style instead of training one")
    args = ap.parse_args()
    if not peer.available():
        raise SystemExit("needs the peer: pip install -e '.[bench]'")
    mag = peer.Magenta()
    style, reference, photos = load(args.style, 1024), load(args.reference), load(args.photos)
    content = ImageBank.from_folder(builtin_dir("photos"), 64, 1024, "content")[0]
    ref_vec, set_vec = mag.set_vector(reference), mag.set_vector(style)
    outs = {"photo": photos, "idt": [fit_idt(content.tensors, style)(t) for t in photos],
            "magenta": [mag.stylize(t, set_vec) for t in photos]}  # fmt: skip
    if args.builtin:
        st = Stylizer.load(library_dir() / args.builtin, device="cpu")
        outs["learned"] = [st.stylize_tensor(t[None])[0] for t in photos]
        generator, choice, minutes = st.meta["generator"]["name"], None, 0.0
        steps = st.meta["training"]["steps"]
    else:
        generator, choice, minutes, steps, outs["learned"] = learn(args, content.tensors, style, photos)
    rows = {k: {"style": mag.distance(v, ref_vec), "c2st": patch_c2st(v, reference), "content_ssim": content_ssim(v, photos)}
            for k, v in outs.items()}  # fmt: skip
    print(f"style {args.style} ({len(style)} images) -> reference {args.reference} ({len(reference)}); "
          f"{len(photos)} photos; trained {steps} steps in {minutes:.1f} min")  # fmt: skip
    for k, v in rows.items():
        print(
            f"{k:8s} style distance {v['style']:.3f}  patch C2ST {v['c2st']:.3f}  content SSIM {v['content_ssim']:.3f}"
        )
    print(f"learned / magenta style distance: {rows['learned']['style'] / rows['magenta']['style']:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    name = args.builtin or args.style.stem
    strips = []
    for i in range(min(4, len(photos))):
        ims = [outs[k][i] for k in ("photo", "idt", "magenta", "learned")]
        side = min(ims[0].shape[-2:])  # the centre square of each, at 256 px
        sq = [x[:, (x.shape[1] - side) // 2 :][:, :side, (x.shape[2] - side) // 2 :][:, :, :side] for x in ims]
        strips.append(torch.cat([F.interpolate(x[None], size=(256, 256), mode="bilinear", antialias=True)[0]
                                 for x in sq], 2))  # fmt: skip
    w = min(x.shape[2] for x in strips)
    save_image_atomic(tensor_to_pil(torch.cat([x[:, :, :w] for x in strips], 1).clamp(-1, 1)),
                      args.out / f"{name}{args.tag}.jpg", quality=88)  # fmt: skip
    (args.out / f"results_{name}{args.tag}.json").write_text(
        json.dumps({"rows": rows, "steps": steps, "generator": generator, "choice": choice, "set": args.set}, indent=2)
    )


if __name__ == "__main__":
    main()

"""Train the built-in styles shipped in ``src/brushwork/assets/library/`` (rerun it to rebuild
them all, or name some): public-domain artworks from ``../shared/data/styles`` and looks the
project designs (``benchmarks/looks.py``) applied to the built-in photos. Each is trained by
the default recipe (``--generator auto``) on the built-in photos, its preview made small, its
sources written to ``ATTRIBUTION.md``, and its quality measured on the 24 Kodak photos that
training never saw: style distance (Magenta's style space, the outputs' mean vector to the
style images'; the photos' own distance beside it) and content kept (SSIM to the photo).

    python scripts/build_builtins.py [--minutes 2] [NAME ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LIBRARY = ROOT / "src" / "brushwork" / "assets" / "library"
PREVIEW_SIDE = 200
sys.path.insert(0, str(ROOT / "benchmarks"))


@dataclass
class Entry:
    name: str
    title: str
    files: list[str]  # paths under shared/data/styles, or "" for a designed look
    look: str = ""  # a look of benchmarks/looks.py applied to the built-in photos
    generator: str = "auto"  # where the default's choice was measured to look worse


MONETS = ["singles/water_lilies_1919_monet.jpg", "singles/monet_charing_cross_bridge.jpg",
          "singles/monet_san_giorgio_maggiore.jpg"]  # fmt: skip
KANDINSKYS = ["singles/composition_vii.jpg", "singles/en_campo_gris_kandinsky.jpg"]
ENTRIES = [
    Entry("vangogh", "Van Gogh, twelve paintings", ["builtin:vangogh"]),
    # generator="painter": the stroke measure reads these paintings as colour looks (a smooth
    # finish, fine strokes, flat colour and outlines) and lite gave their palette alone; the
    # painter is closer in style space (docs/benchmarks.md, section 11)
    Entry("madonna", "Raphael's Madonna, eleven workshop copies", ["raphael/*"], generator="painter"),
    Entry("starry-night", "Van Gogh, The Starry Night (1889)", ["singles/starry_night.jpg"], generator="painter"),
    Entry("monet", "Monet, three paintings", MONETS),
    Entry("kandinsky", "Kandinsky, two paintings", KANDINSKYS),
    # not the woodblock print: a modern drawing after it (orange sky, dark outlines, white foam)
    Entry(
        "wave",
        "The Great Wave, a modern colour drawing after Hokusai",
        ["singles/wave_kanagawa.jpg"],
        generator="painter",
    ),
    Entry("mondrian", "Mondrian", ["singles/mondrian.jpg"]),
    Entry("scream", "Munch, The Scream (1893)", ["singles/the_scream.jpg"]),
    Entry("sepia", "sepia: a warm print with lifted blacks (designed)", [], "sepia"),
    Entry("pencil", "a pencil sketch on paper (designed)", [], "sketch", "lite"),
    Entry("teal-orange", "a teal and orange film grade (designed)", [], "teal"),
]


def manifest(folder: Path) -> dict[str, dict[str, str]]:
    with open(folder / "MANIFEST.tsv", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}


def style_images(entry: Entry, dest: Path) -> list[str]:
    """The entry's style images into ``dest`` (long side at most 768) -> attribution rows."""
    from brushwork.data import builtin_dir
    from looks import EXTRA_LOOKS, LOOKS

    dest.mkdir(parents=True)
    rows = []
    if entry.look:
        look = {**LOOKS, **EXTRA_LOOKS}[entry.look]
        for p in sorted(builtin_dir("photos").glob("*.jpg")):
            t = torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
            arr = (look(t)[0].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
            Image.fromarray(arr).save(dest / f"{p.stem}.png")
        return [f"| (the built-in photos through `benchmarks/looks.py:{entry.look}`) | this project | as the photos |"]
    for spec in entry.files:
        if spec == "builtin:vangogh":
            src = builtin_dir("styles/vangogh")
            for p in sorted(src.glob("*.jpg")):
                shutil.copy(p, dest / p.name)
            return [
                "| the built-in Van Gogh set | see `assets/styles/vangogh/ATTRIBUTION.md` | public domain artworks |"
            ]
        folder, _, pattern = spec.partition("/")
        man = manifest(SHARED / "styles" / folder)
        for p in sorted((SHARED / "styles" / folder).glob(pattern)):
            if p.name == "MANIFEST.tsv":
                continue
            img = Image.open(p).convert("RGB")
            img.thumbnail((768, 768), Image.Resampling.LANCZOS)
            img.save(dest / f"{p.stem}.png")
            rows.append(f"| {p.name} | {man[p.name]['source']} | {man[p.name]['licence']} |")
    return rows


def measure(path: Path, name: str) -> tuple[float, float, float]:
    """(style distance, the photos' own, content SSIM) on the 24 Kodak photos at 512 px, as
    a training run's report measures them (``report.quality``)."""
    from brushwork import Stylizer
    from brushwork.io import load_folder
    from brushwork.report import quality

    st = Stylizer.load(path, device="cpu", precision="fp32")
    photos = [
        im.resize((512, round(512 * im.height / im.width))) for im in load_folder(SHARED / "photos" / "kodak24").images
    ]
    xs = [torch.from_numpy(np.array(p)).permute(2, 0, 1).float() / 127.5 - 1 for p in photos]
    q = quality(xs, [st.stylize_tensor(x[None])[0] for x in xs], [t.float() for t in _style_tensors(name)])
    return q["style_distance"], q["photos_style_distance"], q["content_ssim"]


_SETS: dict[str, Path] = {}


def _style_tensors(name: str) -> list[torch.Tensor]:
    from brushwork.io import load_folder

    return [
        torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 127.5 - 1 for im in load_folder(_SETS[name]).images
    ]


def compact(path: Path) -> tuple[float, float]:
    """Make a style small enough to ship: its weights stored as float16 (they are read back
    into float32, where every style runs on a CPU) and its preview as a palette PNG. Returns
    how far that moves its outputs on the 24 Kodak photos at 512 px, in 8-bit levels: (RMS,
    the largest over the photos of each one's 99.9th percentile)."""
    from safetensors.torch import load_file, save_file

    from brushwork import Stylizer
    from brushwork.io import load_folder
    from brushwork.stylefile import PREVIEW, WEIGHTS

    photos = [
        im.resize((512, round(512 * im.height / im.width))) for im in load_folder(SHARED / "photos" / "kodak24").images
    ]
    xs = [torch.from_numpy(np.array(p)).permute(2, 0, 1).float() / 127.5 - 1 for p in photos]
    before = Stylizer.load(path, device="cpu", precision="fp32")
    ref = [before.stylize_tensor(x[None])[0] for x in xs]
    weights = load_file(path / WEIGHTS)
    save_file({k: v.half() if v.dtype == torch.float32 else v for k, v in weights.items()}, str(path / WEIGHTS))
    after = Stylizer.load(path, device="cpu", precision="fp32")
    diffs = [(after.stylize_tensor(x[None])[0] - r).abs().flatten() * 127.5 for x, r in zip(xs, ref, strict=True)]
    preview = Image.open(path / PREVIEW).convert("RGB")
    preview.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        path / PREVIEW, optimize=True
    )
    rms = float(torch.cat(diffs).square().mean().sqrt())
    return rms, max(float(torch.quantile(d[:: max(1, d.numel() // 1_000_000)], 0.999)) for d in diffs)


def main() -> None:
    import os

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="entries to build (default: all)")
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compact-only", action="store_true", help="only make the shipped ones small (float16 weights)")
    args = ap.parse_args()
    entries = [e for e in ENTRIES if not args.names or e.name in args.names]
    if args.compact_only:
        for e in entries:
            rms, peak = compact(LIBRARY / e.name)
            print(
                f"{e.name}: float16 weights move its outputs by {rms:.3f} levels RMS, {peak:.2f} at the 99.9th percentile"
            )
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BRUSHWORK_HOME"] = str(Path(tmp) / "home")
        import brushwork
        from brushwork.stylefile import PREVIEW

        table = []
        for e in entries:
            folder = Path(tmp) / "sets" / e.name
            rows = style_images(e, folder)
            _SETS[e.name] = folder
            print(f"{e.name}: training {args.minutes} min on {len(list(folder.iterdir()))} style images", flush=True)
            # under a name of its own: the built-in's name is taken while the package ships it
            path = brushwork.train_style(
                folder, name=f"build-{e.name}", minutes=args.minutes, seed=args.seed, quiet=True,
                generator=e.generator,
            )  # fmt: skip
            preview = Image.open(path / PREVIEW).convert("RGB")
            preview.thumbnail((PREVIEW_SIDE * 2, PREVIEW_SIDE), Image.Resampling.LANCZOS)
            preview.save(path / PREVIEW, optimize=True)
            (path / "ATTRIBUTION.md").write_text(
                f"# {e.title}\n\nBuilt-in style `{e.name}`, trained by `scripts/build_builtins.py` "
                f"({args.minutes} min, seed {args.seed}) from:\n\n| file | source | licence |\n|---|---|---|\n"
                + "\n".join(rows) + "\n", encoding="utf-8",
            )  # fmt: skip
            rms, peak = compact(path)
            print(f"{e.name}: float16 weights: {rms:.3f} levels RMS, {peak:.2f} at the 99.9th percentile", flush=True)
            d_out, d_photo, kept = measure(path, e.name)
            family = brushwork.library.info(str(path))["generator"]["name"]
            table.append(f"| {e.name} | {family} | {d_out:.2f} (photos {d_photo:.2f}) | {kept:.2f} |")
            print(table[-1], flush=True)
            meta_file = path / "style.json"
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            # where it came from, without this machine's temporary paths
            meta["training"]["sources"] = {"style": e.title, "content": "the built-in photos"}
            meta_file.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            dest = LIBRARY / e.name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(path, dest)
            dest.chmod(0o755)
            for f in dest.iterdir():
                f.chmod(0o644)
        print("\n| style | generator | style distance | content SSIM |\n|---|---|---|---|")
        print("\n".join(table))


if __name__ == "__main__":
    main()

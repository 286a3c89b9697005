"""Command line: ``brushwork train | apply | styles | export | gan | augment | demo``.

Library code raises ``BrushworkError``; this module turns errors into one clear line on
stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__, commands
from .errors import BrushworkError


def _positive_float(s: str) -> float:
    v = float(s)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {s}")
    return v


def _positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {s}")
    return v


def _unit_float(s: str) -> float:
    v = float(s)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {s}")
    return v


def _names(s: str) -> list[str]:
    names = [n.strip() for n in s.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected NAME[,NAME...], got {s!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="brushwork", description="Learn an image style with a GAN and apply it.")
    p.add_argument("--version", action="version", version=f"brushwork {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="learn a style from a folder of images")
    t.add_argument("style_dir", nargs="?", help="folder of images in the style (optional with --before/--after)")
    t.add_argument("--content", help="folder of photos to learn from (default: the built-in photo set)")
    t.add_argument("--name", required=True, help="name of the style in the library")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=_positive_float, help="wall-clock budget (default 3)")
    budget.add_argument("--steps", type=_positive_int, help="number of training steps")
    t.add_argument("--method", choices=["cut", "fastcut", "cyclegan"], default="cut")
    t.add_argument(
        "--generator",
        choices=["auto", "lite", "painter", "resnet"],
        default="auto",
        help="auto (default): painter for drawn looks and brush strokes, lite otherwise, measured from the sets; lite: colour "
        "looks, fastest; painter: strokes and texture, started from a pretrained painting network "
        "(paintings, drawings, comics); resnet: CycleGAN-class, for GPUs",
    )
    t.add_argument("--loss", choices=["lsgan", "vanilla", "hinge", "wgan-gp"], default="lsgan")
    t.add_argument("--size", type=_positive_int, default=256, help="training crop size in pixels")
    t.add_argument("--resume", action="store_true", help="continue the run saved under --name")
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--before", help="folder of original photos (pairs matched by file stem)")
    t.add_argument("--after", help="folder of the same photos edited in the style")
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="override a recipe setting, e.g. --set lambda_nce=2",
    )
    t.add_argument("--dry-run", action="store_true", help="check inputs and print the plan, train nothing")
    t.add_argument("--preview", action="store_true", help="first write where training starts on two photos (seconds)")
    t.add_argument("--nproc", type=_positive_int, default=1, help="data-parallel ranks on this machine (torchrun)")
    t.add_argument("--quiet", action="store_true")

    a = sub.add_parser("apply", help="apply a style to images and folders")
    a.add_argument("style", help="library name or style folder")
    a.add_argument("inputs", nargs="+", help="image files or folders")
    a.add_argument("--out", required=True, help="output folder")
    a.add_argument("--format", choices=["png", "jpg", "webp"], default="png")
    a.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality")
    a.add_argument("--device", default="auto")
    a.add_argument("--strength", type=float, default=1.0, help="0 = the photo, 1 = full style")
    a.add_argument(
        "--detail", type=float, default=None,
        help="how much of the learned spatial detail (lite's residual) to apply, 0-1 (default: the style's own)",
    )  # fmt: skip
    a.add_argument(
        "--preserve-color", action="store_true", help="keep the photo's colours, take the style's lightness and texture"
    )
    a.add_argument("--max-side", type=_positive_int, help="downscale inputs so the longer side is at most N px")
    a.add_argument("--tile", type=_positive_int, help="force tiles of N px (default: chosen from --max-memory)")
    a.add_argument(
        # the Stylizer's DEFAULT_MAX_MEMORY (not imported: --help stays free of torch)
        "--max-memory", type=_positive_int, default=384,
        help="MB per tile pass, activations with the tile in and out (default 384)",
    )  # fmt: skip
    a.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16", "fp16"],
        default="auto",
        help="auto: bf16 on CPUs with native bf16 (AVX512-BF16/AMX), fp32 elsewhere, GPUs included",
    )
    a.add_argument("--backend", choices=["torch", "onnxruntime"], default="torch")
    a.add_argument("--overwrite", action="store_true", help="replace existing output files (never inputs)")
    a.add_argument(
        "--ray", nargs="?", const="", default=None, metavar="ADDRESS",
        help="run on Ray (pip install 'brushwork[ray]'): a cluster's address, or none for a local one; "
        "outputs that exist are skipped, so a rerun continues",
    )  # fmt: skip
    a.add_argument("--workers", type=_positive_int, help="--ray: stylizer workers (default: one per GPU, else per CPU)")
    a.add_argument("--quiet", action="store_true")

    e = sub.add_parser("export", help="export a style's generator to ONNX or TorchScript")
    e.add_argument("style", help="library name or style folder")
    e.add_argument("--format", choices=["onnx", "torchscript"], required=True)
    e.add_argument("--out", required=True, help="output file")

    s = sub.add_parser("styles", help="manage the style library")
    ssub = s.add_subparsers(dest="styles_command", required=True)
    ssub.add_parser("list", help="list styles")
    sh = ssub.add_parser("show", help="show a style's description")
    sh.add_argument("name")
    rm = ssub.add_parser("rm", help="remove a style")
    rm.add_argument("name")
    ex = ssub.add_parser("export", help="write a style as one .bwstyle file to share")
    ex.add_argument("name", help="library name or style folder")
    ex.add_argument("-o", "--out", required=True, help="output file (.bwstyle is added if missing)")
    ex.add_argument("--overwrite", action="store_true")
    im = ssub.add_parser("import", help="add a style from a .bwstyle file to the library")
    im.add_argument("file")
    im.add_argument("--name", help="library name (default: the file's name)")
    im.add_argument("--overwrite", action="store_true", help="replace a style of yours with the same name")
    sheet = ssub.add_parser("sheet", help="a contact sheet: one photo in every style, labelled")
    sheet.add_argument("photo")
    sheet.add_argument("--out", required=True, help="output image (.jpg, .png or .webp)")
    sheet.add_argument("--styles", help="comma-separated style names (default: all)")
    sheet.add_argument("--size", type=_positive_int, default=1024, help="long side of each cell's photo (default 1024)")

    gp = sub.add_parser("gan", help="generate new images: train, sample and evaluate unconditional GANs")
    gsub = gp.add_subparsers(dest="gan_command", required=True)
    gt = gsub.add_parser("train", help="train a GAN on a folder of images")
    gt.add_argument("images_dir")
    gt.add_argument("--name", required=True)
    gt.add_argument("--size", type=int, choices=[32, 64, 128, 256], default=64)
    gb = gt.add_mutually_exclusive_group()
    gb.add_argument("--minutes", type=_positive_float, help="wall-clock budget (default 10)")
    gb.add_argument("--steps", type=_positive_int)
    gt.add_argument("--loss", choices=["lsgan", "vanilla", "hinge", "wgan-gp"], default="lsgan")
    gt.add_argument("--arch", choices=["dcgan", "fastgan", "mlp"], default="dcgan",
                    help="the generator/discriminator pair (mlp: the textbook baseline)")  # fmt: skip
    gt.add_argument("--seed", type=int, default=0)
    gt.add_argument("--resume", action="store_true")
    gt.add_argument("--device", default="auto")
    gt.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="override a GAN recipe setting")
    gt.add_argument("--nproc", type=_positive_int, default=1, help="data-parallel ranks on this machine (torchrun)")
    gt.add_argument("--eval", action=argparse.BooleanOptionalAction, default=True,
                    help="measure the samples against the images when done, as 'gan eval' does (default: yes)")  # fmt: skip
    gt.add_argument("--quiet", action="store_true")
    gs = gsub.add_parser("sample", help="write samples of a trained GAN")
    gs.add_argument("name")
    gs.add_argument("-n", type=_positive_int, default=16)
    gs.add_argument("--out", required=True)
    gs.add_argument("--seed", type=int, default=0)
    gs.add_argument("--truncation", type=_positive_float)
    gs.add_argument("--interpolate", action="store_true", help="a grid and a GIF walking between n random points")
    ge = gsub.add_parser("eval", help="distances to the set (patch SWD, Frechet), copies, frame and grid")
    ge.add_argument("name")
    ge.add_argument("--images", help="training images (default: the folder it was trained on)")
    ge.add_argument("--samples", type=_positive_int, default=256, help="generated and real images compared")

    au = sub.add_parser(
        "augment", help="enlarge a class-per-folder dataset: re-render it in learned looks, or generate images"
    )
    au.add_argument("dataset_dir", help="one sub-folder of images per class")
    au.add_argument("--out", required=True, help="a new or empty folder: the enlarged dataset and manifest.jsonl")
    au.add_argument("--mode", choices=["generate", "stylize"],
                    help="default: stylize with --style/--look, generate with --per-class")  # fmt: skip
    au.add_argument("--look", help="stylize: learn the look of this folder of (unlabelled) images, then apply it")
    au.add_argument("--style", type=_names, default=[], help="stylize: library style(s), NAME[,NAME...]")
    au.add_argument("--copies", type=_positive_int, default=1, help="stylize: stylized copies per chosen image")
    au.add_argument("--mix", type=_unit_float, default=1.0, help="stylize: share of the images given copies (0-1]")
    au.add_argument("--strength", type=_unit_float, default=1.0, help="stylize: how much of the style (0-1)")
    au.add_argument("--originals", action=argparse.BooleanOptionalAction, default=True,
                    help="copy the source images into --out as well (default: yes)")  # fmt: skip
    au.add_argument("--per-class", type=_positive_int, help="generate: images per class")
    au.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                    help="generate: keep generated images only as far as they help classify held-out real ones")  # fmt: skip
    ab = au.add_mutually_exclusive_group()
    ab.add_argument("--minutes", type=_positive_float, help="budget per class generator, or for learning --look")
    ab.add_argument("--steps", type=_positive_int, help="steps per class generator, or for learning --look")
    au.add_argument("--size", type=int, choices=[32, 64, 128, 256], default=64, help="generate: image size")
    au.add_argument("--seed", type=int, default=0)
    au.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    au.add_argument("--quiet", action="store_true")

    d = sub.add_parser("demo", help="learn a small built-in style offline and apply it")
    d.add_argument("--minutes", type=_positive_float, default=3.0)
    d.add_argument("--quiet", action="store_true")

    sv = sub.add_parser("serve", help="the studio: a web page and HTTP API to train, watch and apply styles")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback by default)")
    sv.add_argument("--port", type=int, default=8765)
    sv.add_argument("--token", help="bearer token every request must send (required off loopback)")
    sv.add_argument("--device", default="auto", help="auto, cpu or cuda (training and apply)")
    return p


def _without_nproc(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if getattr(args, "nproc", 1) > 1:  # train / gan train on several ranks: torchrun runs this again
        from .training.distributed import launch

        try:
            return launch(args.nproc, _without_nproc(argv))
        except BrushworkError as exc:
            print(f"brushwork: error: {exc}", file=sys.stderr)
            return 2
    handlers = {
        "train": commands.train,
        "apply": commands.apply,
        "styles": commands.styles,
        "export": commands.export,
        "gan": commands.gan,
        "augment": commands.augment,
        "demo": commands.demo,
        "serve": commands.serve,
    }
    try:
        return handlers[args.command](args)
    except BrushworkError as exc:
        from .training.distributed import rank

        if rank() == 0:  # under torchrun every rank meets the same error: rank 0 says it, once
            print(f"brushwork: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

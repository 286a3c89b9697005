"""Can a smoother set-level colour transport than IDT start the colour stage better?

No training: for random looks with fresh seeds (printed), fit each candidate map from the
content photos (A) to the styled photos (B) and score it on the held-out photos (C) with
the quality benchmark's blurred PSNR. Candidates, all set-level (no per-look rule):

- ``idt30``: the current start (30 rotations);
- ``idtK``: IDT stopped after K rotations (fewer degrees of freedom);
- ``mkl``: the linear Monge-Kantorovich map (means and covariances matched; Pitie 2007);
- ``idt30_s``: IDT's map tabulated on a 33^3 grid, smoothed in colour space (sigma in grid
  cells), applied by trilinear lookup (what the LUT would hold).

    python benchmarks/transport_probe.py --random 24
    python benchmarks/transport_probe.py --seeds 12,40-43
    python benchmarks/transport_probe.py --balance --random 12            # subject balancing (2026-11-29)
    python benchmarks/transport_probe.py --balance --teacher --random 8   # ... and the teachers with it
    python benchmarks/transport_probe.py --structure --random 12          # the structure teacher (2026-11-29)
    python benchmarks/transport_probe.py --structure --alpha --random 12  # ... and other measures of its mix
    python benchmarks/transport_probe.py --shrink --random 12             # the noise-shrunk colour transport (2026-11-29)
    python benchmarks/transport_probe.py --choose --random 8              # the mix chosen by validation (2026-11-29)
    python benchmarks/transport_probe.py --vignette --random 12           # the fitted vignette, four forms (2026-11-29)
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import statistics
from collections.abc import Callable

import torch
import torch.nn.functional as F

from brushwork.look.balance import balance_weights, balanced_pixels, shrunk
from brushwork.look.teacher import (
    STRUCTURE_PRIOR,
    TEACHERS,
    StructureTeacher,
    _bin_index,
    _gauss,
    _structure,
    fit_feature_transfer,
    fit_structure_teacher,
    structure_alpha,
)
from brushwork.look.transport import (
    COLOUR_SMOOTH,
    ColourTable,
    DistributionTransfer,
    _pixels,
    _sample_count,
    fit_idt,
    fit_mkl,
    fit_transfer,
    tabulate,
)
from brushwork.look.vignette import apply_vignette, fit_vignette
from looks import parse_seeds, styled_sets
from quality import SHARED, hist_match, reinhard, score, split_photos

GRID = 33


def mkl_pixels(content: list[torch.Tensor], style: list[torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """MKL between the sets' pooled pixel colours ([N, 3] -> [N, 3])."""
    gen = torch.Generator().manual_seed(0)
    n = _sample_count(content, style, limit=200_000)
    return fit_mkl(_pixels(content, n, gen), _pixels(style, n, gen))


def feature_teacher(
    content: list[torch.Tensor], style: list[torch.Tensor], iterations: int, linear_first: bool, balance: bool = False
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The pseudo-pair teacher (``fit_feature_transfer``), with or without the MKL map first
    and the subject balancing."""
    teacher = fit_feature_transfer(content, style, iterations=iterations, linear_first=linear_first, balance=balance)
    return lambda x: teacher(x[None])[0]


def shifted(
    content: list[torch.Tensor], style: list[torch.Tensor], st: StructureTeacher
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Conditional mean matching after the colour transport (a candidate, 2026-11-29): the
    balanced colour transport, plus per structure bin the style set's mean colour minus the
    transported content set's (content pixels balanced), each shrunk to its set's mean by
    STRUCTURE_PRIOR pseudo-pixels. Zero where structure says nothing the colours do not."""

    def feats(x: torch.Tensor) -> torch.Tensor:  # [3, H, W] -> transported structure features [N, 4]
        f = _structure(x[None])[0]
        return st.transfer.map_pixels(f.reshape(f.shape[0], -1).T.double() / st.scale) * st.scale

    cat = [torch.cat([st.colour(t[None])[0], feats(t).T.reshape(4, *t.shape[-2:]).float()]) for t in content]
    src, _ = balanced_pixels(cat, style, 200_000, torch.Generator().manual_seed(0), balance_weights(content, style))
    idx = _bin_index(src[:, 3:], st.edges)
    count = torch.zeros(len(st.table), dtype=src.dtype).index_add_(0, idx, torch.ones(len(idx), dtype=src.dtype))
    total = torch.zeros(len(st.table), 3, dtype=src.dtype).index_add_(0, idx, src[:, :3])
    moved = (total + STRUCTURE_PRIOR * src[:, :3].mean(0)) / (count[:, None] + STRUCTURE_PRIOR)
    corr = (st.table - moved).float()

    def apply(x: torch.Tensor) -> torch.Tensor:
        y = st.colour(x[None])[0]
        return (y + corr[_bin_index(feats(x), st.edges)].T.reshape(y.shape)).clamp(-1, 1)

    return apply


def transport_shrink(  # a candidate, 2026-11-29 (not adopted: docs/benchmarks.md)
    content: list[torch.Tensor], style: list[torch.Tensor], transfer: DistributionTransfer, points: torch.Tensor,
    samples: int, seed: int,
) -> float:  # fmt: skip
    """The share of the way a set-level colour transport should move colours, from its own
    sampling noise (James-Stein shrinkage towards the identity). The map's displacement
    T(x) - x is the look's true displacement plus noise from which pictures each set happens
    to hold; the least-squares share is 1 - E|noise|^2 / E|T(x) - x|^2. The noise is
    measured by splitting both sets in random halves and fitting the transport on each pair
    of halves (from half as many sampled pixels): two independent fits differ by twice a
    half-set fit's noise variance, and a whole-set fit's is half a half-set's, so
    E|noise|^2 ~ E|T_1(x) - T_2(x)|^2 / 4, over the content pixels ``points``. 1 (no shrinking) when a set has a single image."""
    if len(content) < 2 or len(style) < 2:
        return 1.0
    gen = torch.Generator().manual_seed(seed + 1)
    pc, ps = torch.randperm(len(content), generator=gen), torch.randperm(len(style), generator=gen)
    halves = []
    for part in (0, 1):
        c = [content[int(i)] for i in pc[part::2]]
        s = [style[int(i)] for i in ps[part::2]]
        src, dst = balanced_pixels(c, s, samples // 2, gen)  # half the pixels too: all noise scales alike
        halves.append(fit_transfer(src, dst, 10, gen, linear_first=True))
    p = points[:: max(1, len(points) // 50_000)]
    noise = float((halves[0].map_pixels(p) - halves[1].map_pixels(p)).square().sum(1).mean()) / 4
    signal = float((transfer.map_pixels(p) - p).square().sum(1).mean())
    return 0.0 if signal < 1e-12 else min(1.0, max(0.0, 1.0 - noise / signal))


def patch_features(images: list[torch.Tensor], n: int, gen: torch.Generator) -> torch.Tensor:
    """~n random 3x3 patches of the images blurred (sigma 1) and halved -> [n, 27]."""
    out = []
    for t in images:
        x = F.avg_pool2d(_gauss(t[None].float(), 1.0), 2)
        u = F.unfold(x, 3)[0].T  # [L, 27]
        out.append(u[torch.randint(0, u.shape[0], (max(1, n // len(images)),), generator=gen)])
    return torch.cat(out)


def swd(p: torch.Tensor, q: torch.Tensor, gen: torch.Generator, projections: int = 128) -> float:
    """Sliced Wasserstein-2 (squared) between two equal-size samples [n, D]."""
    d = torch.randn(p.shape[1], projections, generator=gen)
    d = d / d.norm(dim=0, keepdim=True)
    return float((torch.sort(p @ d, 0).values - torch.sort(q @ d, 0).values).square().mean())


ALPHAS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def validated_alpha(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> tuple[float, list[float]]:
    """The structure teacher's mix chosen by validation: fitted on half of each set, the mix
    whose outputs on the other content half are closest (patch SWD, blurred) to the other
    style half."""
    a1, a2, b1, b2 = content[0::2], content[1::2], style[0::2], style[1::2]
    st = fit_structure_teacher(a1, b1, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    target = patch_features(b2, 40_000, gen)
    n = target.shape[0]
    with torch.no_grad():
        col = [st.colour(t[None])[0] for t in a2]
        drawn = [st.drawn(t[None])[0] for t in a2]
    dists = []
    for al in ALPHAS:
        ys = [((1 - al) * c + al * d).clamp(-1, 1) for c, d in zip(col, drawn, strict=True)]
        f = patch_features(ys, 40_000, torch.Generator().manual_seed(seed + 1))[:n]
        dists.append(swd(f, target[: f.shape[0]], torch.Generator().manual_seed(seed + 2)))
    return ALPHAS[min(range(len(ALPHAS)), key=dists.__getitem__)], dists


def per_pixel(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A pixel map ([N, 3] -> [N, 3]) as an image map ([3, H, W] -> [3, H, W], clamped)."""
    return lambda x: fn(x.reshape(3, -1).T).T.reshape(x.shape).float().clamp(-1, 1)


def mkl_then_idt(content: list[torch.Tensor], style: list[torch.Tensor], iterations: int):  # type: ignore[no-untyped-def]
    """MKL's linear map first, then IDT (``fit_idt(..., linear_first=True)``, as shipped)."""
    return fit_idt(content, style, iterations=iterations, linear_first=True).map_pixels


def tabulated(fn: Callable[[torch.Tensor], torch.Tensor], sigma: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """A pixel map on a GRID^3 table (what the LUT would hold), blurred in colour space by
    ``sigma`` grid cells, applied by trilinear lookup (the library's ``tabulate``)."""
    return ColourTable(tabulate(fn, GRID, smooth=sigma * 2 / (GRID - 1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=0)
    ap.add_argument("--seeds", default="")
    ap.add_argument("--teacher", action="store_true", help="compare variants of the pseudo-pair teacher instead")
    ap.add_argument("--balance", action="store_true", help="compare the transports and teachers with subject balancing")
    ap.add_argument("--structure", action="store_true", help="the structure teacher against the feature teacher")
    ap.add_argument("--alpha", action="store_true", help="with --structure: other measures of its mix (alpha)")
    ap.add_argument("--vignette", action="store_true", help="the colour transport with a fitted vignette")
    ap.add_argument("--choose", action="store_true", help="the structure teacher's mix chosen by validation")
    ap.add_argument("--shrink", action="store_true", help="the balanced transport with and without noise shrinkage")
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds) if args.seeds else []
    seeds += [secrets.randbelow(10**6) for _ in range(args.random)]
    print(f"random look seeds: {','.join(map(str, seeds))}")
    a, b, c, _ = split_photos(SHARED)
    names = ["photo", "histmatch", "reinhard", "idt30", "mkl", "idt30_s2", "mkl_idt3", "mkl_idt10", "mkl_idt10_s2",
             "mkl_idt30_s2"]  # fmt: skip
    if args.teacher:
        names = ["idt30", "mkl_idt10_s2", "teacher40", "mkl_teacher40"]
    if args.balance:  # with --teacher also the teachers (slow: minutes a look)
        names = ["idt30", "transport", "balanced"]
        names += ["teacher", "teacher_bal", "teacher_ct"] if args.teacher else []
    if args.structure:  # the best classical baseline of the quality benchmark beside the two teachers
        names = ["photo", "histmatch", "reinhard", "idt30", "transport", "balanced", "teacher_bal", "structure"]
        if args.alpha:  # without the (slow) feature teacher
            names = [n for n in names if n != "teacher_bal"] + ["struct_sq", "struct_b3", "struct_b3sq"]
    if args.vignette:
        names = ["photo", "idt30", "transport", "balanced", "v4", "v2", "v4d", "v2d"]
    if args.choose:
        names = ["photo", "histmatch", "reinhard", "idt30", "transport", "balanced", "safe", "plain", "chosen"]
    if args.shrink:
        names = ["photo", "histmatch", "reinhard", "idt30", "balanced", "shrunk", "safe", "shifted"]
    print(f"{'look':8s} " + " ".join(f"{n:>12s}" for n in names))
    gains: dict[str, list[float]] = {n: [] for n in names}
    for s in seeds:
        looked = styled_sets(s, b, c)
        if looked is None:
            continue
        desc, (style, truth) = looked
        idt = fit_idt(a, style)
        alpha = ""
        if args.vignette:  # the vignette fitted after the balanced transport, which is then refitted to
            # the style images with the vignette divided out; four forms of the gain
            bal = ColourTable.of_transport(a, style)
            ref = [bal(t) for t in a]
            maps = {
                "photo": lambda t: t, "idt30": idt, "transport": ColourTable.of_transport(a, style, balance=False),
                "balanced": bal,
            }  # fmt: skip
            for name, quartic, dark in (("v4", True, False), ("v2", False, False), ("v4d", True, True),
                                        ("v2d", False, True)):  # fmt: skip
                v = fit_vignette(ref, style, quartic=quartic, darken_only=dark)
                inv = [apply_vignette(t, v, inverse=True) for t in style]
                m = ColourTable.of_transport(a, inv) if v != (0.0, 0.0) else bal
                maps[name] = lambda t, m=m, v=v: apply_vignette(m(t), v)
                alpha += f"{name} {v[0]:+.2f} {v[1]:+.2f} "
            true = [p for p in desc.split(" -> ") if p.startswith("vignette")]
            alpha += true[0] if true else "no vignette"
        elif args.choose:
            plain = fit_structure_teacher(a, style)
            safe = TEACHERS["structure"](a, style)
            al, dists = validated_alpha(a, style)
            chosen = dataclasses.replace(plain, alpha=al)
            alpha = f"safe {safe.alpha:.2f} plain {plain.alpha:.2f} chosen {al:.2f} " + " ".join(
                f"{d:.3f}" for d in dists
            )
            maps = {
                "photo": lambda t: t, "histmatch": lambda t, st=style: hist_match(t, st),
                "reinhard": lambda t, st=style: reinhard(t, st), "idt30": idt,
                "transport": ColourTable.of_transport(a, style, balance=False),
                "balanced": ColourTable.of_transport(a, style),
            }  # fmt: skip
            for name, m in (("safe", safe), ("plain", plain), ("chosen", chosen)):
                maps[name] = lambda t, m=m: m(t[None])[0]
        elif args.shrink:
            gen = torch.Generator().manual_seed(0)
            small = [[shrunk(t) for t in ts] for ts in (a, style)]
            src, dst = balanced_pixels(small[0], small[1], 200_000, gen)
            full = fit_transfer(src, dst, 10, gen, linear_first=True)  # fit_colour_transport's map
            k = transport_shrink(small[0], small[1], full, src, 200_000, 0)
            alpha = f"shrink {k:.2f}"
            maps = {
                "photo": lambda t: t, "histmatch": lambda t, st=style: hist_match(t, st),
                "reinhard": lambda t, st=style: reinhard(t, st), "idt30": idt,
                "balanced": ColourTable.of_transport(a, style),
                "shrunk": ColourTable(
                    tabulate(lambda p, k=k, m=full: p + k * (m.map_pixels(p) - p), 33, smooth=COLOUR_SMOOTH)
                ),
            }  # fmt: skip
            safe = TEACHERS["structure"](a, style)
            alpha += f" alpha {safe.alpha:.2f}"
            maps["safe"] = lambda t, m=safe: m(t[None])[0]
            maps["shifted"] = shifted(a, style, safe)
        elif args.structure:
            st = fit_structure_teacher(a, style)
            alpha = f"alpha {st.alpha:.2f}"
            maps = {
                "photo": lambda t: t, "histmatch": lambda t, st=style: hist_match(t, st),
                "reinhard": lambda t, st=style: reinhard(t, st), "idt30": idt,
                "transport": ColourTable.of_transport(a, style, balance=False),
                "balanced": ColourTable.of_transport(a, style), "structure": lambda t, st=st: st(t[None])[0],
            }  # fmt: skip
            if "teacher_bal" in names:
                maps["teacher_bal"] = feature_teacher(a, style, 40, True, True)
            if args.alpha:  # alpha squared; alpha measured after a sigma-3 blur; that squared
                b3 = structure_alpha(a, style, 200_000, torch.Generator().manual_seed(0), blur=3.0)
                alpha += f" b3 {b3:.2f}"
                for name, al in (("struct_sq", st.alpha**2), ("struct_b3", b3), ("struct_b3sq", b3**2)):
                    mixed = dataclasses.replace(st, alpha=al)
                    maps[name] = lambda t, m=mixed: m(t[None])[0]
        elif args.balance:  # as shipped: the colour start and the teacher, without and with balancing
            maps = {
                "idt30": idt, "transport": ColourTable.of_transport(a, style, balance=False),
                "balanced": ColourTable.of_transport(a, style),
            }  # fmt: skip
            if args.teacher:
                maps["teacher"] = feature_teacher(a, style, 40, True, False)
                maps["teacher_bal"] = feature_teacher(a, style, 40, True, True)
                # the teacher fitted after the balanced colour transport (from the transport's output)
                ct = maps["balanced"]
                moved = feature_teacher([ct(t) for t in a], style, 40, True, True)
                maps["teacher_ct"] = lambda t, ct=ct, moved=moved: moved(ct(t))
        elif args.teacher:
            maps = {
                "idt30": idt, "mkl_idt10_s2": tabulated(mkl_then_idt(a, style, 10), 2.0),
                "teacher40": feature_teacher(a, style, 40, False), "mkl_teacher40": feature_teacher(a, style, 40, True),
            }  # fmt: skip
        else:
            m10 = mkl_then_idt(a, style, 10)
            maps = {
                "photo": lambda t: t, "histmatch": lambda t, st=style: hist_match(t, st),
                "reinhard": lambda t, st=style: reinhard(t, st),
                "idt30": idt, "mkl": per_pixel(mkl_pixels(a, style)), "idt30_s2": tabulated(idt.map_pixels, 2.0),
                "mkl_idt3": per_pixel(mkl_then_idt(a, style, 3)), "mkl_idt10": per_pixel(m10),
                "mkl_idt10_s2": tabulated(m10, 2.0), "mkl_idt30_s2": tabulated(mkl_then_idt(a, style, 30), 2.0),
            }  # fmt: skip
        bp = {n: score([m(t) for t in c], truth)["bpsnr"] for n, m in maps.items()}
        for n in names:
            gains[n].append(bp[n] - bp["idt30"])
        best = max(bp[n] for n in ("photo", "histmatch", "reinhard", "idt30") if n in bp)
        print(f"r{s:<7d} " + " ".join(f"{bp[n]:12.2f}" for n in names) + f"  best {best:.2f} {alpha}  {desc[:110]}",
              flush=True)  # fmt: skip
    print("mean gain over idt30: " + ", ".join(f"{n} {statistics.mean(g):+.2f}" for n, g in gains.items()))
    print("above idt30:          " + ", ".join(f"{n} {sum(x > 0 for x in g)}/{len(g)}" for n, g in gains.items()))


if __name__ == "__main__":
    main()

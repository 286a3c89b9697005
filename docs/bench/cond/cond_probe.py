"""Scratch probe (session 14): a conditional structure teacher.

m(s) = E_style[colour | structure features s] (binned, on the style set), applied to the
content's structure features transported onto the style's (balanced IDT in 4-D); mixed
with the balanced colour transport CT by alpha = the *excess* share of colour variance that
structure explains in the style set over the content set: (R2_S - R2_A) / (1 - R2_A).
No training; held-out photos C scored with the benchmark's blurred PSNR.

    python docs/bench/cond/cond_probe.py "" 8        # 8 fresh seeds
    python docs/bench/cond/cond_probe.py 12,40 0     # given seeds
"""

import secrets
import sys

import torch

sys.path.insert(0, "/work/main/benchmarks")
from brushwork.colortransfer import (  # noqa: E402
    ColourTable, _pixels, balance_weights, balanced_pixels, fit_feature_transfer, fit_idt, fit_transfer,
    local_features,
)
from looks import parse_seeds, random_look  # noqa: E402
from quality import SHARED, hist_match, reinhard, score, split_photos  # noqa: E402

BINS = 6
PRIOR = 5.0  # pseudo-count pulling a bin's mean to the global mean


def struct(x: torch.Tensor) -> torch.Tensor:
    return local_features(x[None].float())[0, 3:]


def bin_index(f: torch.Tensor, edges: list[torch.Tensor]) -> torch.Tensor:
    idx = torch.zeros(f.shape[0], dtype=torch.long)
    for k, e in enumerate(edges):
        idx = idx * BINS + torch.bucketize(f[:, k].contiguous(), e)
    return idx


def cond_means(feat: torch.Tensor, col: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, float]:
    """Binned E[col | feat]: edges, the table [BINS^D, 3], and R^2."""
    qs = torch.linspace(0, 1, BINS + 1, dtype=feat.dtype)[1:-1]
    edges = [torch.quantile(feat[:, k].contiguous(), qs) for k in range(feat.shape[1])]
    idx = bin_index(feat, edges)
    nb = BINS ** feat.shape[1]
    cnt = torch.zeros(nb, dtype=col.dtype).index_add_(0, idx, torch.ones_like(idx, dtype=col.dtype))
    s = torch.zeros(nb, 3, dtype=col.dtype).index_add_(0, idx, col)
    g = col.mean(0)
    table = (s + PRIOR * g) / (cnt[:, None] + PRIOR)
    resid = (col - table[idx]).square().sum()
    total = (col - g).square().sum()
    return edges, table, float(1 - resid / total)


def main() -> None:
    seeds = parse_seeds(sys.argv[1]) if sys.argv[1] else [secrets.randbelow(10**6) for _ in range(int(sys.argv[2]))]
    print("seeds", ",".join(map(str, seeds)), flush=True)
    a, b, c, _ = split_photos(SHARED)
    for s in seeds:
        fn, desc = random_look(s)
        try:
            style = [fn(t) for t in b]
            truth = [fn(t) for t in c]
        except Exception:
            print(f"r{s} skip", flush=True)
            continue
        gen = torch.Generator().manual_seed(0)
        idt = fit_idt(a, style)
        tr = ColourTable.of_transport(a, style, balance=False)
        outs = [c, [hist_match(t, style) for t in c], [reinhard(t, style) for t in c], [idt(t) for t in c],
                [tr(t) for t in c]]
        base = max(score(o, truth)["bpsnr"] for o in outs)
        ct = ColourTable.of_transport(a, style)
        teacher = fit_feature_transfer(a, style)
        # structure features and their transport (balanced, as the colour transport)
        fa = [struct(t) for t in a]
        fsty = [struct(t) for t in style]
        w = balance_weights(a, style)
        src, dst = balanced_pixels(fa, fsty, 200_000, gen, w)
        sc = torch.cat([src, dst]).std(0).clamp_min(1e-6)
        tf = fit_transfer(src / sc, dst / sc, 20, gen, axes_first=False, linear_first=True)
        # conditional colour means on the style set, and the content set's own R^2
        ps = _pixels([torch.cat([t, f]) for t, f in zip(style, fsty)], 200_000, gen)
        edges, table, r2s = cond_means(ps[:, 3:], ps[:, :3])
        pa = _pixels([torch.cat([t, f]) for t, f in zip(a, fa)], 200_000, gen)
        _, _, r2a = cond_means(pa[:, 3:], pa[:, :3])
        alpha = max(0.0, min(1.0, (r2s - r2a) / (1 - r2a)))

        def m_of(t: torch.Tensor) -> torch.Tensor:
            f = struct(t)
            h, wd = f.shape[-2:]
            p = f.reshape(4, -1).T.double()
            q = tf.map_pixels(p / sc) * sc
            return table[bin_index(q, edges)].T.reshape(3, h, wd).float()

        oc = [ct(t) for t in c]
        om = [m_of(t) for t in c]
        p = {
            "ct": score(oc, truth)["bpsnr"],
            "teacher": score([teacher(t[None])[0] for t in c], truth)["bpsnr"],
            "m": score(om, truth)["bpsnr"],
            "cond": score([((1 - alpha) * x + alpha * y).clamp(-1, 1) for x, y in zip(oc, om)], truth)["bpsnr"],
        }
        print(f"r{s:<7d} best {base:6.2f} " + " ".join(f"{k} {v:6.2f}" for k, v in p.items())
              + f"  r2s {r2s:.2f} r2a {r2a:.2f} alpha {alpha:.2f}  {desc[:80]}", flush=True)


if __name__ == "__main__":
    main()

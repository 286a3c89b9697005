"""Teacher variant: structure features on per-image equalised luminance (invariant to tone curves)."""
import sys, secrets, torch, torch.nn.functional as F
sys.path.insert(0, "/work/main/benchmarks")
import brushwork.colortransfer as ctm
from brushwork.colortransfer import ColourTable, fit_feature_transfer
from brushwork.color import luminance
from looks import random_look, parse_seeds
from quality import SHARED, score, split_photos

def equalise(lum, levels=1024):
    out = []
    for l in lum:
        q = ((l.clamp(-1, 1) + 1) / 2 * (levels - 1)).round().long().flatten()
        h = torch.bincount(q, minlength=levels).float(); cdf = h.cumsum(0); mid = (cdf - h / 2) / cdf[-1]
        out.append((mid[q] * 2 - 1).view_as(l))
    return torch.stack(out)

orig = ctm.local_features
def local_features_eq(x):
    lum = equalise(luminance(x))
    out = [x]
    out += [ctm._gauss(lum, s) - lum for s in ctm.FEATURE_SIGMAS_DOG]
    for s in ctm.FEATURE_SIGMAS_GRAD:
        b = ctm._gauss(lum, s)
        gx = F.pad(b[..., :, 2:] - b[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
        gy = F.pad(b[..., 2:, :] - b[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
        out.append((gx.square() + gy.square()).sqrt() * s)
    return torch.cat(out, 1)

seeds = parse_seeds(sys.argv[1]) if sys.argv[1] else [secrets.randbelow(10**6) for _ in range(int(sys.argv[2]))]
print("seeds", ",".join(map(str, seeds)), flush=True)
a, b, c, _ = split_photos(SHARED)
for s in seeds:
    fn, desc = random_look(s)
    try:
        style = [fn(t) for t in b]; truth = [fn(t) for t in c]
    except Exception: print(f"r{s} skip", flush=True); continue
    ct = ColourTable.of_transport(a, style)
    ctm.local_features = orig; tb = fit_feature_transfer(a, style)
    p = {"ct": score([ct(t) for t in c], truth)["bpsnr"], "tb": score([tb(t[None])[0] for t in c], truth)["bpsnr"]}
    ctm.local_features = local_features_eq; te = fit_feature_transfer(a, style)
    p["teq"] = score([te(t[None])[0] for t in c], truth)["bpsnr"]
    ctm.local_features = orig
    print(f"r{s:<7d} " + " ".join(f"{k} {v:6.2f}" for k, v in p.items()) + f"  teq-ct {p['teq']-p['ct']:+.2f} teq-tb {p['teq']-p['tb']:+.2f}  {desc[:80]}", flush=True)

"""Held-out (2-fold) choice between the balanced colour transport and the feature teacher:
fit both on half of each set, measure the distribution distance of their outputs on the other
content half to the other style half (sliced Wasserstein in the 7-D colour+structure space)."""
import sys, secrets, torch
sys.path.insert(0, "/work/main/benchmarks")
from brushwork.colortransfer import ColourTable, fit_feature_transfer, local_features, _pixels
from looks import random_look
from quality import SHARED, score, split_photos

def feats(images, n, gen):
    return _pixels([local_features(t[None].float())[0] for t in images], n, gen)

def swd(x, y, gen, k=64):
    p = torch.randn(x.shape[1], k, generator=gen, dtype=torch.float64); p /= p.norm(dim=0, keepdim=True)
    a, _ = (x @ p).sort(0); b, _ = (y @ p).sort(0)
    return float((a - b).square().mean())

n = int(sys.argv[1]); seeds = [secrets.randbelow(10**6) for _ in range(n)]
print("seeds", ",".join(map(str, seeds)), flush=True)
a, b, c, _ = split_photos(SHARED)
for s in seeds:
    fn, desc = random_look(s)
    try:
        style = [fn(t) for t in b]; truth = [fn(t) for t in c]
    except Exception: print(f"r{s} skip", flush=True); continue
    d = {"ct": 0.0, "tb": 0.0}
    for fold in (0, 1):
        a1, a2 = a[fold::2], a[1 - fold::2]; s1, s2 = style[fold::2], style[1 - fold::2]
        ct = ColourTable.of_transport(a1, s1); tb = fit_feature_transfer(a1, s1)
        gen = torch.Generator().manual_seed(fold)
        ref = feats(s2, 60000, gen); scale = ref.std(0).clamp_min(1e-6)
        for name, m in (("ct", lambda t: ct(t)), ("tb", lambda t: tb(t[None])[0])):
            out = feats([m(t) for t in a2], 60000, torch.Generator().manual_seed(10 + fold))
            d[name] += swd(out / scale, ref / scale, torch.Generator().manual_seed(20 + fold))
    ct = ColourTable.of_transport(a, style); tb = fit_feature_transfer(a, style)
    p_ct = score([ct(t) for t in c], truth)["bpsnr"]; p_tb = score([tb(t[None])[0] for t in c], truth)["bpsnr"]
    pick = "tb" if d["tb"] < d["ct"] else "ct"
    right = (pick == "tb") == (p_tb > p_ct)
    print(f"r{s:<7d} cv ct {d['ct']:.4f} tb {d['tb']:.4f} ratio {d['tb']/d['ct']:.2f} bpsnr ct {p_ct:6.2f} tb {p_tb:6.2f} ({p_tb-p_ct:+.2f}) pick {pick} {'right' if right else 'WRONG'} cost {0 if right else abs(p_tb-p_ct):.2f}  {desc[:80]}", flush=True)

"""Pseudo-pair target as a blend of the balanced colour transport and the feature teacher."""
import sys, secrets, torch
sys.path.insert(0, "/work/main/benchmarks")
from brushwork.colortransfer import ColourTable, fit_feature_transfer
from looks import random_look, parse_seeds
from quality import SHARED, score, split_photos, BASELINES, hist_match, reinhard
from brushwork.colortransfer import fit_idt
seeds = parse_seeds(sys.argv[1]) if sys.argv[1] else [secrets.randbelow(10**6) for _ in range(int(sys.argv[2]))]
print("seeds", ",".join(map(str, seeds)), flush=True)
a, b, c, _ = split_photos(SHARED)
for s in seeds:
    fn, desc = random_look(s)
    try:
        style = [fn(t) for t in b]; truth = [fn(t) for t in c]
    except Exception: print(f"r{s} skip", flush=True); continue
    idt = fit_idt(a, style); tr = ColourTable.of_transport(a, style, balance=False)
    base = max(score(o, truth)["bpsnr"] for o in ([t for t in c], [hist_match(t, style) for t in c], [reinhard(t, style) for t in c], [idt(t) for t in c], [tr(t) for t in c]))
    ct = ColourTable.of_transport(a, style); tb = fit_feature_transfer(a, style)
    oc = [ct(t) for t in c]; ot = [tb(t[None])[0] for t in c]
    p = {"ct": score(oc, truth)["bpsnr"], "tb": score(ot, truth)["bpsnr"]}
    for al in (0.3, 0.5, 0.7):
        p[f"b{al}"] = score([(1 - al) * x + al * y for x, y in zip(oc, ot)], truth)["bpsnr"]
    print(f"r{s:<7d} best_classical {base:6.2f} " + " ".join(f"{k} {v:6.2f}" for k, v in p.items()) + f"  {desc[:70]}", flush=True)

import sys, secrets, torch
sys.path.insert(0, "/work/main/benchmarks")
from brushwork.colortransfer import ColourTable
from looks import random_look
from quality import SHARED, score, split_photos
a, b, c, _ = split_photos(SHARED)
null = ColourTable.of_transport(a[0::2], a[1::2]); null2 = ColourTable.of_transport(a[1::2], a[0::2])
d0 = sum(float((null(t) - t).square().mean()) for t in a[0::2]) / 6 / 2 + sum(float((null2(t) - t).square().mean()) for t in a[1::2]) / 6 / 2
print("null displacement", d0)
looks = [("identity", lambda t: t, "identity")] + [(f"r{s}",) + random_look(s) for s in [secrets.randbelow(10**6) for _ in range(int(sys.argv[1]))]]
for name, fn, desc in looks:
    try: style = [fn(t) for t in b]; truth = [fn(t) for t in c]
    except Exception: print(name, "skip"); continue
    ct = ColourTable.of_transport(a, style)
    d = sum(float((ct(t) - t).square().mean()) for t in a) / len(a)
    lam = max(0.0, 1 - d0 / d)
    p = {"photo": score(c, truth)["bpsnr"], "ct": score([ct(t) for t in c], truth)["bpsnr"],
         "shrunk": score([t + lam * (ct(t) - t) for t in c], truth)["bpsnr"]}
    print(f"{name:8s} d {d:.4f} lam {lam:.2f} " + " ".join(f"{k} {v:6.2f}" for k, v in p.items()) + f"  {desc[:60]}", flush=True)

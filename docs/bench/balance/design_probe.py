import sys, secrets, torch, torch.nn.functional as F
sys.path.insert(0, "/work/main/benchmarks")
from brushwork.colortransfer import ColourTable, fit_transfer, idt_table, _FINE, COLOUR_SMOOTH
from looks import random_look, parse_seeds
from quality import SHARED, score, split_photos

def small(t, m=192):
    s = m / max(t.shape[-2:]); return F.interpolate(t[None], scale_factor=s, mode="area", recompute_scale_factor=False)[0]

def descriptors(t, nb):
    x = small(t); h, w = x.shape[-2:]
    lum = x.mean(0)
    rank = torch.empty(h * w); rank[lum.flatten().argsort()] = torch.arange(h * w, dtype=torch.float32) / (h * w)
    eq = rank.view(1, 1, h, w)
    m = F.avg_pool2d(eq, 7, 1, 3, count_include_pad=False); m2 = F.avg_pool2d(eq ** 2, 7, 1, 3, count_include_pad=False)
    sd = (m2 - m ** 2).clamp_min(0).sqrt().flatten()
    m = F.avg_pool2d(eq, 21, 1, 10, count_include_pad=False); m2 = F.avg_pool2d(eq ** 2, 21, 1, 10, count_include_pad=False)
    sd21 = (m2 - m ** 2).clamp_min(0).sqrt().flatten()
    chroma = (x - x.mean(0, keepdim=True)).square().sum(0).flatten()
    crank = torch.empty(h * w); crank[chroma.argsort()] = torch.arange(h * w, dtype=torch.float32) / (h * w)
    y = torch.arange(h).view(h, 1).expand(h, w).flatten().float() / h
    mr = F.avg_pool2d(eq, 31, 1, 15, count_include_pad=False).flatten()
    return x.reshape(3, -1).T, torch.stack([y, rank, sd, sd21, crank, mr], 1)

def weighted_transport(content, style, nb, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cc, cd = zip(*[descriptors(t, nb) for t in content]); sc, sdd = zip(*[descriptors(t, nb) for t in style])
    # equal weight per image
    cw = torch.cat([torch.full((len(p),), 1 / len(p)) for p in cc]); sw = torch.cat([torch.full((len(p),), 1 / len(p)) for p in sc])
    cc, cd, sc, sdd = torch.cat(cc), torch.cat(cd), torch.cat(sc), torch.cat(sdd)
    # bins: y and rank uniform, sd by pooled quantiles
    nb = tuple(nb) + (1,) * (6 - len(nb))
    pool = torch.cat([cd, sdd])[::7]
    edges = [torch.quantile(pool[:, k].contiguous(), torch.linspace(0, 1, nb[k] + 1)[1:-1]) for k in range(6)]
    def bin_of(d):
        out = torch.zeros(len(d), dtype=torch.long)
        for k in range(6):
            out = out * nb[k] + torch.bucketize(d[:, k].contiguous(), edges[k])
        return out
    nbin = 1
    for k in nb: nbin *= k
    bc, bs_ = bin_of(cd), bin_of(sdd)
    pc = torch.zeros(nbin).index_add_(0, bc, cw); ps = torch.zeros(nbin).index_add_(0, bs_, sw)
    ratio = ((ps + 1e-3) / (pc + 1e-3)).clamp(0.2, 5)
    wc = cw * ratio[bc]
    n = 200_000
    src = cc[torch.multinomial(wc, n, replacement=True, generator=gen)].double()
    dst = sc[torch.multinomial(sw, n, replacement=True, generator=gen)].double()
    tr = fit_transfer(src, dst, 10, gen, linear_first=True)
    return ColourTable(idt_table(tr, _FINE, smooth=COLOUR_SMOOTH))

seeds = parse_seeds(sys.argv[1]) if sys.argv[1] else [secrets.randbelow(10**6) for _ in range(int(sys.argv[2]))]
print("seeds", ",".join(map(str, seeds)))
a, b, c, _ = split_photos(SHARED)
looks = [("identity", lambda t: t, "identity")] + [(f"r{s}",) + random_look(s) for s in seeds]
tot = {}
for name, fn, desc in looks:
    try:
        sb = [fn(t) for t in b]; tc = [fn(t) for t in c]
    except Exception:
        print(name, "skip"); continue
    res = {"transport": ColourTable.of_transport(a, sb), "w684": weighted_transport(a, sb, (6, 8, 4)),
           "w6843": weighted_transport(a, sb, (6, 8, 4, 3)), "w6C4": weighted_transport(a, sb, (6, 12, 4)),
           "w684m": weighted_transport(a, sb, (6, 8, 4, 1, 1, 3)), "w8C6": weighted_transport(a, sb, (8, 12, 6))}
    bp = {k: score([m(t) for t in c], tc)["bpsnr"] for k, m in res.items()}
    for k in bp: tot.setdefault(k, []).append(bp[k] - bp["transport"])
    print(f"{name:8s} " + " ".join(f"{k} {v:6.2f}" for k, v in bp.items()) + "  " + desc[:110], flush=True)
print({k: round(sum(v) / len(v), 2) for k, v in tot.items()})

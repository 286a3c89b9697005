"""Probe: can a distance between outputs-on-content and style images, computed without ground
truth, pick the better of two starts (IDT ~ lite, Magenta prior ~ painter) on random looks?"""
import sys, secrets, math, time
sys.path.insert(0, '/work/main/benchmarks')
import torch, torch.nn.functional as F
from pathlib import Path
from quality import split_photos, score
from looks import random_look, parse_seeds
from brushwork.colortransfer import fit_idt
from brushwork.nets import create
from brushwork.nets.magenta import style_encoder, mean_style_vector
from brushwork.losses.swd import extract_patches, sliced_wasserstein
torch.set_num_threads(1)
A, B, C, _ = split_photos(Path('/work/shared/data/photos'))
def small(t, side=384):
    s = side / max(t.shape[-2:])
    return F.interpolate(t[None], scale_factor=s, mode='bilinear', antialias=True)[0] if s < 1 else t
A = [small(t) for t in A]; B = [small(t) for t in B]; C = [small(t) for t in C]
def set_patches(imgs, size, scale, count, gen):
    out = []
    for t in imgs:
        x = t[None]
        for _ in range(scale): x = F.avg_pool2d(x, 2)
        p = extract_patches(x, size, count, gen)
        if size > 1:
            p = p.view(p.shape[0], 3, -1); p = (p - p.mean(2, keepdim=True)).flatten(1)
        out.append(p)
    return torch.cat(out)
def set_swd(xs, ys, sizes=(1, 3, 7), scales=3, count=512):
    gen = torch.Generator().manual_seed(0)
    per = {}
    for s in range(scales):
        for size in sizes:
            px = set_patches(xs, size, s, count, gen); py = set_patches(ys, size, s, count, gen)
            per[(s, size)] = float(sliced_wasserstein(px, py, 128, gen))
    return per
enc = style_encoder()
def vdist(xs, target):
    with torch.no_grad():
        v = torch.stack([enc(t[None])[0] for t in xs]).mean(0)
    return float((v - target).norm())
seeds = parse_seeds(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else [secrets.randbelow(10**6) for _ in range(int(sys.argv[2]) if len(sys.argv)>2 else 12)]
print('seeds', ','.join(map(str, seeds)), flush=True)
agree = {}
for seed in seeds:
    try:
        look, desc = random_look(seed)
        S = [look(t) for t in B]; GT = [look(t) for t in C]
    except Exception as e:
        print(seed, 'look failed', e); continue
    idt = fit_idt(A, S, seed=0)
    g = create('generator', 'painter'); g.start_prior(S); g.eval()
    with torch.no_grad():
        outs = {'idt': ([idt(t[None])[0] if idt(t[None]).dim()==4 else idt(t) for t in A], [idt(t[None])[0] for t in C]),
                'painter': ([g(t[None])[0] for t in A], [g(t[None])[0] for t in C])}
    target = mean_style_vector(S)
    row = {}
    for k, (oa, oc) in outs.items():
        sc = score(oc, GT)
        sw = set_swd(oa, S)
        row[k] = dict(bpsnr=sc['bpsnr'], vec=vdist(oa, target), swd=sum(sw.values())/len(sw),
                      swd_col=sum(v for (s, z), v in sw.items() if z == 1)/3, swd_tex=sum(v for (s, z), v in sw.items() if z > 1)/6)
    truth = 'idt' if row['idt']['bpsnr'] > row['painter']['bpsnr'] else 'painter'
    line = f"{seed:7d} {desc.split(':')[1][:60]:60s} bPSNR idt {row['idt']['bpsnr']:.2f} painter {row['painter']['bpsnr']:.2f} best={truth:7s}"
    for m in ('vec', 'swd', 'swd_col', 'swd_tex'):
        pick = 'idt' if row['idt'][m] < row['painter'][m] else 'painter'
        agree.setdefault(m, []).append(pick == truth)
        line += f" | {m} {row['idt'][m]:.3f}/{row['painter'][m]:.3f}{'*' if pick==truth else 'x'}"
    print(line, flush=True)
for m, v in agree.items():
    print(m, f'{sum(v)}/{len(v)} agree')

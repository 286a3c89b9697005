"""Scratch probe (session 19, not adopted): does a per-pixel colour map explain the style set
in Magenta's style space? For each set: the content photos carried by the set-level colour
transport, each image's mean style vector over four corner crops, and R = the transported
photos' mean distance to the style set's mean vector / the style images' leave-one-out
distance to the others' mean (crops of the one image for a single painting). "clean": both
sets blurred by 1.5 px, the style's vignette divided out and its screen notched out.

    python docs/bench/choose/style_space_probe.py - 14        # 14 fresh random looks
    python docs/bench/choose/style_space_probe.py - 0 --art   # the real-art sets
"""
import secrets, sys, time
from pathlib import Path
import torch, torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from brushwork.colortransfer import ColourTable
from brushwork.nets.magenta import style_encoder
from brushwork.screens import evenly
from brushwork.training.choose import devignetted, descreened, drawn_share
from looks import parse_seeds, styled_sets
from quality import SHARED, split_photos
from generator_probe import art_set, STYLES
from brushwork.io import list_images

enc = style_encoder()

def blur(t, s=1.5):
    r = int(3 * s + 0.5); x = torch.arange(-r, r + 1).float(); k = torch.exp(-x**2 / (2 * s * s)); k /= k.sum()
    y = F.conv2d(F.pad(t[None], (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).repeat(3, 1, 1, 1), groups=3)
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).repeat(3, 1, 1, 1), groups=3)
    return y[0]

def crops(t):
    h, w = t.shape[-2:]; s = int(0.6 * min(h, w))
    return [t[:, y:y + s, x:x + s] for y in (0, h - s) for x in (0, w - s)]

@torch.no_grad()
def vecs(images):
    return [torch.stack([enc(c[None])[0] for c in crops(t)]) for t in images]  # list of [4,100]

def stats(cv, sv):
    mu = torch.cat(sv).mean(0)
    dset = float((torch.cat(cv).mean(0) - mu).norm())
    dc = float(torch.stack([(v.mean(0) - mu).norm() for v in cv]).mean())
    if len(sv) >= 2:
        ds = float(torch.stack([(sv[i].mean(0) - torch.cat(sv[:i] + sv[i + 1:]).mean(0)).norm() for i in range(len(sv))]).mean())
    else:
        v = sv[0]; ds = float(torch.stack([(v[i] - torch.cat([v[:i], v[i + 1:]]).mean(0)).norm() for i in range(len(v))]).mean())
        dc = float(torch.stack([(c - mu).norm() for v2 in cv for c in v2]).mean())
    return dset, dc, ds

seeds = parse_seeds(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "-" else [secrets.randbelow(10**6) for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 10)]
art = "--art" in sys.argv
print("seeds", ",".join(map(str, seeds)), flush=True)
a, b, _, _ = split_photos(SHARED)
cases = []
if art:
    cases += [("vangogh", evenly(art_set("vangogh"), 12)), ("raphael", art_set("raphael"))]
    cases += [(f"single:{p.stem[:14]}", [t]) for p, t in zip(list_images(STYLES / "singles"), art_set("singles"))]
for name, style in cases + [(f"r{s}", None) for s in seeds]:
    desc = name
    if style is None:
        looked = styled_sets(int(name[1:]), b)
        if looked is None: continue
        desc, (style,) = looked
        desc = " -> ".join(p.split("(")[0] for p in desc.split(": ", 1)[-1].split(" -> "))
    t0 = time.perf_counter()
    style = evenly(style, 32)
    T = ColourTable.of_transport(a, style)
    tc = [T(c) for c in a]
    raw = stats(vecs(tc), vecs(style))
    pho = stats(vecs(a), vecs(style))
    st2 = descreened(a, devignetted(a, style))
    clean = stats(vecs([blur(t) for t in tc]), vecs([blur(t) for t in st2]))
    share = drawn_share(a, style)
    print(f"{name:24s} share {share:.2f} | photo set {pho[0]:.2f} | T set {raw[0]:.2f} per-img {raw[1]:.2f} spread {raw[2]:.2f} R {raw[1]/raw[2]:.2f} Rset {raw[0]/raw[2]:.2f} | clean set {clean[0]:.2f} R {clean[1]/clean[2]:.2f} Rset {clean[0]/clean[2]:.2f} ({time.perf_counter()-t0:.0f}s) {desc}", flush=True)

"""Scratch probe (session 14): the structure teacher with its structure features (and the
colours its alpha is measured on) taken after a Gaussian blur of sigma B, so that textures
whose phase no photo predicts (halftone, grain) stop counting as structure.

    python docs/bench/cond/blur_probe.py SEEDS B1,B2,...
"""

import sys

import torch

sys.path.insert(0, "/work/main/benchmarks")
from brushwork.colortransfer import (  # noqa: E402
    STRUCTURE_ROTATIONS, ColourTable, StructureTeacher, _gauss, _pixels, _structure, balance_weights,
    balanced_pixels, conditional_colour, fit_transfer,
)
from brushwork.color import luminance  # noqa: E402
from looks import parse_seeds, random_look  # noqa: E402
from quality import SHARED, hist_match, reinhard, score, split_photos  # noqa: E402


class Blurred(StructureTeacher):
    blur: float = 0.0
    lum_only: bool = False

    def drawn(self, x):  # type: ignore[no-untyped-def]
        return super().drawn(_gauss(x.float(), self.blur) if self.blur > 0 else x)

    def __call__(self, x):  # type: ignore[no-untyped-def]
        if not self.lum_only:
            return super().__call__(x)
        y = self.colour(x)
        if self.alpha > 0:  # only the luminance moves towards the drawn prediction
            y = y + self.alpha * (luminance(self.drawn(x)) - luminance(y))
        return y.clamp(-1, 1)


def fit(content, style, blur, alpha_blur, samples=200_000, seed=0):  # type: ignore[no-untyped-def]
    gen = torch.Generator().manual_seed(seed)
    colour = ColourTable.of_transport(content, style, seed=seed)
    pre = (lambda t: _gauss(t[None].float(), blur)[0]) if blur > 0 else (lambda t: t.float())
    fc = [_structure(pre(t)[None])[0] for t in content]
    fs = [_structure(pre(t)[None])[0] for t in style]
    src, dst = balanced_pixels(fc, fs, samples, gen, balance_weights(content, style))
    scale = torch.cat([src, dst]).std(0).clamp_min(1e-6)
    transfer = fit_transfer(src / scale, dst / scale, STRUCTURE_ROTATIONS, gen, axes_first=False, linear_first=True)
    ps = _pixels([torch.cat([t.float(), f]) for t, f in zip(style, fs)], samples, gen)
    edges, table, _ = conditional_colour(ps[:, 3:], ps[:, :3])
    cb = (lambda t: _gauss(t[None].float(), alpha_blur)[0]) if alpha_blur > 0 else (lambda t: t.float())
    ps2 = _pixels([torch.cat([cb(t), f]) for t, f in zip(style, fs)], samples, gen)
    r2s = conditional_colour(ps2[:, 3:], ps2[:, :3])[2]
    pc = _pixels([torch.cat([cb(t), f]) for t, f in zip(content, fc)], samples, gen)
    r2c = conditional_colour(pc[:, 3:], pc[:, :3])[2]
    alpha = min(1.0, max(0.0, (r2s - r2c) / max(1e-6, 1.0 - r2c)))
    t = Blurred(colour, transfer, scale, edges, table, alpha)
    t.blur = blur
    return t


def main() -> None:
    seeds = parse_seeds(sys.argv[1])
    variants = [tuple(float(v) for v in x.split("/")) for x in sys.argv[2].split(",")]  # blur/alpha_blur[/lum]
    a, b, c, _ = split_photos(SHARED)
    for s in seeds:
        fn, desc = random_look(s)
        try:
            style = [fn(t) for t in b]
            truth = [fn(t) for t in c]
        except Exception:
            print(f"r{s} skip", flush=True)
            continue
        outs = [c, [hist_match(t, style) for t in c], [reinhard(t, style) for t in c]]
        best = max(score(o, truth)["bpsnr"] for o in outs)
        ct = ColourTable.of_transport(a, style)
        cells = [f"best3 {best:.2f}", f"balanced {score([ct(t) for t in c], truth)['bpsnr']:.2f}"]
        for v in variants:
            blur, ab = v[:2]
            t = fit(a, style, blur, ab)
            t.lum_only = len(v) > 2
            name = f"b{blur:g}/{ab:g}" + ("/lum" if t.lum_only else "")
            cells.append(f"{name} {score([t(x[None])[0] for x in c], truth)['bpsnr']:.2f} (a {t.alpha:.2f})")
        print(f"r{s:<7d} " + "  ".join(cells) + f"  {desc[:60]}", flush=True)


if __name__ == "__main__":
    main()

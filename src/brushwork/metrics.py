"""Image-quality metrics: PSNR and SSIM on tensors in [0, 1]; distances between image sets;
artefact counts; a linear probe for held-out checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .color import luminance


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB between [.., H, W] tensors in [0, 1]."""
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    mse = F.mse_loss(x.double(), y.double()).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean SSIM (Gaussian window, sigma 1.5) over channels of [B, C, H, W] in [0, 1]."""
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    x, y = x.double(), y.double()
    c = x.shape[1]
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    g = (g / g.sum()).view(1, 1, 1, 11).repeat(c, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        t = F.conv2d(t, g, groups=c)
        return F.conv2d(t, g.transpose(2, 3), groups=c)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.mean().item()


def swd_distance(fake: torch.Tensor, real: torch.Tensor, seed: int = 0) -> float:
    """Multi-scale patch sliced-Wasserstein distance between image sets ([N, 3, H, W] in
    [-1, 1]); lower is closer. 7x7 patches at every pyramid level down to 16 px, with a
    fixed seed so two models are compared on the same projections. Reported x 1000."""
    from .losses.swd import patch_swd

    scales = max(1, int(math.log2(min(fake.shape[-1], real.shape[-1]) // 16)) + 1)
    with torch.no_grad():
        d = patch_swd(
            fake.float(),
            real.float(),
            sizes=(7,),
            scales=scales,
            count=8192,
            n_proj=128,
            gen=torch.Generator().manual_seed(seed),
        )
    return d.item() * 1000


def nearest_distances(samples: torch.Tensor, train: torch.Tensor, side: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample, the RMS distance to its nearest training image (both downscaled to
    ``side`` px) and that image's index -> ([N], [N])."""
    a = F.interpolate(samples.float(), size=(side, side), mode="area").flatten(1)
    b = F.interpolate(train.float(), size=(side, side), mode="area").flatten(1)
    d = torch.cdist(a, b) / math.sqrt(a.shape[1])
    best, idx = d.min(1)
    return best, idx


def _stripe_patches(images: list[torch.Tensor], size: int, count: int, half: int, gen: torch.Generator) -> torch.Tensor:
    """``count`` random ``size``-px patches ([count, 3, size, size]) from the vertical stripes
    of parity ``half`` (stripes 2*size wide, patches wholly inside one), spread evenly over
    the images: the two halves never share a pixel, so a classifier fitted on one half and
    scored on the other is scored on regions it never saw."""
    out = []
    for i in range(count):
        x = images[i % len(images)]
        h, w = x.shape[-2:]
        stripes = [s for s in range(half, max(1, w // (2 * size)), 2)] or [half % max(1, w // (2 * size))]
        s = stripes[int(torch.randint(len(stripes), (1,), generator=gen))]
        x0 = min(s * 2 * size + int(torch.randint(size + 1, (1,), generator=gen)), max(0, w - size))
        y0 = int(torch.randint(max(1, h - size + 1), (1,), generator=gen))
        out.append(x[:, y0 : y0 + size, x0 : x0 + size])
    return torch.stack(out)


def _patch_classifier() -> nn.Module:
    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, 2, 1), nn.LeakyReLU(0.2)]

    return nn.Sequential(
        *block(3, 16), *block(16, 32), *block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1)
    )


def patch_c2st(
    fake: list[torch.Tensor],
    real: list[torch.Tensor],
    size: int = 48,
    patches: int = 512,
    steps: int = 300,
    seeds: int = 3,
    max_side: int = 512,
) -> float:
    """Classifier two-sample test on patches: the held-out accuracy of a small CNN trained
    fresh to tell ``fake`` patches from ``real`` ones (images [3, H, W] in [-1, 1]).

    0.5 means the classifier cannot tell the sets apart, 1.0 that it always can. No training
    loss of a style optimises it, so it judges a style from outside. Both sets are brought to
    the same scale (longest side at most ``max_side``); the classifier learns on patches from
    even vertical stripes of every image and is scored on patches from the odd ones. Mean of
    ``seeds`` fresh classifiers; same inputs, same result."""

    def fit(x: torch.Tensor) -> torch.Tensor:
        s = max_side / max(x.shape[-2:])
        return F.interpolate(x[None].float(), scale_factor=s, mode="area")[0] if s < 1 else x.float()

    fake, real = [fit(x.detach()) for x in fake], [fit(x.detach()) for x in real]
    size = min(size, *(min(x.shape[-2:]) for x in fake + real))
    accs = []
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        for seed in range(seeds):
            gen = torch.Generator().manual_seed(seed)
            torch.manual_seed(seed)
            train = torch.cat(
                [_stripe_patches(fake, size, patches, 0, gen), _stripe_patches(real, size, patches, 0, gen)]
            )
            test = torch.cat(
                [_stripe_patches(fake, size, patches, 1, gen), _stripe_patches(real, size, patches, 1, gen)]
            )
            label = torch.cat([torch.ones(patches), torch.zeros(patches)])
            net = _patch_classifier()
            opt = torch.optim.Adam(net.parameters(), 2e-3)
            for _ in range(steps):
                idx = torch.randint(len(train), (64,), generator=gen)
                batch = train[idx]
                flip = torch.rand(64, generator=gen) < 0.5
                batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
                loss = F.binary_cross_entropy_with_logits(net(batch)[:, 0], label[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                pred = torch.cat([net(t)[:, 0] for t in test.split(256)]) > 0
            accs.append((pred == label.bool()).float().mean().item())
    return sum(accs) / len(accs)


def dark_blobs(
    out: torch.Tensor, truth: torch.Tensor, light: float = 0.6, darker: float = 0.6, side: int = 5
) -> tuple[int, int]:
    """Dark blots on paper, for [3, H, W] images in [-1, 1]: (pixels where the truth is light,
    luminance above ``light``, and the output darker than it by more than ``darker``; of them,
    those in solid patches at least ``side`` px across, the ones a ``side`` x ``side``
    morphological opening keeps: a blot, not a stroke)."""
    lo, lt = luminance(out[None].clamp(-1, 1)), luminance(truth[None])
    dark = ((lo < lt - darker) & (lt > light)).float()
    opened = F.max_pool2d(-F.max_pool2d(-dark, side, 1, side // 2), side, 1, side // 2)
    return int(dark.sum()), int(opened.sum())


def grid_artifacts(samples: torch.Tensor, real: torch.Tensor, ring: int = 2) -> dict[str, Any]:
    """Two artefacts of generated images ([N, 3, H, W] in [-1, 1]), each beside real crops,
    which show neither: ``frame``, the outer ``ring`` pixels' mean luminance minus the
    interior's, in 8-bit levels (a dark frame is negative), samples' minus the real crops';
    ``frame_se``, its standard error (the two sets' per-image spreads: real crops of paintings
    have bright tops and dark bottoms, so a few levels are sampling noise); ``frame_sides``,
    the same difference for each side (top, bottom, left, right); ``checkerboard``, the share
    of the luminance spectrum's power (mean removed) at the frequencies of period 2 px (along
    x, along y, both), samples' over the real crops' (1 = as real images; a checkerboard
    raises it)."""

    def measure(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        lum = luminance(x)[:, 0].double() * 127.5  # levels
        inner = lum[:, ring:-ring, ring:-ring]
        edge = (lum.sum((1, 2)) - inner.sum((1, 2))) / (lum[0].numel() - inner[0].numel())
        mid = inner.mean((1, 2))
        sides = torch.stack([lum[:, :ring].mean((1, 2)), lum[:, -ring:].mean((1, 2)),
                             lum[:, :, :ring].mean((1, 2)), lum[:, :, -ring:].mean((1, 2))], 1) - mid[:, None]  # fmt: skip
        power = torch.fft.fft2(lum - lum.mean((1, 2), keepdim=True)).abs().square()
        h, w = lum.shape[-2:]
        nyquist = power[:, h // 2, 0] + power[:, 0, w // 2] + power[:, h // 2, w // 2]
        return edge - mid, sides, float((nyquist / power.sum((1, 2)).clamp_min(1e-12)).mean())

    f_s, s_s, c_s = measure(samples.float())
    f_r, s_r, c_r = measure(real.float())
    se = (
        math.sqrt(float(f_s.var()) / len(f_s) + float(f_r.var()) / len(f_r))
        if min(len(f_s), len(f_r)) > 1
        else math.nan
    )
    sides = (s_s.mean(0) - s_r.mean(0)).tolist()
    return {
        "frame": float(f_s.mean() - f_r.mean()), "frame_se": se,
        "frame_sides": dict(zip(("top", "bottom", "left", "right"), (round(v, 2) for v in sides), strict=True)),
        "checkerboard": c_s / max(c_r, 1e-12),
    }  # fmt: skip


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """The Frechet distance between Gaussians fitted to two feature sets [N, D] and [M, D]:
    |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2). Biased upwards at small N;
    compare it with the same count of real against real."""
    a, b = a.double(), b.double()
    ca, cb = torch.cov(a.T), torch.cov(b.T)

    def sqrtm(m: torch.Tensor) -> torch.Tensor:
        w, v = torch.linalg.eigh((m + m.T) / 2)
        return (v * w.clamp_min(0).sqrt()) @ v.T

    ra = sqrtm(ca)
    cross = torch.linalg.eigvalsh(ra @ cb @ ra).clamp_min(0).sqrt().sum()
    return float((a.mean(0) - b.mean(0)).square().sum() + ca.trace() + cb.trace() - 2 * cross)


def linear_probe(
    features: torch.Tensor, labels: torch.Tensor, classes: int, l2: float = 1e-3
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A multinomial logistic regression fitted to ``features`` [N, D] and integer ``labels``
    [N] (standardised features, L2 penalty ``l2``, L-BFGS from zero: same inputs, same probe).
    Returns features [M, D] -> logits [M, classes]."""
    mu, sd = features.mean(0), features.std(0, unbiased=False) + 1e-4
    z = ((features - mu) / sd).float()
    lin = nn.Linear(z.shape[1], classes)
    nn.init.zeros_(lin.weight)
    nn.init.zeros_(lin.bias)
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(lin(z), labels) + l2 * lin.weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    lin.requires_grad_(False)
    return lambda f: lin(((f - mu) / sd).float())

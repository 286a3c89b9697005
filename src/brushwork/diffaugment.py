"""Differentiable augmentation (Zhao et al. 2020, DiffAugment), applied to real and fake
images alike before the discriminator, so a discriminator fed with a handful of style
images cannot simply memorise them. All ops are differentiable w.r.t. the image."""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    parts = tuple(p for p in policy.replace(" ", "").split(",") if p)
    bad = [p for p in parts if p not in POLICIES]
    if bad:
        raise ValueError(f"unknown augmentation {bad[0]!r} (choose from {', '.join(POLICIES)})")
    return parts


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], pad: str = "replicate") -> torch.Tensor:
    """x: [B, C, H, W] in [-1, 1]. Uses the global torch RNG (saved in checkpoints).

    ``pad``: how translation fills the uncovered strip, "replicate" (style training: crops
    of a larger image, whose edges are not special) or "zeros" (whole generated images, as
    in DiffAugment: replicating a generated image's border column 1/8 of the width made
    the discriminator weigh the generator's border 8x and the samples grew a frame).
    """
    if pad not in ("replicate", "zeros"):
        raise ValueError(f"pad must be 'replicate' or 'zeros', got {pad!r}")
    b = x.shape[0]
    if "color" in policy:
        dev, dt = x.device, x.dtype
        x = x + (torch.rand(b, 1, 1, 1, dtype=dt, device=dev) - 0.5) * 0.5  # brightness
        mean = x.mean(1, keepdim=True)
        x = (x - mean) * (torch.rand(b, 1, 1, 1, dtype=dt, device=dev) + 0.5) + mean  # saturation
        mean = x.mean((1, 2, 3), keepdim=True)
        x = (x - mean) * (torch.rand(b, 1, 1, 1, dtype=dt, device=dev) * 0.5 + 0.75) + mean  # contrast
    if "translation" in policy:
        h, w = x.shape[-2:]
        sh, sw = max(1, h // 8), max(1, w // 8)
        ty = torch.randint(-sh, sh + 1, (b,)).tolist()
        tx = torch.randint(-sw, sw + 1, (b,)).tolist()
        padded = F.pad(x, (sw, sw, sh, sh), mode="replicate" if pad == "replicate" else "constant")
        x = torch.stack([padded[i, :, sh + ty[i] : sh + ty[i] + h, sw + tx[i] : sw + tx[i] + w] for i in range(b)])
    if "cutout" in policy:
        h, w = x.shape[-2:]
        ch, cw = h // 2, w // 2
        cy = torch.randint(0, h - ch + 1, (b,))
        cx = torch.randint(0, w - cw + 1, (b,))
        ys = torch.arange(h)[None, :, None]
        xs = torch.arange(w)[None, None, :]
        inside = (ys >= cy[:, None, None]) & (ys < (cy + ch)[:, None, None])
        inside = inside & (xs >= cx[:, None, None]) & (xs < (cx + cw)[:, None, None])
        x = x * (~inside).to(x.dtype).to(x.device)[:, None]
    return x

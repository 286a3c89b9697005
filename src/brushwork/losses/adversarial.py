"""Adversarial objectives on discriminator outputs (lists of patch maps, one per scale).

Least squares is the default: D minimises (D(x)-1)^2 + D(G(z))^2 and G minimises
(D(G(z))-1)^2 (Mao et al. 2017). Each function averages over patches and scales.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

LOSSES = ("lsgan", "vanilla", "hinge", "wgan-gp")
Outputs = Sequence[torch.Tensor]


def _check(name: str, outs: Outputs) -> None:
    if name not in LOSSES:
        raise ValueError(f"unknown adversarial loss {name!r} (choose from {', '.join(LOSSES)})")
    if not isinstance(outs, (list, tuple)) or not outs:
        raise ValueError("discriminator outputs must be a non-empty list of tensors")
    for o in outs:
        if not torch.is_tensor(o) or not o.is_floating_point():
            raise ValueError(f"discriminator output must be a float tensor, got {type(o).__name__}")


def d_loss(name: str, real: Outputs, fake: Outputs) -> torch.Tensor:
    """Discriminator loss given its outputs on real and (detached) fake images."""
    _check(name, real)
    _check(name, fake)
    total = torch.zeros((), device=real[0].device)
    for r, f in zip(real, fake, strict=True):
        r, f = r.float(), f.float()
        if name == "lsgan":
            total = total + ((r - 1) ** 2).mean() + (f**2).mean()
        elif name == "vanilla":
            total = total + F.softplus(-r).mean() + F.softplus(f).mean()
        elif name == "hinge":
            total = total + F.relu(1 - r).mean() + F.relu(1 + f).mean()
        else:  # wgan-gp: the penalty is added separately (gradient_penalty)
            total = total + f.mean() - r.mean()
    return total / len(real)


def g_loss(name: str, fake: Outputs) -> torch.Tensor:
    """Generator loss given the discriminator's outputs on fake images."""
    _check(name, fake)
    total = torch.zeros((), device=fake[0].device)
    for f in fake:
        f = f.float()
        if name == "lsgan":
            total = total + ((f - 1) ** 2).mean()
        elif name == "vanilla":
            total = total + F.softplus(-f).mean()  # non-saturating
        else:  # hinge and wgan-gp
            total = total - f.mean()
    return total / len(fake)


def _input_grad_sq(d: Callable[[torch.Tensor], Outputs], x: torch.Tensor) -> torch.Tensor:
    outs = d(x)
    total = sum(o.float().sum() for o in outs)
    (grad,) = torch.autograd.grad(total, x, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1)  # [B]


def r1_penalty(d: Callable[[torch.Tensor], Outputs], real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): squared gradient norm of D on real images, halved."""
    x = real.detach().requires_grad_(True)
    return 0.5 * _input_grad_sq(d, x).mean()


def gradient_penalty(d: Callable[[torch.Tensor], Outputs], real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 on random interpolates."""
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} differ in shape")
    a = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    return ((_input_grad_sq(d, x) + 1e-12).sqrt() - 1).pow(2).mean()


def discriminator_objective(
    name: str, d: Callable[[torch.Tensor], Outputs], real: torch.Tensor, fake: torch.Tensor,
    lambda_gp: float = 10.0, lambda_r1: float = 0.0, r1_scale: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
    """The discriminator's loss ``name`` on ``real`` and (detached) ``fake`` images, with the
    gradient penalty for wgan-gp and, where ``lambda_r1`` > 0, R1 on the real images weighted
    by ``lambda_r1 * r1_scale`` (lazy R1 passes its interval as the scale); shared by style and
    GAN training. -> (loss, its parts for the log)."""
    loss = d_loss(name, d(real), d(fake))
    stats = {"d": loss.item()}
    if name == "wgan-gp":
        n = min(real.shape[0], fake.shape[0])
        gp = gradient_penalty(d, real[:n], fake[:n])
        loss = loss + lambda_gp * gp
        stats["gp"] = gp.item()
    if lambda_r1 > 0:
        r1 = r1_penalty(d, real)
        loss = loss + lambda_r1 * r1_scale * r1
        stats["r1"] = r1.item()
    return loss, stats

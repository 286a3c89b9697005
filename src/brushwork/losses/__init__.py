"""Losses: adversarial objectives and penalties, PatchNCE, sliced Wasserstein, edge statistics,
pixel losses."""

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .adversarial import LOSSES, d_loss, discriminator_objective, g_loss, gradient_penalty, r1_penalty
from .edges import edge_statistics, edge_statistics_loss
from .nce import PatchSampleMLP, patch_nce_loss
from .swd import patch_swd, sliced_wasserstein

# pixel losses by name (the recipe's ``idt_kind``)
PIXEL_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"l1": F.l1_loss, "mse": F.mse_loss}

__all__ = [
    "LOSSES", "PIXEL_LOSSES", "PatchSampleMLP", "d_loss",
    "discriminator_objective", "edge_statistics", "edge_statistics_loss", "g_loss", "gradient_penalty", "patch_nce_loss",
    "patch_swd", "r1_penalty", "sliced_wasserstein",
]  # fmt: skip

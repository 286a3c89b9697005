"""Losses: adversarial objectives and penalties, PatchNCE, sliced Wasserstein."""

from .adversarial import LOSSES, d_loss, g_loss, gradient_penalty, r1_penalty
from .nce import PatchSampleMLP, patch_nce_loss
from .swd import patch_swd, sliced_wasserstein

__all__ = [
    "LOSSES", "PatchSampleMLP", "d_loss", "g_loss", "gradient_penalty", "patch_nce_loss",
    "patch_swd", "r1_penalty", "sliced_wasserstein",
]  # fmt: skip

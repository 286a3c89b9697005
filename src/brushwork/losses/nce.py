"""PatchNCE (Park et al. 2020, CUT): a patch of the output should be closer to the same
patch of the input than to other patches, measured on the generator's encoder features."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PatchSampleMLP(nn.Module):
    """Per-layer 2-layer MLP heads, built up front from the generator's feature widths."""

    def __init__(self, channels: list[int], dim: int = 256) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(c, dim), nn.ReLU(), nn.Linear(dim, dim)) for c in channels)

    def forward(
        self, feats: list[torch.Tensor], num_patches: int, ids: list[torch.Tensor] | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Sample the same ``num_patches`` locations per layer; return [B*P, dim] embeddings."""
        out, out_ids = [], []
        for i, (f, head) in enumerate(zip(feats, self.heads, strict=True)):
            _, c, h, w = f.shape
            flat = f.flatten(2).permute(0, 2, 1)  # [B, HW, C]
            if ids is None:
                idx = torch.randperm(h * w, device=f.device)[: min(num_patches, h * w)]
            else:
                idx = ids[i]
            x = head(flat[:, idx, :].reshape(-1, c).float())
            out.append(F.normalize(x, dim=1))
            out_ids.append(idx)
        return out, out_ids


def patch_nce_loss(q: torch.Tensor, k: torch.Tensor, batch: int, tau: float = 0.07) -> torch.Tensor:
    """InfoNCE with negatives from the same image. q, k: [B*P, dim] (normalised)."""
    if q.shape != k.shape:
        raise ValueError(f"query {tuple(q.shape)} and key {tuple(k.shape)} differ in shape")
    k = k.detach()
    p = q.shape[0] // batch
    pos = (q * k).sum(1, keepdim=True)  # [B*P, 1]
    qb, kb = q.view(batch, p, -1), k.view(batch, p, -1)
    neg = torch.bmm(qb, kb.transpose(1, 2))  # [B, P, P]
    eye = torch.eye(p, device=q.device, dtype=torch.bool)[None]
    neg = neg.masked_fill(eye, -10.0).view(-1, p)
    logits = torch.cat([pos, neg], 1) / tau
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, target)

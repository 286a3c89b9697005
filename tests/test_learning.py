"""Learning happens: a short unpaired run on a fixed synthetic look beats the identity on
photos it never saw, by a stated margin."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from conftest import TINY

from brushwork.data import ImageBank
from brushwork.io import tensor_to_pil
from brushwork.metrics import psnr
from brushwork.stylizer import Stylizer
from brushwork.training.loop import Budget
from brushwork.training.recipe import default_recipe
from brushwork.training.style import train_style_run

MARGIN_DB = 4.0


def scenes(n: int, seed: int, size: int = 96) -> torch.Tensor:
    """Photo-like stand-ins: smooth colour fields with a few hard-edged shapes."""
    g = torch.Generator().manual_seed(seed)
    field = F.interpolate(torch.rand(n, 3, 4, 4, generator=g) * 1.6 - 0.8, size=(size, size), mode="bicubic")
    shapes = F.interpolate(torch.rand(n, 3, 6, 6, generator=g) * 1.6 - 0.8, size=(size, size), mode="nearest")
    mask = F.interpolate((torch.rand(n, 1, 6, 6, generator=g) < 0.4).float(), size=(size, size), mode="nearest")
    return (field * (1 - mask) + shapes * mask).clamp(-1, 1)


def look(x: torch.Tensor) -> torch.Tensor:
    """A fixed grade: warm, desaturated, contrasty, lifted blacks."""
    lum = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)
    y = lum + 0.3 * (x - lum)
    y = torch.tanh(1.6 * y) + torch.tensor([0.15, 0.02, -0.2]).view(1, 3, 1, 1)
    return (0.15 + 0.85 * y).clamp(-1, 1)


def test_a_short_run_learns_a_look_it_never_saw_the_photos_of(tmp_path: Path) -> None:
    content_t, style_src, held = scenes(6, 1), scenes(6, 2), scenes(3, 3)
    content = ImageBank([tensor_to_pil(t) for t in content_t], 64)
    style = ImageBank([tensor_to_pil(t) for t in look(style_src)], 64)
    r = default_recipe(len(style), size=64, **TINY)
    path = train_style_run(
        content=content, style=style, pairs=None, recipe=r, run_dir=tmp_path / "run",
        style_dir=tmp_path / "style", budget=Budget(steps=30), seed=0, device="cpu", quiet=True,
    )  # fmt: skip
    st = Stylizer.load(path, device="cpu", precision="fp32")
    assert st.meta["training"]["pseudo_pairs"] == "structure"
    truth = (look(held) + 1) / 2
    identity = psnr((held + 1) / 2, truth)
    learned = psnr((st.stylize_tensor(held) + 1) / 2, truth)
    assert learned > identity + MARGIN_DB, (learned, identity)

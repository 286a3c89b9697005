"""`painter`: a light stylization network that paints (strokes, texture, outlines), started
from Magenta's pretrained arbitrary-stylization transfer network and fine-tuned on the folder.

Architecture (the transfer network of Ghiasi et al. 2017, light variant, ~180 K weights):
9x9 conv 3->8, two stride-2 3x3 convs (16, 32), five residual blocks at 1/4 resolution,
two nearest x2 upsamplings with 3x3 convs (16, 8), a 9x9 conv to RGB and a sigmoid. Every
convolution after the encoder is followed by *conditional instance norm*: its scale and
shift are linear functions of a 100-number style vector, which is a parameter here (it
starts at the mean of the style images' vectors under Magenta's style encoder).

``start_prior(style_images)`` loads the pretrained weights (``nets/magenta.py``) and sets the
style vector; the style's own fine-tuned weights are then saved with the style, so applying
it needs nothing but the style file. Instance norm: tiles share whole-image statistics
(``shared_norm``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from .contract import StyleGenerator
from .registry import register

STYLE_DIM = 100
EPS = 1e-5  # the pretrained network's instance-norm epsilon (checked against the ONNX file on load)


def _format(t: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if t.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format


class _CondNorm(nn.Module):
    """Instance norm whose per-channel scale and shift come from the style vector."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(ch, eps=EPS)
        self.gamma = nn.Linear(STYLE_DIM, ch)
        self.beta = nn.Linear(STYLE_DIM, ch)
        nn.init.zeros_(self.gamma.weight)
        nn.init.ones_(self.gamma.bias)
        nn.init.zeros_(self.beta.weight)
        nn.init.zeros_(self.beta.bias)
        self.folded = False  # True while the convolution before it carries it (Painter.fixed_norms)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if self.folded:
            return x
        g, b = self.gamma(s).to(x.dtype), self.beta(s).to(x.dtype)
        if s.shape[0] == 1:  # one style for the batch: the norm applies scale and shift itself (one pass)
            return F.instance_norm(x, weight=g[0], bias=b[0], eps=self.norm.eps)
        return torch.addcmul(b[:, :, None, None], self.norm(x), g[:, :, None, None])


class _Res(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1, self.norm1 = nn.Conv2d(ch, ch, 3), _CondNorm(ch)
        self.conv2, self.norm2 = nn.Conv2d(ch, ch, 3), _CondNorm(ch)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(F.pad(x, (1, 1, 1, 1), mode="reflect")), s), inplace=True)
        return x + self.norm2(self.conv2(F.pad(h, (1, 1, 1, 1), mode="reflect")), s)


@register("generator", "painter")
class Painter(StyleGenerator):
    align = 4
    # peak bytes per pixel of a float32 pass (8-16 channels at full resolution), input and
    # output included: 260 measured at 2048 px (benchmarks/apply_speed.py), rounded up
    bytes_per_pixel = 300
    shared_norm = True
    # in bf16 whole: 0.29 s at 1024 px on 2 cores against 0.42 s autocast and 0.60 s float32,
    # 1.9 8-bit levels from float32 at the 99.9th percentile (autocast: 1.8)
    low_precision = True
    recipe_features = frozenset({"prior"})  # Magenta's pretrained network is where it starts

    @classmethod
    def recipe_defaults(
        cls, paired: bool, teacher: str, small_set: bool, drawn: bool = False, single: bool = False
    ) -> dict[str, Any]:
        # starts from Magenta's pretrained transfer network conditioned on the folder's mean
        # style vector; fine-tuned with the adversarial and PatchNCE losses and the distance
        # of its outputs' style vectors to the folder's. The frame's vignette is measured from
        # the sets and applied over the frame, as for lite: a network that sees crops cannot
        # place it
        d: dict[str, Any] = {"prior": True, "lambda_style_vec": 1.0, "vignette": not paired}
        if not paired and teacher:
            # the teacher's pseudo-pairs, compared in 8 x 8 blocks: paper where the picture is
            # flat and shading where the style puts it, whatever the photo's tone there (the
            # pretrained start follows the photo's tones, and shaded a drawing's skies dark)
            d.update(teacher=teacher, lambda_pair=10.0, pair_pool=8)
        if drawn or single:
            # PatchNCE, which ties each output patch to its photo's, at a quarter, and the style
            # vector pulled harder. A drawing keeps the photo's lines, not its colours (4: on 8
            # fresh random drawings +0.35 dB and closer in style space on every one, the photo's
            # reds gone from the pencil). One painting's style vector is the style itself, not
            # the mean of a set's varied ones (8: on 4 single paintings 25-30% closer in style
            # space, the patch test unchanged, content SSIM 0.05-0.12 lower). On the Van Gogh
            # set the stronger pull cost style distance, so sets of paintings keep 1
            d.update(lambda_nce=0.25, lambda_style_vec=8.0 if single else 4.0)
        return d

    def __init__(self, blocks: int = 5) -> None:
        super().__init__()
        self.c1, self.c2, self.c3 = nn.Conv2d(3, 8, 9), nn.Conv2d(8, 16, 3, 2), nn.Conv2d(16, 32, 3, 2)
        self.res = nn.ModuleList(_Res(32) for _ in range(blocks))
        self.u1, self.n1 = nn.Conv2d(32, 16, 3), _CondNorm(16)
        self.u2, self.n2 = nn.Conv2d(16, 8, 3), _CondNorm(8)
        self.out, self.n3 = nn.Conv2d(8, 3, 9), _CondNorm(3)
        self.style = nn.Parameter(torch.zeros(STYLE_DIM))

    # ---- the network -------------------------------------------------------------------
    def _encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        f1 = F.relu(self.c1(F.pad(x, (4, 4, 4, 4), mode="reflect")), inplace=True)
        f2 = F.relu(self.c2(F.pad(f1, (1, 1, 1, 1), mode="reflect")), inplace=True)
        f3 = F.relu(self.c3(F.pad(f2, (1, 1, 1, 1), mode="reflect")), inplace=True)
        return [f1, f2, f3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # the stride-2 path needs sides divisible by 4: pad by reflection, crop back after
        x = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect")
        s = self.style[None]
        t = self._encode((x + 1) / 2)[-1]
        for block in self.res:
            t = block(t, s)
        t = F.interpolate(t, scale_factor=2, mode="nearest")
        t = F.relu(self.n1(self.u1(F.pad(t, (1, 1, 1, 1), mode="reflect")), s), inplace=True)
        t = F.interpolate(t, scale_factor=2, mode="nearest")
        t = F.relu(self.n2(self.u2(F.pad(t, (1, 1, 1, 1), mode="reflect")), s), inplace=True)
        t = self.n3(self.out(F.pad(t, (4, 4, 4, 4), mode="reflect")), s)
        return (torch.sigmoid(t) * 2 - 1)[..., :h, :w]

    # ---- applying in tiles -------------------------------------------------------------
    def context(self, k: int) -> int:
        """Its receptive field: a pixel's change reaches 53 px (measured with the norms'
        statistics fixed, as tiles run), so 56 px of context leave each tile's core exactly
        as in the whole image."""
        return 56

    def _conv_norms(self) -> list[tuple[nn.Conv2d, _CondNorm]]:
        """Every conditional norm with the convolution whose output it normalises."""
        blocks = [cast(_Res, b) for b in self.res]
        pairs = [(b.conv1, b.norm1) for b in blocks] + [(b.conv2, b.norm2) for b in blocks]
        return [*pairs, (self.u1, self.n1), (self.u2, self.n2), (self.out, self.n3)]

    @contextmanager
    def fixed_norms(self, reference: torch.Tensor) -> Iterator[None]:
        """Every norm with the statistics of ``reference`` (the whole image, usually smaller),
        folded into the convolution before it: with the statistics fixed, norm(conv(x)) is a
        convolution (weights scaled by gamma / std, bias moved), so a tile costs the
        convolutions alone and every tile normalises alike."""
        pairs = self._conv_norms()
        stats: dict[_CondNorm, tuple[torch.Tensor, torch.Tensor]] = {}

        def recorder(norm: _CondNorm) -> Callable[..., None]:
            def record(_mod: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
                x = args[0].float()
                stats[norm] = (x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False))

            return record

        hooks = [norm.register_forward_pre_hook(recorder(norm)) for _, norm in pairs]
        try:
            with torch.no_grad():
                self(reference)
        finally:
            for h in hooks:
                h.remove()
        saved = [(conv.weight.data, conv.bias.data) for conv, _ in pairs if conv.bias is not None]
        s = self.style[None].float()
        with torch.no_grad():
            for conv, norm in pairs:
                assert conv.bias is not None
                mean, var = stats[norm]
                gamma = F.linear(s, norm.gamma.weight.float(), norm.gamma.bias.float())[0]
                beta = F.linear(s, norm.beta.weight.float(), norm.beta.bias.float())[0]
                a = gamma * torch.rsqrt(var + EPS)
                w = conv.weight.data
                conv.weight.data = (w.float() * a.view(-1, 1, 1, 1)).to(w.dtype).contiguous(memory_format=_format(w))
                conv.bias.data = ((conv.bias.float() - mean) * a + beta).to(w.dtype)
                norm.folded = True
        try:
            yield
        finally:
            for (conv, norm), (w, b) in zip(pairs, saved, strict=True):
                conv.weight.data = w
                cast(torch.Tensor, conv.bias).data = b
                norm.folded = False

    # ---- the pretrained start ----------------------------------------------------------
    def _onnx_names(self) -> dict[str, nn.Module]:
        m: dict[str, nn.Module] = {
            "transformer/contract/conv1": self.c1, "transformer/contract/conv2": self.c2,
            "transformer/contract/conv3": self.c3, "transformer/expand/conv1/conv": self.u1,
            "transformer/expand/conv2/conv": self.u2, "transformer/expand/conv3/conv": self.out,
        }  # fmt: skip
        norms = {"transformer/expand/conv1/conv": self.n1, "transformer/expand/conv2/conv": self.n2,
                 "transformer/expand/conv3/conv": self.n3}  # fmt: skip
        for i, block in enumerate(cast(_Res, b) for b in self.res):
            for j, (conv, norm) in enumerate(((block.conv1, block.norm1), (block.conv2, block.norm2)), 1):
                key = f"transformer/residual/residual{i + 1}/conv{j}"
                m[key] = conv
                norms[key] = norm
        for key, norm in norms.items():
            assert isinstance(norm, _CondNorm)
            m[f"style_params/{key}/StyleNorm/Conv"] = norm.beta
            m[f"style_params/{key}/StyleNorm/Conv_1"] = norm.gamma
        return m

    @torch.no_grad()
    def load_pretrained(self) -> None:
        """Copy Magenta's transfer-network weights into this network."""
        from .magenta import transfer_weights

        w = transfer_weights()
        for name, mod in self._onnx_names().items():
            assert isinstance(mod, nn.Conv2d | nn.Linear)
            weight = w[f"{name}.weight"]
            mod.weight.copy_(weight.reshape(mod.weight.shape).to(mod.weight.device))
            assert mod.bias is not None
            mod.bias.copy_(w[f"{name}.bias"].to(mod.bias.device))
        if abs(float(w["eps"]) - EPS) > 1e-6:
            raise ValueError(f"the pretrained network's instance-norm epsilon is {float(w['eps'])}, not {EPS}")

    def start_prior(self, style_images: list[torch.Tensor]) -> bool:
        from .magenta import mean_style_vector

        self.load_pretrained()
        with torch.no_grad():
            self.style.copy_(mean_style_vector(style_images).to(self.style.device))
        return True

    # ---- contract ----------------------------------------------------------------------
    def param_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """The style vector, global and seen by every pixel, learns fast."""
        rest = [p for n, p in self.named_parameters() if p.requires_grad and n != "style"]
        return rest, [self.style] if self.style.requires_grad else []

    def nce_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        h, w = x.shape[-2:]
        x = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect")
        f1, f2, f3 = self._encode((x + 1) / 2)
        mid = self.res[0](f3, self.style[None]) if len(self.res) else f3
        return [x, f1, f2, f3, mid]

    def nce_channels(self) -> list[int]:
        return [3, 8, 16, 32, 32]

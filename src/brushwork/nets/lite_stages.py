"""The stages of the `lite` generator: the colour LUT and global tone curves, the structure
stage (edge-preserving smoothing and ink lines), the screen (texture locked to the frame) and
grain. ``nets/lite.py`` puts them together with the residual network."""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ..color import luminance
from ..look.grain import fit_grain, grain_field
from ..look.screen import box_mean, fit_screen_stage, position_features

FOLDED_LUT = 33  # cells per side of the LUT that a saved style's tone stage is folded into


class ColorLUT(nn.Module):
    """A learnable 3D lookup table applied with trilinear interpolation."""

    identity: torch.Tensor  # a buffer

    def __init__(self, size: int = 17) -> None:
        super().__init__()
        ramp = torch.linspace(-1, 1, size)
        # lut[c, b, g, r]: channel c of the output at input colour (r, g, b); identity start.
        b, g, r = torch.meshgrid(ramp, ramp, ramp, indexing="ij")
        self.lut = nn.Parameter(torch.stack([r, g, b])[None])  # [1, 3, S, S, S]
        self.register_buffer("identity", torch.stack([r, g, b])[None].clone(), persistent=False)

    @torch.no_grad()
    def start_from(self, table: torch.Tensor) -> None:
        """Start learning from ``table`` ([1, 3, S, S, S], e.g. a set-level colour transfer)
        instead of the identity; the smoothness prior then measures changes from it."""
        self.lut.copy_(table)
        self.identity.copy_(table)

    def smoothness(self) -> torch.Tensor:
        """Mean squared difference between neighbouring cells of (LUT - start): a prior
        that spreads what the LUT learns on common colours to rare neighbouring ones, so a
        saturated colour that training barely sees does not keep a stray mapping."""
        d = self.lut - self.identity
        return cast(torch.Tensor, sum(d.diff(dim=k).square().mean() for k in (2, 3, 4))) / 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = x.permute(0, 2, 3, 1).unsqueeze(1)  # [B, 1, H, W, 3] as (r, g, b) = (x, y, z)
        lut = self.lut.expand(x.shape[0], -1, -1, -1, -1).to(x.dtype)
        out = F.grid_sample(lut, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return out.squeeze(2)  # [B, 3, H, W]


class GlobalTone(nn.Module):
    """A global colour map with few degrees of freedom: y = curves(M x + b).

    ``M`` (3x3) and ``b`` start at the identity and zero; each channel's curve is the
    identity plus ``knots`` hinge functions (relu(y - t_k), t_k evenly spaced in [-1, 1])
    whose weights start at zero. Every pixel of every crop updates every parameter, which
    is what lets rare colours follow the common ones.

    The curves are piecewise linear with all their breakpoints on a uniform grid, so they
    are evaluated exactly (for |y| <= 2) as one linear-interpolation lookup in a small
    table: one pass over the image instead of one per hinge (a 4096 px image in 1/3 of
    the time of the hinge sum).
    """

    thresholds: torch.Tensor  # a buffer
    points: torch.Tensor  # a buffer

    def __init__(self, knots: int = 8) -> None:
        super().__init__()
        self.matrix = nn.Parameter(torch.eye(3))
        self.bias = nn.Parameter(torch.zeros(3))
        self.curve = nn.Parameter(torch.zeros(3, knots))
        self.register_buffer("thresholds", torch.linspace(-1, 1, knots + 1)[:-1], persistent=False)
        # table positions: the thresholds' spacing, extended to [-2, 2]
        self.register_buffer("points", torch.linspace(-2, 2, 2 * knots + 1), persistent=False)

    def curves_at(self, y: torch.Tensor) -> torch.Tensor:
        """The curves as the hinge sum, at y [..., 3] (the definition; tests compare with it)."""
        hinge = F.relu(y[..., None] - self.thresholds)  # [..., 3, K]
        return y + (hinge * self.curve).sum(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        y = F.conv2d(x, self.matrix.to(x.dtype).view(3, 3, 1, 1), self.bias.to(x.dtype))
        table = self.curves_at(self.points[:, None].expand(-1, 3)).T  # [3, P], exact on the grid
        table = table.to(x.dtype).reshape(1, 3, 1, 1, -1).expand(b, -1, -1, -1, -1).reshape(b * 3, 1, 1, -1)
        # sample positions: x = y / 2 ([-2, 2] -> the table's [-1, 1]), y = 0; one allocation
        grid = F.pad((y * 0.5).reshape(b * 3, h, w, 1), (0, 1))
        out = F.grid_sample(table, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return out.reshape(b, 3, h, w)


class Structure(nn.Module):
    """Global spatial operators with a handful of learned numbers: the painterly basics.

    * edge-preserving smoothing: guided filters (He et al. 2010, guided by the luminance) at
      ``radii``, mixed into the photo with learned weights (negative weights sharpen) and
      learned edge thresholds;
    * ink lines: dark (learned colour) lines along luminance edges of the smoothed image,
      a soft threshold of the Sobel magnitude with learned position, sharpness and
      strength, thin and thickened (3x3 max).

    With ``lines=False`` the stage only smooths (the unpaired recipe: unpaired edge
    statistics cannot tell dark lines from light ones); with ``smoothing=False`` it only draws
    lines (a saved style whose smoothing changed nothing drops it). Every weight starts at zero
    (identity). Few parameters learn from every pixel of every crop, so they settle in a few
    hundred steps where a convolution's many weights pick up noise. Computed in float32
    (guided-filter variances are differences of squares).

    Both operators work in pixels, so ``scale`` (not a weight: set by whoever applies the
    style, 1 in training) says how many times larger the image is than the ones the style
    learned from: the guided filters' coefficients are then computed on a grid ``scale``
    times coarser and the lines on the luminance averaged over ``scale`` x ``scale`` blocks,
    so a 6000-pixel photo gets the same smoothing and lines, relative to its size, as the
    1024-pixel images of training (at scale 1 a line threshold calibrated there finds a
    sixth of the gradient per pixel, and the lines all but vanish).
    """

    def __init__(self, radii: tuple[int, ...] = (2, 4, 8), lines: bool = True, smoothing: bool = True) -> None:
        super().__init__()
        if not (lines or smoothing):
            raise ValueError("a structure stage smooths, draws lines or both")
        self.radii = tuple(radii)
        self.has_lines = lines
        self.has_smoothing = smoothing
        self.scale = 1  # image size against training's (an integer; see the class docstring)
        if smoothing:
            self.mix = nn.Parameter(torch.zeros(len(radii)))
            self.log_eps = nn.Parameter(torch.full((len(radii),), math.log(1e-2)))
        if not lines:
            return
        self.ink = nn.Parameter(torch.zeros(2))  # strength of thin and thick lines
        self.ink_colour = nn.Parameter(torch.full((3,), -0.9))
        self.edge_at = nn.Parameter(torch.tensor(0.15))  # Sobel magnitude at the line's half strength
        self.log_sharp = nn.Parameter(torch.tensor(math.log(20.0)))

    def smooth(self, x: torch.Tensor) -> torch.Tensor:
        """x + sum_i mix_i (guided_filter_i(x) - x), with the guided filters' coefficients
        computed at half resolution (1 / (2 scale)) and upsampled (He and Sun's fast guided
        filter: a quarter of the cost, the edges still taken from the full-resolution guide)."""
        if not self.has_smoothing:
            return x
        h, w = x.shape[-2:]
        f = 2 * self.scale
        g = luminance(x)
        lo = F.avg_pool2d(F.pad(torch.cat([g, x], 1), (0, (-w) % f, 0, (-h) % f), mode="replicate"), f)
        gl, xl = lo[:, :1], lo[:, 1:]
        stats = torch.cat([gl, xl, gl * xl, gl * gl], 1)
        coeff = xl.new_zeros(xl.shape[0], 6, *xl.shape[-2:])  # sum_i mix_i (a_i, b_i), low resolution
        for i, r in enumerate(self.radii):
            m = box_mean(stats, max(1, r // 2))
            mg, mx, mgx, mgg = m[:, :1], m[:, 1:4], m[:, 4:7], m[:, 7:]
            a = (mgx - mg * mx) / ((mgg - mg * mg).clamp_min(0) + self.log_eps[i].exp())
            coeff = coeff + self.mix[i] * box_mean(torch.cat([a, mx - a * mg], 1), max(1, r // 2))
        up = F.interpolate(coeff, scale_factor=float(f), mode="bilinear", align_corners=False)[..., :h, :w]
        return x + up[:, :3] * g + up[:, 3:] - self.mix.sum() * x

    def lines(self, x: torch.Tensor) -> torch.Tensor:
        """Line mask [B, 1, H, W] (0: none) from the luminance edges of x (at 1 / scale)."""
        h, w = x.shape[-2:]
        k = self.scale
        lum = luminance(x)
        if k > 1:
            lum = F.avg_pool2d(F.pad(lum, (0, (-w) % k, 0, (-h) % k), mode="replicate"), k)
        lum = F.pad(lum, (1, 1, 1, 1), mode="replicate")
        gx = (lum[..., 2:, 2:] + 2 * lum[..., 1:-1, 2:] + lum[..., :-2, 2:]) - (
            lum[..., 2:, :-2] + 2 * lum[..., 1:-1, :-2] + lum[..., :-2, :-2]
        )
        gy = (lum[..., 2:, 2:] + 2 * lum[..., 2:, 1:-1] + lum[..., 2:, :-2]) - (
            lum[..., :-2, 2:] + 2 * lum[..., :-2, 1:-1] + lum[..., :-2, :-2]
        )
        mag = (gx.square() + gy.square() + 1e-8).sqrt() / 4
        e = torch.sigmoid(self.log_sharp.exp() * (mag - self.edge_at))
        m = self.ink[0] * e + self.ink[1] * F.max_pool2d(e, 3, stride=1, padding=1)
        if k > 1:
            m = F.interpolate(m, scale_factor=float(k), mode="bilinear", align_corners=False)[..., :h, :w]
        return m

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> (smoothed image, line mask or None)."""
        with torch.autocast(x.device.type, enabled=False):
            s = self.smooth(x.float())
            return s, self.lines(s) if self.has_lines else None

    def draw(self, colour: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(colour.dtype)
        return colour + m * (self.ink_colour.to(colour.dtype).view(1, 3, 1, 1) - colour)


class Screen(nn.Module):
    """A texture locked to the frame: halftone dots, hatching (``look/screen.py``; grain, whose
    phase nothing measures, is ``Grain``).

    A per-pixel network reads the output colour and the position features (waves at the
    screen's measured frequencies) and adds a pattern: its output minus
    its output at the same colour with the position features at 0 (so nothing that depends
    on the colour alone, such as a sharpening, passes for texture), of which only the part
    that averages out over a screen period is kept: ``y + t - box(t)``. So the stage
    changes texture only; the colour that the pixel and pair losses pin down is left where
    it was, and a texture whose phase no photo predicts costs nothing in those losses.
    Its last layer starts near 0 (the identity); training fits it to the style images
    (``fit``) and then holds it. Computed in float32; ``scale`` as for ``Structure`` (set by
    whoever applies the style)."""

    freqs: torch.Tensor  # a buffer

    def __init__(self, freqs: list[float], hidden: int = 16) -> None:
        super().__init__()
        f = torch.tensor(freqs, dtype=torch.float32).reshape(-1, 2)
        if f.shape[0] == 0 or not bool(torch.isfinite(f).all()) or float(f.norm(dim=1).min()) <= 0:
            raise ValueError(f"a screen needs non-zero finite frequencies [fy, fx, ...], got {freqs!r}")
        self.register_buffer("freqs", f, persistent=False)
        self.scale = 1
        self.fc1 = nn.Conv2d(3 + 2 * f.shape[0], hidden, 1)
        self.fc2 = nn.Conv2d(hidden, 3, 1, bias=False)  # a constant would cancel in the difference
        nn.init.normal_(self.fc2.weight, std=1e-3)

    @property
    def reach(self) -> int:
        """Half the box that removes the pattern's mean: half the screen's longest period."""
        return self.reach_at(self.scale)

    def reach_at(self, k: int) -> int:
        return max(1, math.ceil(0.5 * k / float(self.freqs.norm(dim=1).min())))

    def draw(self, y: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """y [B, 3, H, W] with position features pos [B or 1, 2K, H, W] -> textured y."""
        with torch.autocast(y.device.type, enabled=False):
            yf = y.float()
            w1, w2 = self.fc1.weight[:, :, 0, 0], self.fc2.weight[:, :, 0, 0]
            yl, pl = yf.permute(0, 2, 3, 1), pos.float().permute(0, 2, 3, 1)
            # per-pixel layers as matrix products over channels-last views, a band of rows at
            # a time so the hidden layer stays in cache (together 5x faster than 1x1
            # convolutions on whole NCHW images here)
            # (an exported graph takes the whole image as one band: its size is not known yet)
            tracing = torch.jit.is_tracing()  # type: ignore[attr-defined,no-untyped-call]  # untyped in torch
            rows = yl.shape[1] if tracing else max(1, (1 << 15) // max(1, yl.shape[2]))
            bands = []
            for i in range(0, yl.shape[1], rows):
                band_y, band_p = yl[:, i : i + rows], pl[:, i : i + rows]
                hy = F.linear(band_y, w1[:, :3], self.fc1.bias)  # [B, rows, W, hidden]
                h = F.linear(band_p, w1[:, 3:]) + hy
                # the same network at the same colour with the position features at 0 is taken
                # away: no function of the colour alone (a sharpening, say) can pass for texture
                bands.append(F.linear(F.relu(h) - F.relu(hy), w2))
            t = torch.cat(bands, 1).permute(0, 3, 1, 2)
            return yf + t - box_mean(t, self.reach)

    def forward(self, y: torch.Tensor, top: int = 0, left: int = 0) -> torch.Tensor:
        h, w = y.shape[-2:]
        return self.draw(y, position_features(self.freqs, h, w, top, left, self.scale, y.device)[None])

    def fit(self, images: list[torch.Tensor], steps: int = 200, crops: int = 8, side: int = 96, seed: int = 0) -> None:
        """Start from the screen the style images show (``look.screen.fit_screen_stage``)."""
        fit_screen_stage(self, images, steps, crops, side, seed)


class Grain(nn.Module):
    """Grain: white luminance noise fixed to the frame (``look.grain.grain_field``), of the spread
    the style images show beyond what the generator's outputs already have (``fit``, a
    measurement, then held). No network draws it: grain has no phase to predict, and a pixel
    or pair loss teaches a network to leave it out. Computed in float32; ``scale`` as for
    ``Structure`` (grains scale times larger)."""

    def __init__(self) -> None:
        super().__init__()
        self.amount = nn.Parameter(torch.zeros(()), requires_grad=False)  # spread in [-1, 1] units
        self.scale = 1

    def forward(self, y: torch.Tensor, top: int = 0, left: int = 0) -> torch.Tensor:
        yf = y.float()
        a = float(self.amount)
        if a == 0.0:
            return yf
        h, w = y.shape[-2:]
        return yf + a * grain_field(h, w, top, left, self.scale, y.device)

    def fit(self, outputs: list[torch.Tensor], style_images: list[torch.Tensor]) -> None:
        self.amount.fill_(fit_grain(outputs, style_images))

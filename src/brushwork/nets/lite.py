"""`lite`: the default CPU generator, a learned colour LUT plus a light texture residual.

Design (see docs/benchmarks.md for the measurements behind it):
* output = LUT(tone(smooth(photo))) + residual(photo). All parts start at (almost) the identity,
  so a fresh generator returns the photo and training only has to learn the change.
* colour and tone are global and resolution independent, in two stages: ``tone``, a
  3x3 colour matrix, an offset and per-channel curves (36 numbers), learns the broad change
  from every pixel, so colours that training crops rarely show (a blue sky in a set of
  portraits) still follow it; the 17^3 LUT then refines what a low-dimensional map
  cannot express. Both learn in a few hundred steps.
* an optional structure stage (on by default: smoothing only for unpaired style sets,
  smoothing and ink lines with before/after pairs) applies edge-preserving smoothing
  before the colour stages and draws lines after them, with a dozen global numbers.
* the residual is a small encoder/decoder (1/4-resolution core) for strokes, edges and
  local smoothing. It has no normalisation layers, so a tile of an image is processed
  exactly as it would be inside the whole image (only the receptive field matters).
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..color import luminance
from ..data import evenly
from ..look.grain import GRAIN_IMAGES, fit_grain, grain_field
from ..look.screen import halves, position_features, screen_phases
from .contract import StyleGenerator
from .registry import register

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


def _inside(n: int, r: int, x: torch.Tensor) -> torch.Tensor:
    """How many of the 2r+1 window positions around each of n positions lie inside [0, n)."""
    i = torch.arange(n, device=x.device, dtype=x.dtype)
    return (i + r).clamp(max=n - 1) - (i - r).clamp(min=0) + 1


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, averaging only the pixels inside the image.

    Two depthwise convolutions with a ones kernel on a channels-last tensor, then division
    by the window's inside count: on this CPU 10x faster than separable ``avg_pool2d`` with
    ``count_include_pad=False`` (which computes the same numbers)."""
    c, (h, w), k = int(x.shape[1]), x.shape[-2:], 2 * r + 1  # channels are static (8 or 6)
    ones = torch.ones(c, 1, 1, k, dtype=x.dtype, device=x.device)
    s = F.conv2d(x.contiguous(memory_format=torch.channels_last), ones, padding=(0, r), groups=c)
    s = F.conv2d(s, ones.view(c, 1, k, 1), padding=(r, 0), groups=c)
    return s / (_inside(h, r, x).view(h, 1) * _inside(w, r, x).view(1, w))


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
            m = _box(stats, max(1, r // 2))
            mg, mx, mgx, mgg = m[:, :1], m[:, 1:4], m[:, 4:7], m[:, 7:]
            a = (mgx - mg * mx) / ((mgg - mg * mg).clamp_min(0) + self.log_eps[i].exp())
            coeff = coeff + self.mix[i] * _box(torch.cat([a, mx - a * mg], 1), max(1, r // 2))
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
            return yf + t - _box(t, self.reach)

    def forward(self, y: torch.Tensor, top: int = 0, left: int = 0) -> torch.Tensor:
        h, w = y.shape[-2:]
        return self.draw(y, position_features(self.freqs, h, w, top, left, self.scale, y.device)[None])

    def fit(self, images: list[torch.Tensor], steps: int = 200, crops: int = 8, side: int = 96, seed: int = 0) -> None:
        """Start from the screen the style images show, learned by regression: the stage puts
        an image's texture back on its own low band (its local mean over the stage's box),
        on random crops. The waves' phases come from the *other* half of the same image
        (``look.screen.screen_phases``): a screen is one lattice over the whole page, so its phase
        measured on one half lines the waves up with the dots on the other, while a subject's
        periodic detail (a fence, a striped shirt) is local, its phases do not carry over, and
        the stage learns nothing from it. Deterministic for a seed."""
        gen = torch.Generator().manual_seed(seed)
        reach = self.reach
        freqs = self.freqs.cpu()
        # (image, the half crops come from, the phases measured on the other half)
        parts: list[tuple[torch.Tensor, tuple[slice, slice], torch.Tensor]] = []
        for t in images:
            t = t.float()
            a, b = halves(*t.shape[-2:])
            phase_a, phase_b = screen_phases(t, freqs, reach, [a, b])
            for here, phases in ((a, phase_b), (b, phase_a)):
                if min(here[0].stop - here[0].start, here[1].stop - here[1].start) >= side:
                    parts.append((t, here, phases))
        if not parts:
            return
        dev = self.fc1.weight.device
        opt = torch.optim.Adam(self.parameters(), lr=3e-3)
        for _ in range(steps):
            ys, pos, targets = [], [], []
            for _ in range(crops):
                img, (rows, cols), phases = parts[int(torch.randint(len(parts), (), generator=gen))]
                top = rows.start + int(torch.randint(rows.stop - rows.start - side + 1, (), generator=gen))
                left = cols.start + int(torch.randint(cols.stop - cols.start - side + 1, (), generator=gen))
                crop = img[:, top : top + side, left : left + side]
                targets.append(crop)
                ys.append(_box(crop[None], reach)[0])
                pos.append(position_features(freqs, side, side, top, left, 1, phases=phases))
            y, p, target = (torch.stack(v).to(dev) for v in (ys, pos, targets))
            out = self.draw(y, p)
            m = reach  # the box sees past the crop's border there
            loss = (out - target)[..., m:-m, m:-m].abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()


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


class _ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.relu(self.c1(x)))


@register("generator", "lite")
class LiteGenerator(StyleGenerator):
    """Args: ``ngf`` base width, ``n_blocks`` residual blocks at 1/4 resolution, ``lut_size``,
    ``tone_knots`` (curve knots of the global tone stage; 0 leaves that stage out),
    ``structure`` (the global smoothing and ink-line stage), ``lines`` (whether that stage
    draws lines or only smooths), ``detail`` (how much of the spatial residual the output
    adds: 1 in training; a style learned unpaired from a small set is saved with 0, and its
    forward pass then skips the convolutions), ``screen`` (the frequencies of a texture locked
    to the frame, measured by ``look.screen.fit_screen``, as fy, fx, fy, fx, ...; None: no such
    stage), ``grain`` (a stage of grain fixed to the frame, its spread measured from the sets),
    ``smoothing`` (whether the structure stage smooths; False once pruning found it changed
    nothing)."""

    detail: float  # always a number here (the contract allows None: no detail control)

    def __init__(
        self, ngf: int = 16, n_blocks: int = 2, lut_size: int = 17, tone_knots: int = 8, structure: bool = False,
        lines: bool = True, detail: float = 1.0, screen: list[float] | None = None, grain: bool = False,
        smoothing: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        self.detail = float(detail)
        self.structure = Structure(lines=lines, smoothing=smoothing) if structure else None
        self.screen = Screen(screen) if screen else None
        self.grain = Grain() if grain else None
        # zero padding: oneDNN fuses it into the convolution (replicate padding cost 15% of
        # a 1024 px forward as separate copies); borders are learned like everything else
        self.tone = GlobalTone(tone_knots) if tone_knots > 0 else None
        self.lut = ColorLUT(lut_size)
        self.e1 = nn.Conv2d(3, ngf, 3, padding=1)
        self.e2 = nn.Conv2d(ngf, 2 * ngf, 3, stride=2, padding=1)
        self.e3 = nn.Conv2d(2 * ngf, 4 * ngf, 3, stride=2, padding=1)
        self.blocks = nn.ModuleList(_ResBlock(4 * ngf) for _ in range(n_blocks))
        self.r3 = nn.Conv2d(4 * ngf, 2 * ngf, 1)  # reduce before upsampling: cheaper decoder
        self.d2 = nn.Conv2d(2 * ngf, 2 * ngf, 3, padding=1)
        self.r2 = nn.Conv2d(2 * ngf, ngf, 1)
        self.d1 = nn.Conv2d(ngf, ngf, 3, padding=1)
        self.out = nn.Conv2d(ngf, 3, 3, padding=1)
        for block in self.blocks:  # residual branches start small: blocks begin near identity
            assert isinstance(block, _ResBlock)
            nn.init.normal_(block.c2.weight, std=1e-3)
            nn.init.zeros_(cast(torch.Tensor, block.c2.bias))
        nn.init.normal_(self.out.weight, std=1e-3)  # tiny, not zero, so gradients reach all layers
        nn.init.zeros_(cast(torch.Tensor, self.out.bias))

    def _encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        f1 = F.relu(self.e1(x))  # [B, ngf, H, W]
        f2 = F.relu(self.e2(f1))  # [B, 2ngf, H/2, W/2]
        f3 = F.relu(self.e3(f2))  # [B, 4ngf, H/4, W/4]
        return [f1, f2, f3]

    @staticmethod
    def upgrade_kwargs(kwargs: dict[str, Any], state_keys: set[str]) -> dict[str, Any]:
        """Styles saved before a stage existed name neither its argument nor its weights."""
        kwargs = dict(kwargs)
        if "tone_knots" not in kwargs and "tone.matrix" not in state_keys:
            kwargs["tone_knots"] = 0
        if "structure" not in kwargs:
            kwargs["structure"] = "structure.mix" in state_keys
        if kwargs["structure"] and "lines" not in kwargs:
            kwargs["lines"] = "structure.ink" in state_keys
        return kwargs

    # ---- the generator contract (nets/contract.py) ----------------------------------------
    def _sized(self) -> list[Structure | Screen | Grain]:
        """The stages that work in pixels (``scale`` applies to them)."""
        return [m for m in (self.structure, self.screen, self.grain) if m is not None]

    @property
    def scale(self) -> int:
        stages = self._sized()
        return int(stages[0].scale) if stages else 1

    @property
    def has_scale(self) -> bool:
        return bool(self._sized())

    def set_scale(self, k: int) -> None:
        if not self._sized() and k != 1:
            super().set_scale(k)
        for stage in self._sized():
            stage.scale = int(k)

    @property
    def has_texture(self) -> bool:
        return self.screen is not None or self.grain is not None

    def texture(self, y: torch.Tensor, top: int = 0, left: int = 0) -> torch.Tensor:
        if self.screen is not None:
            y = self.screen(y, top, left)
        return y if self.grain is None else self.grain(y, top, left)

    def set_detail(self, d: float) -> None:
        if not 0.0 <= d <= 1.0:
            raise ValueError(f"detail must be between 0 and 1, got {d}")
        self.detail = float(d)

    def settings(self) -> dict[str, Any]:
        return {"detail": self.detail, "scale": self.scale}

    def param_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """The global stages (tone, LUT, structure) learn fast: Adam moves each parameter by
        about lr per step, and a colour grade needs them to move far."""
        fast_parts = [m for m in (self.tone, self.lut, self.structure) if m is not None]
        fast = [p for m in fast_parts for p in m.parameters() if p.requires_grad]
        ids = {id(p) for p in fast}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in ids], fast

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        colour, residual = self.parts(x)
        return colour + residual, residual

    def regularizers(self) -> dict[str, torch.Tensor]:
        return {"lut_tv": self.lut.smoothness()}

    def start_texture(
        self, style_images: list[torch.Tensor], seed: int = 0, content_images: list[torch.Tensor] | None = None
    ) -> bool:  # fmt: skip
        """Fit the screen to the style images, then hold it: trained on with the adversarial
        loss it lost a third to half of the texture it had fitted in 300 steps (the style
        vector's distance to the set's rose from 1.28 to 1.42-1.52 on a halftone look whose
        true outputs score 1.26; docs/benchmarks.md), while the rest learns around it. Then
        the grain: the spread that brings the noise floor of what the generator makes of
        ``content_images`` (screen included) to the style images' (``look.grain.fit_grain``)."""
        if self.screen is None and self.grain is None:
            return False
        if self.screen is not None:
            self.screen.fit(style_images, seed=seed)
            self.screen.requires_grad_(False)
        if self.grain is not None and content_images:
            dev = self.lut.lut.device
            with torch.no_grad():  # a large set: the sample fit_grain reads, evenly spaced
                outputs = [self.texture(self(t[None].to(dev)))[0].cpu() for t in evenly(content_images, GRAIN_IMAGES)]
            self.grain.fit(outputs, style_images)
        return True

    def start_colour(self, transfer: Any, smooth: float = 0.0) -> bool:
        from ..look.transport import idt_table

        table = idt_table(transfer, self.lut.lut.shape[-1], smooth=smooth)
        self.lut.start_from(table.to(self.lut.lut.device))
        return True

    def structure_stage(self) -> nn.Module | None:
        return self.structure

    def structure_output(self, x: torch.Tensor) -> torch.Tensor:
        if self.structure is None:
            return super().structure_output(x)
        s, mask = self.structure(x)
        return s if mask is None else self.structure.draw(s, mask)

    def finalize(
        self, kwargs: dict[str, Any], content: torch.Tensor, style: torch.Tensor
    ) -> tuple[nn.Module, dict[str, Any], dict[str, Any] | None]:
        """Ink lines chosen by search after unpaired training (lite_lines.py)."""
        from .lite_lines import add_lines

        return add_lines(self, kwargs, content, style)

    def stages(self) -> list[str]:
        """The residual (the convolutions), the structure stage's smoothing and lines, the
        screen, the grain, and the tone stage (folded into the LUT): those present, most
        costly first."""
        st = self.structure
        present = {
            "residual": self.detail > 0.0, "smoothing": st is not None and st.has_smoothing,
            "lines": st is not None and st.has_lines, "screen": self.screen is not None,
            "grain": self.grain is not None, "tone": self.tone is not None,
        }  # fmt: skip
        return [k for k, on in present.items() if on]

    @torch.no_grad()
    def folded_lut(self, size: int = FOLDED_LUT) -> torch.Tensor:
        """The tone stage and the LUT as one LUT of ``size``^3 cells: [1, 3, S, S, S]."""
        ramp = torch.linspace(-1, 1, size, device=self.lut.lut.device)
        b, g, r = torch.meshgrid(ramp, ramp, ramp, indexing="ij")
        grid = torch.stack([r, g, b]).reshape(1, 3, size * size, size)  # pixel (b * S + g, r)
        with torch.autocast(grid.device.type, enabled=False):
            out = self.lut(self.tone(grid) if self.tone is not None else grid)
        return out.reshape(1, 3, size, size, size)

    def without(self, kwargs: dict[str, Any], stage: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        kw, state = dict(kwargs), dict(self.state_dict())
        if stage == "tone":
            state = {k: v for k, v in state.items() if not k.startswith("tone.")}
            state["lut.lut"] = self.folded_lut()
            kw.update(tone_knots=0, lut_size=FOLDED_LUT)
        elif stage == "residual":
            kw["detail"] = 0.0  # the weights stay (``apply --detail`` can bring it back)
        elif stage in ("smoothing", "lines"):
            kw[stage] = False
            if not (kw.get("smoothing", True) or kw.get("lines", True)):
                kw["structure"] = False  # nothing left of it
        elif stage == "screen":
            kw["screen"] = None
        elif stage == "grain":
            kw["grain"] = False
        else:
            return super().without(kwargs, stage)
        return kw, state

    def context(self, k: int) -> int:
        """The residual's receptive field (64 px), the structure stage's reach (32 px per unit
        of scale), the screen's box: those it runs; colour stages alone need none."""
        reach = [64 if self.detail > 0.0 else 0, 32 * k if self.structure is not None else 0]
        if self.screen is not None:
            reach.append(self.screen.reach_at(k) + 4)
        return max(reach)

    @property
    def align(self) -> int:
        """Tiles that start on multiples of this see the same pixel grid as the whole image:
        the residual's total stride (4), times the structure stage's scale (its coarse grids)."""
        return 4 * (self.structure.scale if self.structure is not None else 1)

    @property
    def bytes_per_pixel(self) -> int:
        """Peak bytes per pixel of a float32 pass, input and output included (the tile
        planner's budget), from the stages it runs; measured at 2048 px (2026-12-06: colour
        stages alone 77, with the structure stage 163, with a screen 159, with the residual
        343 whatever else runs, grain 11 more), rounded up."""
        colour = 96 + (96 if self.structure is not None else 0) + (96 if self.screen is not None else 0)
        return max(360 if self.detail > 0.0 else 0, colour) + (16 if self.grain is not None else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.detail == 0.0:
            # the global stages alone: lookups and filters that bf16 does not speed up (its
            # casts cost more than it saves), so they run in float32 whatever the precision
            with torch.autocast(x.device.type, enabled=False):
                return self.colour(x.float())
        colour, residual = self.parts(x)
        return colour + residual if self.detail == 1.0 else colour + self.detail * residual

    def colour(self, x: torch.Tensor) -> torch.Tensor:
        """The global stages alone (structure, tone, LUT): the output without the residual."""
        s, mask = self.structure(x) if self.structure is not None else (x, None)
        colour = self.lut(self.tone(s) if self.tone is not None else s)
        if mask is None or self.structure is None:
            return colour
        return self.structure.draw(colour, mask)

    def parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The global colour map and the spatial residual, whose sum is the output (training
        penalises the residual's size: change the photo's structure only where needed)."""
        h, w = x.shape[-2:]
        # pad to a multiple of 4 so every upsampling is exactly 2x (tiles then match the whole)
        # (always padded, even by 0, so an exported graph keeps dynamic height and width)
        xp = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="replicate")
        f1, f2, f3 = self._encode(xp)
        for block in self.blocks:
            f3 = block(f3)
        u = F.interpolate(self.r3(f3), scale_factor=2.0, mode="bilinear", align_corners=False)
        u = F.relu(self.d2(u + f2))
        u = F.interpolate(self.r2(u), scale_factor=2.0, mode="bilinear", align_corners=False)
        u = F.relu(self.d1(u + f1))
        return self.colour(x), self.out(u)[..., :h, :w]

    def nce_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features used by PatchNCE (CUT): input, three encoder levels, first block."""
        f1, f2, f3 = self._encode(x)
        mid = self.blocks[0](f3) if len(self.blocks) else f3
        return [x, f1, f2, f3, mid]

    def nce_channels(self) -> list[int]:
        c = self.e1.out_channels
        return [3, c, 2 * c, 4 * c, 4 * c]

"""Teachers: each content photo carried onto the style set, colour and local structure
together, as the pseudo-pairs that lite learns from (the structure teacher, the feature
transfer), and how much of the style's colour local structure explains."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..color import luminance
from .balance import balance_weights, balanced_pixels, pixels, sample_count
from .transport import ColourTable, DistributionTransfer, fit_transfer

FEATURE_SIGMAS_DOG = (2.0, 6.0)  # local contrast: luminance blurred at these minus itself
FEATURE_SIGMAS_GRAD = (1.0, 2.5)  # edge strength: gradient magnitude at these scales (x sigma)


def _gauss(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) ** 2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def local_features(x: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] in [-1, 1] -> [B, 7, H, W]: the colour, then the luminance's local
    contrast at two scales (blurred minus itself: positive on dark lines and in shadows
    next to light) and its gradient magnitude at two scales (edges)."""
    lum = luminance(x)
    out = [x]
    out += [_gauss(lum, s) - lum for s in FEATURE_SIGMAS_DOG]
    for s in FEATURE_SIGMAS_GRAD:
        b = _gauss(lum, s)
        gx = F.pad(b[..., :, 2:] - b[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
        gy = F.pad(b[..., 2:, :] - b[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
        out.append((gx.square() + gy.square()).sqrt() * s)
    return torch.cat(out, 1)


@dataclass
class FeatureTransfer:
    """IDT of colour *and* local structure: the content photos' pixels, each with its local
    features (``local_features``), are transported onto the style images' pixels with
    theirs, and a pixel's new colour is the colour part of where it lands. A pixel on a
    strong edge of a photo lands among the style's edge pixels (ink, a pencil stroke), one
    in a flat region among the style's flat regions (paper, a flat colour), so set-level
    transport learns strokes, lines and paper that a colour-only transfer cannot.
    ``scale`` [D] normalises the features so that each counts alike in the rotations."""

    transfer: DistributionTransfer
    scale: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] -> the same shape, clamped to [-1, 1]."""
        f = local_features(x.float())
        b, d, h, w = f.shape
        p = f.permute(0, 2, 3, 1).reshape(-1, d).double() / self.scale
        y = (self.transfer.map_pixels(p) * self.scale)[:, :3].float().clamp(-1, 1)
        return y.reshape(b, h, w, 3).permute(0, 3, 1, 2).contiguous()


def fit_feature_transfer(
    content: list[torch.Tensor], style: list[torch.Tensor], iterations: int = 40,
    samples: int = 200_000, seed: int = 0, linear_first: bool = True, balance: bool = True,
) -> FeatureTransfer:  # fmt: skip
    """Fit a ``FeatureTransfer`` from the content images to the style images ([3, H, W]
    tensors in [-1, 1]); random rotations from ``seed``. ``linear_first``: the MKL map in the
    feature space before them (the default: on 10 random looks with fresh seeds the
    teacher's held-out blurred PSNR rose 0.75 dB on average, on 8; docs/benchmarks.md).
    ``balance`` (the default): content pixels weighted by ``balance_weights``, as the colour
    transport's (on 4 fresh random looks the teacher rose 0.3 to 1.2 dB; docs/benchmarks.md)."""
    if not content or not style:
        raise ValueError("feature transfer needs at least one content and one style image")
    gen = torch.Generator().manual_seed(seed)
    fc = [local_features(t[None].float())[0] for t in content]
    fs = [local_features(t[None].float())[0] for t in style]
    if balance:  # content pixels weighted as the colour transport weights them
        src, dst = balanced_pixels(fc, fs, samples, gen, balance_weights(content, style))
    else:
        n = sample_count(content, style, limit=samples)
        src, dst = pixels(fc, n, gen), pixels(fs, n, gen)
    sd = torch.cat([src, dst]).std(0)
    scale = torch.cat([sd[:3].mean().expand(3), sd[3:]]).clamp_min(1e-6)  # one scale for the colour axes
    transfer = fit_transfer(src / scale, dst / scale, iterations, gen, axes_first=False, linear_first=linear_first)
    return FeatureTransfer(transfer, scale)


# ---- colour where the style draws it: the structure teacher ------------------------------
STRUCTURE_BINS = 6  # quantile bins per structure feature of the conditional colour table
STRUCTURE_PRIOR = 5.0  # pseudo-pixels pulling a sparse bin's colour towards the set's mean
STRUCTURE_ROTATIONS = 20  # IDT rotations of the structure features' transport


def _structure(x: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 4, H, W]: ``local_features`` without the colour (local contrast
    at two scales, edge strength at two)."""
    return local_features(x.float())[:, 3:]


def _bin_index(f: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """[N, D] features, [D, BINS - 1] edges -> each row's bin in a BINS^D table."""
    idx = torch.zeros(f.shape[0], dtype=torch.long)
    for k in range(f.shape[1]):
        idx = idx * STRUCTURE_BINS + torch.bucketize(f[:, k].contiguous(), edges[k].contiguous())
    return idx


def conditional_colour(feat: torch.Tensor, colour: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Binned E[colour | structure] of pixels ``feat`` [N, D] with ``colour`` [N, 3] (float64):
    (bin edges [D, BINS - 1] at the features' quantiles, the table [BINS^D, 3] of bin means
    shrunk towards the mean colour by ``STRUCTURE_PRIOR`` pseudo-pixels, and R^2, the share
    of the colours' variance that the bins explain)."""
    qs = torch.linspace(0, 1, STRUCTURE_BINS + 1, dtype=feat.dtype)[1:-1]
    edges = torch.stack([torch.quantile(feat[:, k].contiguous(), qs) for k in range(feat.shape[1])])
    idx = _bin_index(feat, edges)
    n_bins = STRUCTURE_BINS ** feat.shape[1]
    count = torch.zeros(n_bins, dtype=colour.dtype).index_add_(0, idx, torch.ones(len(idx), dtype=colour.dtype))
    total = torch.zeros(n_bins, 3, dtype=colour.dtype).index_add_(0, idx, colour)
    mean = colour.mean(0)
    table = (total + STRUCTURE_PRIOR * mean) / (count[:, None] + STRUCTURE_PRIOR)
    spread = float((colour - mean).square().sum())
    r2 = 0.0 if spread < 1e-12 else 1.0 - float((colour - table[idx]).square().sum()) / spread
    return edges, table, r2


@dataclass
class StructureTeacher:
    """Pseudo-pair targets that put colour where the style draws it.

    Two predictions of a pixel's styled colour: the balanced colour transport of its colour
    (``colour``: right for a grade, where colour follows colour), and the style set's mean
    colour among pixels of the same local structure (``table``, looked up at the pixel's
    structure features after their own set-level transport onto the style's, ``transfer``):
    right for a drawing, where paper is wherever the picture is flat and ink wherever it has
    an edge, whatever the photo's colour there. They are mixed by ``alpha``: how much more
    of the colours' variance structure explains in the style set than in the content set
    (R^2 of the binned means in each), 0 when the style's colours depend on structure no
    more than the photos' do. Nothing is chosen per look: alpha is measured from the sets."""

    colour: ColourTable
    transfer: DistributionTransfer
    scale: torch.Tensor  # [4] the structure features' scale in the transport
    edges: torch.Tensor  # [4, BINS - 1]
    table: torch.Tensor  # [BINS^4, 3]
    alpha: float

    def drawn(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] -> the structure prediction alone."""
        f = _structure(x)
        b, d, h, w = f.shape
        p = self.transfer.map_pixels(f.permute(0, 2, 3, 1).reshape(-1, d).double() / self.scale) * self.scale
        y = self.table[_bin_index(p, self.edges)].float()
        return y.reshape(b, h, w, 3).permute(0, 3, 1, 2).contiguous()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] -> the same shape, clamped to [-1, 1]."""
        y = self.colour(x)
        if self.alpha > 0:
            y = (1 - self.alpha) * y + self.alpha * self.drawn(x)
        return y.clamp(-1, 1)


def structure_alpha(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int, gen: torch.Generator, blur: float = 0.0,
    features: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None,
) -> float:  # fmt: skip
    """How much more of the style set's colour variance local structure explains than of the
    content set's: (R^2_style - R^2_content) / (1 - R^2_content), clamped to [0, 1], R^2 of
    ``conditional_colour``. ``blur`` > 0 measures it on copies blurred by that sigma (colours
    and structure alike), where textures whose phase no photo predicts (halftone, grain) no
    longer count as structure. ``features``: the sets' ``_structure`` maps when the caller
    has them (used unblurred only)."""

    def r2(images: list[torch.Tensor], known: list[torch.Tensor] | None) -> float:
        views = [_gauss(t[None].float(), blur)[0] if blur > 0 else t.float() for t in images]
        feats = known if known is not None and blur == 0 else [_structure(v[None])[0] for v in views]
        p = pixels([torch.cat([v, f]) for v, f in zip(views, feats, strict=True)], samples, gen)
        return conditional_colour(p[:, 3:], p[:, :3])[2]

    known_content, known_style = features if features is not None else (None, None)
    r2_style, r2_content = r2(style, known_style), r2(content, known_content)
    return min(1.0, max(0.0, (r2_style - r2_content) / max(1e-6, 1.0 - r2_content)))


def fit_structure_teacher(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int = 200_000, seed: int = 0,
    alpha_blur: float = 0.0, alpha_power: float = 1.0, transport: DistributionTransfer | None = None,
) -> StructureTeacher:  # fmt: skip
    """Fit a ``StructureTeacher`` from the content images to the style images ([3, H, W] in
    [-1, 1]); the transports balance the sets' subjects (``balance_weights``). ``alpha_blur``:
    the mix is measured on copies blurred by this sigma (``structure_alpha``); ``alpha_power``:
    the mix is that measure raised to this power (2 keeps small, uncertain measures near 0).
    ``transport``: the sets' colour transport (``fit_colour_transport``), when already fitted."""
    if not content or not style:
        raise ValueError("the structure teacher needs at least one content and one style image")
    gen = torch.Generator().manual_seed(seed)
    colour = ColourTable.of_transport(content, style, seed=seed, transport=transport)
    fc = [_structure(t[None])[0] for t in content]
    fs = [_structure(t[None])[0] for t in style]
    src, dst = balanced_pixels(fc, fs, samples, gen, balance_weights(content, style))
    scale = torch.cat([src, dst]).std(0).clamp_min(1e-6)
    transfer = fit_transfer(src / scale, dst / scale, STRUCTURE_ROTATIONS, gen, axes_first=False, linear_first=True)
    ps = pixels([torch.cat([t.float(), f]) for t, f in zip(style, fs, strict=True)], samples, gen)
    edges, table, _ = conditional_colour(ps[:, 3:], ps[:, :3])
    alpha = structure_alpha(content, style, samples, gen, alpha_blur, features=(fc, fs)) ** alpha_power
    return StructureTeacher(colour, transfer, scale, edges, table, alpha)


def fit_safe_structure_teacher(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int = 200_000, seed: int = 0,
    transport: DistributionTransfer | None = None,
) -> StructureTeacher:  # fmt: skip
    """The structure teacher with its mix measured on sigma-3 blurred copies and squared:
    textures without a phase any photo predicts (halftone, grain, hatching) stop counting as
    structure, and a weak measure barely moves the colour transport. On 11 fresh random
    looks its pseudo-pairs were within 0.15 dB of the colour transport on every grade
    (halftone included, where the plain mix lost 8-9 dB) and 3.1-3.5 dB above it on every
    drawing (docs/benchmarks.md, with the history in git)."""
    return fit_structure_teacher(content, style, samples, seed, alpha_blur=3.0, alpha_power=2.0, transport=transport)


# the pseudo-pair teachers by recipe name (``StyleRecipe.teacher``): fit(content, style, seed=, transport=)
TEACHERS: dict[str, Callable[..., Callable[[torch.Tensor], torch.Tensor]]] = {
    "structure": fit_safe_structure_teacher, "lines": fit_structure_teacher,
}  # fmt: skip

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

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..data import evenly
from ..look.grain import GRAIN_IMAGES
from .contract import StyleGenerator
from .lite_stages import FOLDED_LUT, ColorLUT, GlobalTone, Grain, Screen, Structure
from .registry import register

UNPAIRED_SMALL_SET_STEPS = 500  # the step cap of a time budget for small sets, without pairs


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

    recipe_features = frozenset({"line_calibration", "screen", "grain"})
    detail: float  # always a number here (the contract allows None: no detail control)

    @classmethod
    def recipe_defaults(
        cls, paired: bool, teacher: str, small_set: bool, drawn: bool = False, single: bool = False
    ) -> dict[str, Any]:
        # the CPU recipe: a patch-distribution loss that converges in minutes, a fast-learning
        # colour LUT, and the pixel identity loss (a look's own images are near fixed points),
        # which also keeps colours put where the style set differs from the photos only by
        # its subjects
        d: dict[str, Any] = {"lambda_swd": 4.0, "lr_lut_mult": 10.0, "lambda_idt_pix": 2.0, "lambda_lut_tv": 10.0}
        taught = not paired and teacher != ""  # pseudo-pairs from a teacher, unless none is asked
        if not paired:
            # the colour LUT starts at the set-level colour transport from the content photos'
            # colours to the style images' (the MKL linear map, then IDT, smoothed: above IDT
            # alone on random looks), and the losses refine it from there; the pixel identity
            # loss is off (it pulls the colour map back towards doing nothing on the style's own
            # colours). A generator sees crops, not where in the frame they lie: the vignette
            # and a printed screen are measured from the sets and drawn at each pixel's place in
            # the frame; grain, which has no phase at all, has its spread measured and is added
            d.update(colour_start="transport", vignette=True, screen=True, grain=True, lambda_idt_pix=0.0)
        if not paired and not taught:  # the purely unpaired recipe
            # the structure stage only smooths, and learns how much from the style set's edge
            # statistics alone; ink lines, which no unpaired loss taught by gradient, are
            # chosen after training by a search that keeps them only where the style has them
            d.update(lr_lut_mult=5.0, generator_kwargs={"structure": True, "lines": False}, lambda_edges=1.0,
                     line_calibration=True)  # fmt: skip
            if small_set:
                # the look is learned in a few hundred steps and further steps learn the two
                # sets' subjects, so a time budget also ends at a step cap. The residual still
                # trains, kept small, but the saved style does not apply it: learned in minutes
                # from a dozen images it held subject differences and GAN texture, 0.2-1 dB
                # below the global stages alone (apply --detail brings it back)
                d.update(max_steps=UNPAIRED_SMALL_SET_STEPS, lambda_res=1.0, detail=0.0)
        else:
            # pairs, real or pseudo (the structure teacher: the balanced colour transport, with
            # paper and pencil placed by local structure where the style set shows them), pin
            # down the structure stage's few global numbers, ink lines included, and the
            # residual's strokes; weighted 30 rather than 10 against the unpaired losses (every
            # look of the 400-step benchmark gained 0.7-3.5 dB)
            d.update(teacher=teacher if taught else "", generator_kwargs={"structure": True}, lambda_pair=30.0)
        return d

    @classmethod
    def measured_kwargs(cls, screen_fitted: bool, screen: list[float] | None, grain: bool) -> dict[str, Any]:
        # the screen stage draws at the measured frequencies (none on images too small to
        # measure); the grain stage's spread is fitted once the generator has its colour start
        return {**({"screen": screen} if screen_fitted else {}), **({"grain": True} if grain else {})}

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
        self, kwargs: dict[str, Any], content: torch.Tensor, style: torch.Tensor, *, decide: bool = True
    ) -> tuple[nn.Module, dict[str, Any], dict[str, Any] | None]:
        """Ink lines chosen by search after training (lite_lines.py); ``decide=False`` draws
        the lines found whatever the search's rule says."""
        from .lite_lines import add_lines

        return add_lines(self, kwargs, content, style, decide=decide)

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

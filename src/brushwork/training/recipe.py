"""Training recipes: every knob of style training in one typed, JSON-serialisable place.

``default_recipe`` adapts to the data (small style sets get differentiable augmentation
and more style patches per step); any field can be overridden by the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from .. import nets
from ..diffaugment import parse_policy
from ..errors import BrushworkError
from ..look.teacher import TEACHERS
from ..losses import LOSSES, PIXEL_LOSSES
from ..schema import check_like

METHODS = ("cut", "fastcut", "cyclegan")
LINE_MODES = ("auto", "always", "never")  # the recipe's ``lines``
SMALL_SET = 50  # style sets below this many images count as "small"


class RecipeBase:
    """JSON round trip and user overrides, shared by the style and GAN recipes (dataclasses)."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Self:
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        d = {k: v for k, v in d.items() if k in known}
        if "crop_scale" in d:
            d["crop_scale"] = tuple(d["crop_scale"])
        return cls(**d)

    def apply_overrides(self, overrides: dict[str, Any], what: str = "recipe") -> Self:
        """Set the given fields (JSON lists become tuples for ``crop_scale``); unknown names are an error."""
        for k, v in overrides.items():
            if not hasattr(self, k):
                raise BrushworkError(f"unknown {what} setting {k!r}")
            setattr(self, k, check_like(f"{what} setting {k!r}", getattr(self, k), v))
        return self

    def check_diffaug(self) -> None:
        """A bad differentiable-augmentation policy is the user's error, named as such."""
        try:
            parse_policy(self.diffaug)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise BrushworkError(f"diffaug: {exc}") from None


@dataclass
class StyleRecipe(RecipeBase):
    method: str = "cut"
    generator: str = "lite"
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    loss: str = "lsgan"
    size: int = 256  # training crop side
    batch: int = 1  # content crops per step
    style_batch: int = 1  # style crops per step (more for small style sets)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    lr_lut_mult: float = 1.0  # learning rate of the global stages (lite: tone, LUT, structure) = lr_g * this
    beta1: float = 0.5
    lr_decay_start: float = 0.5  # fraction of the budget after which the learning rate decays linearly to 0
    # with a time budget, training also ends after this many steps (0: no cap): small unpaired
    # style sets are learned in a few hundred steps, and more steps learn the two sets' subjects
    max_steps: int = 0
    ema_decay: float = 0.999
    d_ndf: int = 32
    d_layers: int = 3
    d_norm: str = "instance"
    d_spectral: bool = False
    d_scales: int = 1
    lambda_gan: float = 1.0
    lambda_nce: float = 1.0
    nce_idt: bool = True
    num_patches: int = 256
    lambda_swd: float = 0.0
    lambda_idt_pix: float = 0.0  # CUT/FastCUT: pixel loss between G(style image) and the style image
    idt_kind: str = "l1"  # that loss: l1 or mse
    lambda_lut_tv: float = 0.0  # smoothness of the colour LUT's change (lite's "lut_tv" regularizer)
    # lite: where the colour LUT starts learning: "identity"; "idt", the set-level iterative
    # distribution transfer from the content photos' colours to the style images'; "transport",
    # the MKL linear map then 10 IDT rotations, smoothed (look.transport.fit_colour_transport)
    colour_start: str = "identity"
    # with colour_start "transport": keep only the share of the transport's move that the
    # sets' sampling noise leaves credible (look.transport.transport_shrinkage); false keeps it
    # whole (for a strong look learned from sets whose subjects differ, where the shrinkage
    # can take away part of the look itself)
    colour_shrink: bool = True
    # without before/after pairs, the teacher of pseudo-pairs learned from with lambda_pair
    # like real pairs: "structure" (look.teacher.StructureTeacher with its safe mix: the
    # balanced colour transport, mixed with the style's colour per local structure by how much
    # more structure explains the style's blurred colours than the photos'), "lines" (the
    # same teacher with the plain mix: best on line art, far worse on textured looks); ""
    # trains unpaired losses alone (docs/benchmarks.md)
    teacher: str = ""
    # without pairs: fit the style set's vignette (brightness falling off towards the
    # frame's edges, beyond the photos' own: look.vignette.fit_vignette) against the colour
    # transport of the content photos, learn the look from the style images with it divided
    # out, and save it with the style, which applies it over the whole frame at any size
    vignette: bool = False
    # lite: a texture locked to the frame (halftone dots, hatching): the sets' excess spatial
    # frequencies are measured (look.screen.fit_screen), the generator's screen stage is fitted
    # to the style images' texture at them, and the other losses learn around it
    screen: bool = False
    # lite: grain fixed to the frame, of the spread by which the style images' noise floor
    # (the finest luminance noise in their flattest parts) exceeds the generator's outputs'
    # at its colour start (look.grain.fit_grain); 0 on looks without grain
    grain: bool = False
    # start from the generator family's pretrained prior (painter: Magenta's transfer network
    # conditioned on the mean style vector of the style images)
    prior: bool = False
    # distance between the style vector (Magenta's style encoder) of the output and the mean
    # vector of the style images: a distribution loss on strokes, texture and palette
    lambda_style_vec: float = 0.0
    # the directional form of that distance: each output's style vector should sit where its
    # photo's sits, moved by the offset from the content set's mean vector to the style
    # set's (StyleGAN-NADA's directional loss, in Magenta's style space): the outputs' mean
    # vector goes to the style set's while each output keeps its own subject's
    lambda_style_dir: float = 0.0
    lambda_res: float = 0.0  # L1 size of the spatial residual on content photos (lite)
    detail: float = 1.0  # lite: how much of the spatial residual the saved style applies
    # lite's structure stage, CUT/FastCUT: edge statistics of its output on content crops
    # against the style crops' (losses/edges.py); without pairs the stage learns from it alone
    lambda_edges: float = 0.0
    # lite, unpaired: after training, choose ink lines by a grid search (nets/lite_lines.py)
    line_calibration: bool = False
    # ink lines after training: "auto" (the recipe decides: the search above, kept where its
    # rule finds clear outlines in the style; with pseudo-pairs, none beyond what the pairs
    # taught), "always" (draw the lines the search finds, in the style's ink colour and at its
    # ink count, whatever the rule says: for outlines the rule misses), "never" (no search)
    lines: str = "auto"
    # when the style is saved, leave out the generator's stages that change nothing on the
    # content photos (training/prune.py): a colour grade then applies as a colour map alone
    prune: bool = True
    # write report.html beside the run's logs when it ends (report.py)
    report: bool = True
    lambda_r1: float = 0.0
    lambda_gp: float = 10.0
    lambda_cycle: float = 10.0
    lambda_idt: float = 0.5
    lambda_pair: float = 10.0
    # the pair loss compares the two images averaged over pair_pool x pair_pool blocks (1:
    # pixel by pixel); the painter learns from the teacher's pseudo-pairs at 8: where the
    # tones go (paper, shading), with the strokes that make them its own
    pair_pool: int = 1
    pool_size: int = 50
    diffaug: str = ""
    crop_scale: tuple[float, float] = (0.8, 1.25)
    max_side: int = 1024
    precision: str = "auto"
    sample_every: int = 200
    checkpoint_every: int = 200

    def check_generator(self) -> None:
        if self.generator not in nets.names("generator"):
            raise BrushworkError(
                f"unknown generator {self.generator!r} (choose from {', '.join(nets.names('generator'))})"
            )

    def validate(self) -> None:
        if self.method not in METHODS:
            raise BrushworkError(f"unknown method {self.method!r} (choose from {', '.join(METHODS)})")
        self.check_generator()
        if self.loss not in LOSSES:
            raise BrushworkError(f"unknown loss {self.loss!r} (choose from {', '.join(LOSSES)})")
        if self.size < 32 or self.size % 4:
            raise BrushworkError(f"--size must be a multiple of 4 and at least 32, got {self.size}")
        if self.batch < 1 or self.style_batch < 1:
            raise BrushworkError("batch sizes must be at least 1")
        if not 0.0 <= self.detail <= 1.0:
            raise BrushworkError(f"detail must lie in [0, 1], got {self.detail}")
        if self.max_steps < 0:
            raise BrushworkError(f"max_steps must be 0 (no cap) or positive, got {self.max_steps}")
        if self.pair_pool < 1 or self.size % self.pair_pool:
            raise BrushworkError(f"pair_pool must be a positive divisor of size {self.size}, got {self.pair_pool}")
        if not 0 <= self.lr_decay_start <= 1:
            raise BrushworkError(f"lr_decay_start must lie in [0, 1], got {self.lr_decay_start}")
        family = nets.generator_class(self.generator)
        for feature in ("line_calibration", "screen", "grain", "prior"):  # stages a family may have
            if getattr(self, feature) and feature not in family.recipe_features:
                raise BrushworkError(
                    f"{feature} needs a generator that has it ({_families_with(feature)}), not {self.generator!r}"
                )
        if self.teacher and self.teacher not in TEACHERS:
            raise BrushworkError(f"teacher must be {', '.join(TEACHERS)} or empty, got {self.teacher!r}")
        if self.lines not in LINE_MODES:
            raise BrushworkError(f"lines must be {', '.join(LINE_MODES)}, got {self.lines!r}")
        if self.lines == "always" and "line_calibration" not in family.recipe_features:
            raise BrushworkError(
                f"lines=always needs a generator that draws lines ({_families_with('line_calibration')}), "
                f"not {self.generator!r}"
            )
        if self.colour_start not in ("identity", "idt", "transport"):
            raise BrushworkError(f"colour_start must be identity, idt or transport, got {self.colour_start!r}")
        if self.idt_kind not in PIXEL_LOSSES:
            raise BrushworkError(f"idt_kind must be one of {', '.join(PIXEL_LOSSES)}, got {self.idt_kind!r}")
        self.check_diffaug()


def _families_with(feature: str) -> str:
    """The generator families whose recipes may turn ``feature`` on, for error messages."""
    return ", ".join(n for n in nets.names("generator") if feature in nets.generator_class(n).recipe_features)


def default_recipe(
    n_style: int, method: str = "cut", generator: str = "lite", n_pairs: int = 0,
    choice: Mapping[str, Any] | None = None, **overrides: Any,
) -> StyleRecipe:  # fmt: skip
    """The recipe for a style set of ``n_style`` images and ``n_pairs`` before/after pairs
    (``choice``: ``--generator auto``'s evidence, ``look.choose``, which says whether the look
    was measured to be drawn): the generator family's own settings (``recipe_defaults``),
    differentiable augmentation for small sets, then ``overrides`` (``generator_kwargs`` are
    merged into the recipe's own)."""
    r = StyleRecipe(method=method, generator=generator)
    r.check_generator()  # before its family is asked for its settings
    small, drawn = n_style < SMALL_SET, bool((choice or {}).get("drawn"))
    family = nets.generator_class(generator).recipe_defaults(
        n_pairs > 0, overrides.get("teacher", "structure"), small, drawn, single=n_style == 1
    )
    r.apply_overrides(family)  # named and typed like the user's overrides
    if small:
        r.diffaug = "translation,cutout"
        r.style_batch = 2 * r.batch
    overrides = dict(overrides)
    r.generator_kwargs = {**r.generator_kwargs, **overrides.pop("generator_kwargs", {})}
    r.apply_overrides(overrides)
    r.validate()
    return r

"""Training recipes: every knob of style training in one typed, JSON-serialisable place.

``default_recipe`` adapts to the data (small style sets get differentiable augmentation
and more style patches per step); any field can be overridden by the caller.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Self

from .. import nets
from ..diffaugment import parse_policy
from ..errors import BrushworkError
from ..look.teacher import TEACHERS
from ..losses import LOSSES, PIXEL_LOSSES
from ..schema import check_like

METHODS = ("cut", "fastcut", "cyclegan")
SMALL_SET = 50  # style sets below this many images count as "small"
UNPAIRED_SMALL_SET_STEPS = 500  # the step cap of a time budget for those, without pairs


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
    pool_size: int = 50
    diffaug: str = ""
    crop_scale: tuple[float, float] = (0.8, 1.25)
    max_side: int = 1024
    precision: str = "auto"
    sample_every: int = 200
    checkpoint_every: int = 200

    def validate(self) -> None:
        if self.method not in METHODS:
            raise BrushworkError(f"unknown method {self.method!r} (choose from {', '.join(METHODS)})")
        if self.generator not in nets.names("generator"):
            raise BrushworkError(
                f"unknown generator {self.generator!r} (choose from {', '.join(nets.names('generator'))})"
            )
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
        if not 0 <= self.lr_decay_start <= 1:
            raise BrushworkError(f"lr_decay_start must lie in [0, 1], got {self.lr_decay_start}")
        if self.line_calibration and self.generator != "lite":
            raise BrushworkError(f"line_calibration needs the lite generator, not {self.generator!r}")
        if self.screen and self.generator != "lite":
            raise BrushworkError(f"screen needs the lite generator, not {self.generator!r}")
        if self.grain and self.generator != "lite":
            raise BrushworkError(f"grain needs the lite generator, not {self.generator!r}")
        if self.prior and self.generator != "painter":
            raise BrushworkError(f"prior needs a generator with a pretrained start (painter), not {self.generator!r}")
        if self.teacher and self.teacher not in TEACHERS:
            raise BrushworkError(f"teacher must be {', '.join(TEACHERS)} or empty, got {self.teacher!r}")
        if self.colour_start not in ("identity", "idt", "transport"):
            raise BrushworkError(f"colour_start must be identity, idt or transport, got {self.colour_start!r}")
        if self.idt_kind not in PIXEL_LOSSES:
            raise BrushworkError(f"idt_kind must be one of {', '.join(PIXEL_LOSSES)}, got {self.idt_kind!r}")
        self.check_diffaug()


def default_recipe(
    n_style: int, method: str = "cut", generator: str = "lite", n_pairs: int = 0, **overrides: Any
) -> StyleRecipe:
    """The recipe for a style set of ``n_style`` images and ``n_pairs`` before/after pairs;
    ``overrides`` win (``generator_kwargs`` are merged into the recipe's own)."""
    r = StyleRecipe(method=method, generator=generator)
    # without pairs, lite learns from pseudo-pairs made by a teacher (the structure teacher
    # unless the caller picks another); teacher="" selects the earlier purely unpaired recipe
    taught = generator == "lite" and n_pairs == 0 and overrides.get("teacher", "structure") != ""
    unpaired = generator == "lite" and n_pairs == 0 and not taught
    if generator == "lite":
        # the CPU recipe (docs/benchmarks.md, design experiments): a patch-distribution loss
        # that converges in minutes, a fast-learning colour LUT, and the pixel identity
        # loss (a look's own images are near fixed points), which also keeps colours put
        # where the style set differs from the photos only by its subjects
        r.lambda_swd = 4.0
        r.lr_lut_mult = 10.0
        r.lambda_idt_pix = 2.0
        r.lambda_lut_tv = 10.0
        if n_pairs == 0:
            # unpaired: the colour LUT starts at the set-level colour transport from the content
            # photos' colours to the style images' (the MKL linear map, then IDT, smoothed: the
            # strongest classical transfer here, above IDT alone on random looks), and the
            # losses refine it from there. The pixel identity loss is off:
            # it pulls the colour map back towards doing nothing on the style's own colours
            # (measured on random looks: docs/benchmarks.md, "Random looks")
            r.colour_start = "transport"  # MKL + IDT, smoothed: above IDT on random looks
            # a generator sees crops, not where in the frame they lie: the vignette is
            # measured from the sets and applied over the frame (docs/benchmarks.md)
            r.vignette = True
            # nor where a halftone dot or a hatching stroke falls: the screen is measured
            # from the style images and drawn at each pixel's place in the frame
            r.screen = True
            # nor grain, which has no phase at all: its spread is measured and it is added
            r.grain = True
            r.lambda_idt_pix = 0.0
        if unpaired:
            r.lr_lut_mult = 5.0
            # the structure stage only smooths, and learns how much from the style set's
            # edge statistics alone
            r.generator_kwargs = {"structure": True, "lines": False}
            r.lambda_edges = 1.0
            # ink lines, which no unpaired loss taught by gradient, are chosen after training
            # by a grid search that keeps them only where the style clearly has them
            r.line_calibration = True
        else:
            # pairs, real or pseudo (the structure teacher: the balanced colour transport,
            # with paper and pencil placed by local structure where the style set shows
            # them, which no unpaired loss taught by gradient), pin down the structure
            # stage's few global numbers, ink lines included, and the residual's strokes,
            # with the adversarial, PatchNCE and patch-distribution losses beside them
            r.teacher = "structure" if taught else ""
            r.generator_kwargs = {"structure": True}
            # the pairs are the most direct signal there is: weighted 30 rather than 10
            # against the unpaired losses, every look of the 400-step benchmark gained
            # 0.7-3.5 dB (docs/benchmarks.md)
            r.lambda_pair = 30.0
    elif generator == "painter":
        # starts from Magenta's pretrained transfer network conditioned on the folder's mean
        # style vector; fine-tuned with the adversarial and PatchNCE losses and the distance
        # of its outputs' style vectors to the folder's
        r.prior = True
        r.lambda_style_vec = 1.0
        # the frame's vignette is measured from the sets and applied over the frame, as for
        # lite: a network that sees crops cannot place it
        r.vignette = n_pairs == 0
    else:  # resnet, the GPU-class setting: CycleGAN/CUT's own choices
        r.d_ndf = 64
    if n_style < SMALL_SET:
        r.diffaug = "translation,cutout"
        r.style_batch = 2 * r.batch
        if unpaired:
            # unpaired from a small set (docs/benchmarks.md, "Short runs, global stages"):
            # the look is learned in a few hundred steps and further steps learn the two
            # sets' subjects, so a time budget also ends at a step cap. The residual still
            # trains (frozen, it left the colour stages to bend to the subjects), kept small,
            # but the saved style does not apply it: learned in minutes from a dozen images
            # it held subject differences and GAN texture, 0.2-1 dB below the global stages
            # alone on the looks measured (apply --detail brings it back)
            r.max_steps = UNPAIRED_SMALL_SET_STEPS
            r.lambda_res = 1.0
            r.detail = 0.0
    overrides = dict(overrides)
    r.generator_kwargs = {**r.generator_kwargs, **overrides.pop("generator_kwargs", {})}
    r.apply_overrides(overrides)
    r.validate()
    return r

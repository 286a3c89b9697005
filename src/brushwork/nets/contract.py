"""The contract between a style generator family and the code that trains, applies and
exports it. A new family subclasses ``StyleGenerator``, overrides what it has, and
registers itself (``@register("generator", NAME)``): the trainer, the Stylizer and export
ask only for what is written here, never for a family's insides.

Applying (``Stylizer``, ``tiling``, ``export``):
* ``forward(x)``: [B, 3, H, W] in [-1, 1] -> the same shape.
* ``align``: tiles that start on multiples of this see the whole image's pixel grid.
* ``bytes_per_pixel``: peak float32 activation bytes per pixel of a forward pass (the tile
  planner's budget).
* ``shared_norm``: True when normalisation statistics must be shared across tiles
  (instance norm); False when tiles give the whole-image result as they are.
  ``fixed_norms(reference)``: a context in which every norm uses the statistics of
  ``reference`` (the whole image, smaller), or None for the generic way (the Stylizer's
  hooks on every ``InstanceNorm2d``).
* ``context(k)``: pixels of context a tile needs on each side, at scale k, for the
  whole image's result (default: 64, or 32 per unit of scale where that is more).
* ``low_precision``: True when the whole network may run with its weights in bf16/fp16
  (no per-layer casts), as close to float32 as autocast (measured); False: autocast.
* ``scale`` / ``set_scale(k)`` / ``has_scale``: pixel-sized operators at k times the
  size of the training images (a Stylizer sets it from the style's ``work_side``).
* ``detail`` / ``set_detail(d)``: how much of a spatial residual is applied, where the
  family has one (``None``: no such control).
* ``settings()``: forward-pass settings that are not weights (export caches key on them).
* ``texture(y, top, left)``: a stage locked to the frame (lite: the screen of halftone,
  hatching, and grain), applied to the forward pass's output ``y`` of the window whose first
  pixel is (top, left) in the whole image; the identity for families without one. It is
  not part of ``forward`` (nor of an exported ONNX file), since it needs the position;
  ``has_texture`` says whether there is one.

Training (``training/style.py``):
* ``param_groups()``: (base, fast) parameters; the fast group learns at ``lr_lut_mult``
  times the rate (few global numbers that every pixel trains).
* ``split(x)``: (output, spatial residual or None), the residual's size being penalised.
* ``regularizers()``: named penalty terms; recipe field ``lambda_<name>`` weights each.
* ``start_colour(transfer, smooth)``: start the colour stage at a fitted colour transfer (its table
  blurred by ``smooth`` in colour units); False if
  the family has none.
* ``start_texture(style_images, seed, content_images)``: fit the frame-locked texture stage
  to the texture the style images show (lite: its screen, by regression, and its grain, to
  the style's noise floor beyond the outputs' on the content images; then held); False if
  none.
* ``start_prior(style_images)``: start from pretrained weights conditioned on the style
  images (painter: Magenta's transfer network and the folder's style vector); False if the
  family has no prior.
* ``structure_stage()``: the module of global structure operators that learns from edge
  statistics alone in unpaired training, or None; ``structure_output(x)``: the image those
  operators alone make of x (what the edge statistics compare with the style's).
* ``finalize(kwargs, content, style)``: after training, -> (generator to save, its kwargs,
  a report for the training summary or None).
* ``nce_features(x)`` / ``nce_channels()``: the encoder taps PatchNCE (CUT) compares.

Saving (``training/prune.py``):
* ``stages()``: the stages a saved style may leave out (or fold into another), most costly
  first; each can go without changing what the others do. ``without(kwargs, stage)``: the
  constructor arguments and weights of the same generator without it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import nn


class StyleGenerator(nn.Module):
    """Defaults describe a plain convolutional generator with nothing global to learn."""

    shared_norm: bool = False
    low_precision: bool = False
    # the recipe settings whose stages the family has ("line_calibration", "screen", "grain",
    # "prior"); the recipe refuses the others
    recipe_features: frozenset[str] = frozenset()

    @property
    def align(self) -> int:
        """Tiles starting on multiples of this see the whole image's pixel grid."""
        return 4

    @property
    def bytes_per_pixel(self) -> int:
        """Peak bytes per pixel of a float32 pass (the tile planner's budget)."""
        return 2600

    # ---- applying ----------------------------------------------------------------------
    @property
    def scale(self) -> int:
        return 1

    @property
    def has_scale(self) -> bool:
        return False

    def set_scale(self, k: int) -> None:
        if k != 1:
            raise ValueError(f"{type(self).__name__} has no pixel-sized operators to scale")

    detail: float | None = None

    def set_detail(self, d: float) -> None:
        raise ValueError(f"{type(self).__name__} has no detail control")

    def settings(self) -> dict[str, Any]:
        return {}

    @classmethod
    def measured_kwargs(cls, screen_fitted: bool, screen: list[float] | None, grain: bool) -> dict[str, Any]:
        """Constructor arguments from what training measured of the look: a printed screen's
        frequencies (``screen``, when the recipe fitted one: ``screen_fitted``) and whether the
        look's grain is drawn. Families without such stages take none."""
        return {}

    def context(self, k: int) -> int:
        return max(64, 32 * k)

    def fixed_norms(self, reference: torch.Tensor) -> AbstractContextManager[None] | None:
        return None

    @property
    def has_texture(self) -> bool:
        return False

    def texture(self, y: torch.Tensor, top: int = 0, left: int = 0) -> torch.Tensor:
        return y

    # ---- training ----------------------------------------------------------------------
    @classmethod
    def recipe_defaults(
        cls, paired: bool, teacher: str, small_set: bool, drawn: bool = False, single: bool = False
    ) -> dict[str, Any]:
        """The training recipe's settings this family needs (``training.recipe.default_recipe``
        applies them, then the user's overrides): ``paired`` with before/after pairs,
        ``teacher`` the pseudo-pair teacher asked for ("" for none), ``small_set`` for style
        sets of fewer than 50 images, ``drawn`` when ``--generator auto`` measured the style set
        to be drawn rather than graded or painted (``look.choose``), ``single`` when the style
        is one image."""
        return {}

    def param_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        return [p for p in self.parameters() if p.requires_grad], []

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self(x), None

    def regularizers(self) -> dict[str, torch.Tensor]:
        return {}

    def start_colour(self, transfer: Any, smooth: float = 0.0) -> bool:
        return False

    def start_prior(self, style_images: list[torch.Tensor]) -> bool:
        return False

    def start_texture(
        self, style_images: list[torch.Tensor], seed: int = 0, content_images: list[torch.Tensor] | None = None
    ) -> bool:  # fmt: skip
        return False

    def structure_stage(self) -> nn.Module | None:
        return None

    def structure_output(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no structure stage")

    def finalize(
        self, kwargs: dict[str, Any], content: torch.Tensor, style: torch.Tensor, *, decide: bool = True
    ) -> tuple[nn.Module, dict[str, Any], dict[str, Any] | None]:
        return self, kwargs, None

    def stages(self) -> list[str]:
        return []

    def without(self, kwargs: dict[str, Any], stage: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        raise ValueError(f"{type(self).__name__} has no stage {stage!r} to leave out")

    def nce_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def nce_channels(self) -> list[int]:
        raise NotImplementedError
